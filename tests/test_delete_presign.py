"""Catalog-level tests of delete, delete_conversation, presign, presign_many and open_signed."""

from __future__ import annotations

import datetime as dt

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetNotFound,
    BadSignature,
    InvalidInput,
    ObjectStatus,
    SignatureExpired,
    StorageObject,
    UrlSigner,
)

from .clocks import ManualClock
from .images import png_bytes

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
CSV = b"a,b\n1,2\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><script>alert(1)</script></svg>'
)
SECRET_OLD = "old-secret-0123456789abcdef"
SECRET_NEW = "new-secret-0123456789abcdef"
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


_counter = iter(range(1_000_000))


def container_file(
    catalog: AssetCatalog,
    tenant: str = "t1",
    content: bytes = CSV,
    filename: str = "data.csv",
    **kwargs: str,
) -> Asset:
    """Ingest a container file with a fresh file id."""
    return catalog.ingest_container_file(
        tenant,
        content,
        container_id="cntr",
        file_id=f"file-{next(_counter)}",
        filename=filename,
        **kwargs,  # type: ignore[arg-type]
    )


def obj_of(catalog: AssetCatalog, asset: Asset) -> StorageObject:
    """The storage object row behind an asset."""
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    return obj


def events(catalog: AssetCatalog, asset: Asset) -> list[str]:
    """The event names of an asset's audit trail."""
    return [e.event for e in catalog.repository.events_for(asset.tenant_id, asset.id)]


def token_of(url: str) -> str:
    """The token: the last path segment of a catalog download URL."""
    return url.rsplit("/", 1)[1]


def flip(text: str, index: int) -> str:
    """``text`` with the character at ``index`` replaced by another base64url character."""
    old = text[index]
    new = "A" if old != "A" else "B"
    return text[:index] + new + text[index + 1 :]


def sibling(catalog: AssetCatalog, signer: UrlSigner) -> AssetCatalog:
    """Another catalog on the same repository and storage with its own signer."""
    return AssetCatalog(
        repository=catalog.repository, storage=catalog.storage, signer=signer, clock=catalog.clock
    )


def read_download(catalog: AssetCatalog, token: str) -> bytes:
    """Open a signed download and return its bytes."""
    _, stream, _ = catalog.open_signed(token)
    with stream:
        return stream.read()


# -- delete ---------------------------------------------------------------------------------


class TestDelete:
    """delete soft-deletes the asset, removes its blob and is audited and idempotent."""

    def test_asset_disappears(self, catalog: AssetCatalog) -> None:
        """After delete, get and presign raise AssetNotFound and list omits the asset."""
        gone = container_file(catalog)
        kept = container_file(catalog)
        assert catalog.delete("t1", gone.id) is True
        with pytest.raises(AssetNotFound):
            catalog.get("t1", gone.id)
        with pytest.raises(AssetNotFound):
            catalog.presign("t1", gone.id)
        assert [a.id for a in catalog.list("t1").items] == [kept.id]

    def test_blob_removed_and_object_deleted(self, catalog: AssetCatalog) -> None:
        """The blob is removed and the object row ends ``deleted`` with a deletion time."""
        asset = container_file(catalog)
        key = obj_of(catalog, asset).key
        catalog.delete("t1", asset.id)
        assert not catalog.storage.exists(key)
        assert list(catalog.storage.iter_keys()) == []
        obj = obj_of(catalog, asset)
        assert obj.status is ObjectStatus.DELETED
        assert obj.deleted_at is not None

    def test_deleted_event_with_actor(self, catalog: AssetCatalog) -> None:
        """A ``deleted`` event naming the actor is appended; the trail stays readable."""
        asset = container_file(catalog)
        catalog.delete("t1", asset.id, actor="admin-7")
        trail = catalog.repository.events_for("t1", asset.id)
        assert [e.event for e in trail] == ["created", "deleted"]
        assert trail[-1].actor == "admin-7"
        assert [e.event for e in catalog.events("t1", asset.id)] == ["created", "deleted"]

    def test_idempotent(self, catalog: AssetCatalog) -> None:
        """A second delete returns False and records no second event."""
        asset = container_file(catalog)
        assert catalog.delete("t1", asset.id) is True
        assert catalog.delete("t1", asset.id) is False
        assert events(catalog, asset).count("deleted") == 1
        assert obj_of(catalog, asset).status is ObjectStatus.DELETED

    def test_other_tenant_cannot_delete(self, catalog: AssetCatalog) -> None:
        """Deleting another tenant's (or an unknown) id raises AssetNotFound and leaves their
        asset intact."""
        theirs = container_file(catalog, "t2")
        for unknown in ("never-existed", ""):
            with pytest.raises(AssetNotFound):
                catalog.delete("t1", unknown)
        with pytest.raises(AssetNotFound):
            catalog.delete("t1", theirs.id)
        assert catalog.get("t2", theirs.id) == theirs
        assert catalog.storage.exists(obj_of(catalog, theirs).key)
        assert obj_of(catalog, theirs).status is ObjectStatus.STORED
        assert events(catalog, theirs) == ["created"]

    def test_same_tool_call_can_be_ingested_again(self, catalog: AssetCatalog) -> None:
        """After delete, re-running the same tool call ingests a new live asset."""
        first = catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id="call-1")
        catalog.delete("t1", first.id)
        again = catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id="call-1")
        assert again.id != first.id
        assert catalog.get("t1", again.id) == again
        assert catalog.storage.exists(obj_of(catalog, again).key)


class TestDeleteConversation:
    """delete_conversation deletes every asset of one conversation of one tenant."""

    def test_deletes_whole_conversation_only(self, catalog: AssetCatalog) -> None:
        """All assets of the conversation go; other conversations and tenants stay."""
        doomed = [
            container_file(catalog, conversation_id="conv-1"),
            container_file(catalog, conversation_id="conv-1"),
            catalog.ingest_image("t1", png_bytes(3, 3), conversation_id="conv-1"),
        ]
        other_conv = container_file(catalog, conversation_id="conv-2")
        no_conv = container_file(catalog)
        other_tenant = container_file(catalog, "t2", conversation_id="conv-1")

        assert catalog.delete_conversation("t1", "conv-1", actor="gdpr") == 3

        for asset in doomed:
            with pytest.raises(AssetNotFound):
                catalog.get("t1", asset.id)
            assert not catalog.storage.exists(obj_of(catalog, asset).key)
            assert obj_of(catalog, asset).status is ObjectStatus.DELETED
            trail = catalog.repository.events_for("t1", asset.id)
            assert trail[-1].event == "deleted"
            assert trail[-1].actor == "gdpr"
        assert {a.id for a in catalog.list("t1").items} == {other_conv.id, no_conv.id}
        assert [a.id for a in catalog.list("t2").items] == [other_tenant.id]
        for asset in (other_conv, no_conv, other_tenant):
            assert catalog.storage.exists(obj_of(catalog, asset).key)

    def test_counts_only_live_assets(self, catalog: AssetCatalog) -> None:
        """Only live assets are counted: an earlier-deleted one is not, a repeat call is 0."""
        a = container_file(catalog, conversation_id="conv-1")
        container_file(catalog, conversation_id="conv-1")
        catalog.delete("t1", a.id)
        assert catalog.delete_conversation("t1", "conv-1") == 1
        assert events(catalog, a).count("deleted") == 1
        assert catalog.delete_conversation("t1", "conv-1") == 0
        assert catalog.delete_conversation("t1", "never") == 0


class TestPresign:
    """presign issues a time-limited catalog URL and audits it."""

    def test_catalog_url(self, catalog: AssetCatalog, signer: UrlSigner) -> None:
        """Without native signing the URL is a ``catalog`` GET URL under the signer's base."""
        asset = container_file(catalog)
        url = catalog.presign("t1", asset.id)
        assert url.kind == "catalog"
        assert url.method == "GET"
        assert url.url.startswith(signer.base_url + "/")
        assert "/" not in token_of(url.url)
        assert token_of(url.url).count(".") == 2

    def test_expires_at(self, catalog: AssetCatalog) -> None:
        """Without a URL window, expires_at is now plus expires_in (to the second),
        timezone-aware."""
        asset = container_file(catalog)
        url = catalog.presign("t1", asset.id, expires_in=900)
        expected = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=900)
        assert abs((url.expires_at - expected).total_seconds()) < 2
        catalog.clock = ManualClock(T0)
        url = catalog.presign("t1", asset.id, expires_in=120)
        assert url.expires_at == T0 + dt.timedelta(seconds=120)
        assert url.expires_at.tzinfo is not None

    def test_urls_repeat_within_their_window(self, catalog: AssetCatalog) -> None:
        """With a window (300 s), expires_at is rounded up to a multiple of it: the same URL
        within the window, recorded once per caller; another disposition or window gets
        another URL (the URL names no caller: the audit trail does)."""
        asset = container_file(catalog)
        clock = ManualClock(T0.replace(minute=0, second=10))
        catalog.clock = clock
        first = catalog.presign("t1", asset.id, expires_in=120, actor="u1", window=300)
        assert first.expires_at == T0.replace(minute=5, second=0)
        clock.now += dt.timedelta(seconds=100)
        again = catalog.presign("t1", asset.id, expires_in=120, actor="u1", window=300)
        assert again.url == first.url
        other = catalog.presign("t1", asset.id, expires_in=120, actor="u2", window=300)
        inline = catalog.presign(
            "t1", asset.id, expires_in=120, actor="u1", disposition="inline", window=300
        )
        clock.now += dt.timedelta(seconds=200)
        later = catalog.presign("t1", asset.id, expires_in=120, actor="u1", window=300)
        assert other.url == first.url
        assert len({first.url, inline.url, later.url}) == 3
        issued = [e for e in catalog.events("t1", asset.id) if e.event == "url_issued"]
        window, next_window = int(first.expires_at.timestamp()), int(later.expires_at.timestamp())
        assert sorted(
            (e.actor, e.details["disposition"], e.details["expires_at"]) for e in issued
        ) == [
            ("u1", "attachment", window),
            ("u1", "attachment", next_window),
            ("u1", "inline", window),
            ("u2", "attachment", window),
        ]

    def test_a_window_never_passes_the_longest_lifetime(self, catalog: AssetCatalog) -> None:
        """At MAX_EXPIRES_IN, rounding up would pass seven days: it rounds down instead."""
        asset = container_file(catalog)
        catalog.clock = ManualClock(T0.replace(minute=0, second=10))
        url = catalog.presign("t1", asset.id, expires_in=7 * 24 * 3600, window=300)
        lifetime = (url.expires_at - catalog.clock()).total_seconds()
        assert 7 * 24 * 3600 - 300 < lifetime <= 7 * 24 * 3600
        assert url.expires_at.timestamp() % 300 == 0

    def test_without_a_window_every_url_is_recorded(self, catalog: AssetCatalog) -> None:
        """window=0: two URLs issued in the same second to the same caller are two events."""
        asset = container_file(catalog)
        catalog.clock = ManualClock(T0)
        first = catalog.presign("t1", asset.id, actor="u1")
        again = catalog.presign("t1", asset.id, actor="u1")
        assert first.expires_at == again.expires_at
        issued = [e for e in catalog.events("t1", asset.id) if e.event == "url_issued"]
        assert len(issued) == 2

    def test_url_issued_event(self, catalog: AssetCatalog) -> None:
        """presign records a ``url_issued`` event with its actor."""
        asset = container_file(catalog)
        catalog.presign("t1", asset.id, actor="viewer-1")
        trail = catalog.repository.events_for("t1", asset.id)
        assert [e.event for e in trail] == ["created", "url_issued"]
        assert trail[-1].actor == "viewer-1"

    def test_other_tenant_not_found(self, catalog: AssetCatalog) -> None:
        """Presigning another tenant's asset raises AssetNotFound and records nothing."""
        theirs = container_file(catalog, "t2")
        with pytest.raises(AssetNotFound):
            catalog.presign("t1", theirs.id)
        assert events(catalog, theirs) == ["created"]

    def test_bad_arguments_refused(self, catalog: AssetCatalog) -> None:
        """expires_in outside 1 s .. 7 days or not an int, and a disposition other than
        inline/attachment, are InvalidInput naming the argument."""
        asset = container_file(catalog)
        for bad in (0, -5, 7 * 24 * 3600 + 1, 1.5, True):
            with pytest.raises(InvalidInput) as info:
                catalog.presign("t1", asset.id, expires_in=bad)  # type: ignore[arg-type]
            assert info.value.field == "expires_in"
        with pytest.raises(InvalidInput) as info:
            catalog.presign("t1", asset.id, disposition="evil\r\nX: y")  # type: ignore[arg-type]
        assert info.value.field == "disposition"
        assert events(catalog, asset) == ["created"]


class TestPresignMany:
    """presign_many signs a batch and reports ids it cannot."""

    def test_urls_and_missing(self, catalog: AssetCatalog) -> None:
        """Live ids get URLs; unknown, deleted and other tenants' ids are reported missing."""
        live = [container_file(catalog), container_file(catalog)]
        deleted = container_file(catalog)
        catalog.delete("t1", deleted.id)
        theirs = container_file(catalog, "t2")
        asked = [live[0].id, "unknown-id", deleted.id, theirs.id, live[1].id]
        batch = catalog.presign_many("t1", asked)
        assert set(batch.urls) == {live[0].id, live[1].id}
        assert batch.missing == ("unknown-id", deleted.id, theirs.id)
        for asset in live:
            url = batch.urls[asset.id]
            assert url.kind == "catalog"
            downloaded, stream, _ = catalog.open_signed(token_of(url.url))
            stream.close()
            assert downloaded.id == asset.id
            assert events(catalog, asset).count("url_issued") == 1
        assert "url_issued" not in events(catalog, theirs)

    def test_more_than_100_refused(self, catalog: AssetCatalog) -> None:
        """More than 100 ids is InvalidInput naming asset_ids; 100 and 0 are fine."""
        asset = container_file(catalog)
        empty = catalog.presign_many("t1", [])
        assert dict(empty.urls) == {}
        assert empty.missing == ()
        with pytest.raises(InvalidInput) as info:
            catalog.presign_many("t1", [asset.id] + [f"id-{n}" for n in range(100)])
        assert info.value.field == "asset_ids"
        batch = catalog.presign_many("t1", [asset.id] + [f"id-{n}" for n in range(99)])
        assert set(batch.urls) == {asset.id}
        assert len(batch.missing) == 99


# -- open_signed ----------------------------------------------------------------------------


class TestOpenSigned:
    """open_signed serves a genuine token's asset with safe headers."""

    def test_returns_bytes_and_headers(self, catalog: AssetCatalog) -> None:
        """A PNG downloads with its exact bytes and inline, nosniff headers."""
        data = png_bytes(12, 8)
        asset = catalog.ingest_image("t1", data, filename="chart.png")
        token = token_of(catalog.presign("t1", asset.id).url)
        got, stream, headers = catalog.open_signed(token)
        with stream:
            assert stream.read() == data
        assert got == asset
        assert headers["Content-Type"] == "image/png"
        assert headers["Content-Length"] == str(len(data))
        assert headers["Content-Disposition"] == 'inline; filename="chart.png"'
        assert headers["X-Content-Type-Options"] == "nosniff"

    def test_dispositions(self, catalog: AssetCatalog) -> None:
        """A CSV defaults to attachment; a PNG is an attachment when that is asked for."""
        csv = container_file(catalog, filename="report.csv")
        png = catalog.ingest_image("t1", png_bytes(2, 2), filename="p.png")
        for asset, asked, expected in (
            (csv, None, 'attachment; filename="report.csv"'),
            (csv, "inline", 'inline; filename="report.csv"'),
            (png, "attachment", 'attachment; filename="p.png"'),
        ):
            url = catalog.presign("t1", asset.id, disposition=asked)  # type: ignore[arg-type]
            _, stream, headers = catalog.open_signed(token_of(url.url))
            stream.close()
            assert headers["Content-Type"] == asset.mime_type
            assert headers["Content-Disposition"] == expected

    def test_active_content_always_attachment(self, catalog: AssetCatalog) -> None:
        """HTML (also when named .png) and SVG are attachments even when presigned inline."""
        for content, filename, mime in (
            (HTML, "page.html", "text/html"),
            (HTML, "x.png", "text/html"),
            (SVG, "logo.svg", "image/svg+xml"),
        ):
            asset = container_file(catalog, content=content, filename=filename)
            url = catalog.presign("t1", asset.id, disposition="inline")
            _, stream, headers = catalog.open_signed(token_of(url.url))
            with stream:
                assert stream.read() == content
            assert headers["Content-Type"] == mime
            assert headers["Content-Disposition"].startswith("attachment;"), filename
            assert headers["X-Content-Type-Options"] == "nosniff"

    def test_filename_cannot_inject_headers(self, catalog: AssetCatalog) -> None:
        """Quotes and non-ASCII in a filename are encoded, never breaking the header."""
        asset = container_file(catalog, filename='ré"port;.csv')
        _, stream, headers = catalog.open_signed(token_of(catalog.presign("t1", asset.id).url))
        stream.close()
        value = headers["Content-Disposition"]
        assert value.startswith('attachment; filename="re_port_.csv"')
        assert "filename*=UTF-8''r%C3%A9%22port%3B.csv" in value
        assert all("\r" not in v and "\n" not in v for v in headers.values())

    def test_downloaded_event(self, catalog: AssetCatalog) -> None:
        """Each download records a ``downloaded`` event with its actor."""
        asset = container_file(catalog)
        token = token_of(catalog.presign("t1", asset.id).url)
        catalog.open_signed(token, actor="browser-1").stream.close()
        catalog.open_signed(token).stream.close()
        trail = catalog.repository.events_for("t1", asset.id)
        downloads = [e for e in trail if e.event == "downloaded"]
        assert len(downloads) == 2
        assert downloads[0].actor == "browser-1"

    def test_expired_token(self, catalog: AssetCatalog) -> None:
        """A token is accepted until its expiry and refused with SignatureExpired after it."""
        clock = ManualClock(T0)
        catalog.clock = clock
        asset = container_file(catalog)
        token = token_of(catalog.presign("t1", asset.id, expires_in=60).url)
        clock.tick(59)
        assert read_download(catalog, token) == CSV
        clock.tick(2)
        with pytest.raises(SignatureExpired):
            catalog.open_signed(token)

    def test_tampered_token(self, catalog: AssetCatalog) -> None:
        """A character changed in the key id, payload or signature gives BadSignature."""
        asset = container_file(catalog)
        token = token_of(catalog.presign("t1", asset.id).url)
        key_id, body, mac = token.split(".")
        offsets = [0, len(key_id) + 1, len(key_id) + 1 + len(body) + 1]
        for start, part in zip(offsets, (key_id, body, mac), strict=True):
            for index in {start, start + len(part) // 2}:
                with pytest.raises(BadSignature):
                    catalog.open_signed(flip(token, index))

    def test_no_other_token_string_is_accepted(self, catalog: AssetCatalog) -> None:
        """Changing the token's last character to any other character gives BadSignature."""
        asset = container_file(catalog)
        token = token_of(catalog.presign("t1", asset.id).url)
        accepted = []
        for char in BASE64URL:
            forged = token[:-1] + char
            if forged == token:
                continue
            try:
                catalog.open_signed(forged).stream.close()
            except BadSignature:
                continue
            accepted.append(forged)
        assert accepted == [], f"{len(accepted)} altered tokens accepted (last char changed)"

    def test_malformed_tokens(self, catalog: AssetCatalog) -> None:
        """Garbage, empty, over-long and non-string tokens give BadSignature."""
        for bad in ("", "nope", "a.b", "a.b.c.d", "k0.!!.??", "x" * 10_000, None, 42):
            with pytest.raises(BadSignature):
                catalog.open_signed(bad)  # type: ignore[arg-type]

    def test_payload_swap_between_tokens(self, catalog: AssetCatalog) -> None:
        """The payload of one token with the signature of another gives BadSignature."""
        a, b = container_file(catalog), container_file(catalog)
        ka, ba, _ = token_of(catalog.presign("t1", a.id).url).split(".")
        _, _, mb = token_of(catalog.presign("t1", b.id).url).split(".")
        with pytest.raises(BadSignature):
            catalog.open_signed(f"{ka}.{ba}.{mb}")

    def test_other_secret(self, catalog: AssetCatalog) -> None:
        """A token signed with another secret (same key id) gives BadSignature."""
        asset = container_file(catalog)
        stranger = sibling(catalog, UrlSigner("another-secret-0123456789", base_url="/x"))
        token = token_of(stranger.presign("t1", asset.id).url)
        with pytest.raises(BadSignature):
            catalog.open_signed(token)

    def test_cursor_is_not_a_download_token(self, catalog: AssetCatalog) -> None:
        """A genuine list cursor is refused as a download token."""
        for _ in range(2):
            container_file(catalog)
        cursor = catalog.list("t1", limit=1).next_cursor
        assert cursor is not None
        with pytest.raises(BadSignature):
            catalog.open_signed(cursor)

    def test_key_rotation(self, catalog: AssetCatalog) -> None:
        """A token of the old key is served while the old key is still listed, and refused
        once it is retired."""
        asset = container_file(catalog)
        before = sibling(catalog, UrlSigner({"old": SECRET_OLD}))
        after = sibling(
            catalog, UrlSigner({"old": SECRET_OLD, "new": SECRET_NEW}, active_key_id="new")
        )
        old_token = token_of(before.presign("t1", asset.id).url)
        assert old_token.startswith("old.")
        assert read_download(after, old_token) == CSV
        new_token = token_of(after.presign("t1", asset.id).url)
        assert new_token.startswith("new.")
        assert read_download(after, new_token) == CSV
        with pytest.raises(BadSignature):
            before.open_signed(new_token)
        retired = sibling(catalog, UrlSigner({"new": SECRET_NEW}))
        with pytest.raises(BadSignature):
            retired.open_signed(old_token)

    def test_deleted_asset(self, catalog: AssetCatalog) -> None:
        """A genuine token for a since-deleted asset raises AssetNotFound."""
        asset = container_file(catalog)
        token = token_of(catalog.presign("t1", asset.id).url)
        catalog.delete("t1", asset.id)
        with pytest.raises(AssetNotFound):
            catalog.open_signed(token)
        assert "downloaded" not in events(catalog, asset)
