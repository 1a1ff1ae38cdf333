"""Catalog-level tests of link_message and list (filters, ordering, keyset pagination)."""

from __future__ import annotations

import datetime as dt

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetNotFound,
    AssetType,
    InvalidCursor,
    InvalidInput,
    SourceTool,
)

from .clocks import ManualClock
from .images import png_bytes

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
CSV = b"a,b\n1,2\n"
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


_counter = iter(range(1_000_000))


def image(catalog: AssetCatalog, tenant: str = "t1", **ids: str) -> Asset:
    """Ingest a small PNG with the given host identifiers."""
    return catalog.ingest_image(tenant, png_bytes(2, 2), **ids)  # type: ignore[arg-type]


def csv_file(catalog: AssetCatalog, tenant: str = "t1", **kwargs: str) -> Asset:
    """Ingest a small CSV container file with a fresh file id."""
    return catalog.ingest_container_file(
        tenant,
        CSV,
        container_id="cntr",
        file_id=f"file-{next(_counter)}",
        filename=kwargs.pop("filename", "data.csv"),
        **kwargs,  # type: ignore[arg-type]
    )


def ids(page_items: tuple[Asset, ...] | list[Asset]) -> list[str]:
    """The ids of some assets, in order."""
    return [a.id for a in page_items]


def all_pages(catalog: AssetCatalog, tenant: str, limit: int, **filters: object) -> list[list[str]]:
    """Follow next_cursor to the end; return the ids of every page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = catalog.list(tenant, limit=limit, cursor=cursor, **filters)  # type: ignore[arg-type]
        pages.append(ids(page.items))
        cursor = page.next_cursor
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not terminate"


def flip(text: str, index: int) -> str:
    """``text`` with the character at ``index`` replaced by another base64url character."""
    old = text[index]
    new = "A" if old != "A" else "B"
    return text[:index] + new + text[index + 1 :]


# -- link_message ---------------------------------------------------------------------------


class TestLinkByAssetIds:
    """link_message attaches assets named by id."""

    def test_links_and_counts(self, catalog: AssetCatalog) -> None:
        """Linking two unlinked assets (one listed twice) returns 2 and sets their message_id."""
        a, b, c = image(catalog), image(catalog), image(catalog)
        assert catalog.link_message("t1", "msg-1", asset_ids=[a.id, b.id, a.id]) == 2
        assert catalog.get("t1", a.id).message_id == "msg-1"
        assert catalog.get("t1", b.id).message_id == "msg-1"
        assert catalog.get("t1", c.id).message_id is None

    def test_linked_event_recorded(self, catalog: AssetCatalog) -> None:
        """A link records one ``linked`` event with the actor and the message id."""
        a = image(catalog)
        catalog.link_message("t1", "msg-1", asset_ids=[a.id], actor="host")
        linked = [e for e in catalog.repository.events_for("t1", a.id) if e.event == "linked"]
        assert len(linked) == 1
        assert linked[0].actor == "host"
        assert linked[0].details["message_id"] == "msg-1"

    def test_idempotent(self, catalog: AssetCatalog) -> None:
        """Linking the same assets to the same message again returns 0 and adds no event."""
        a = image(catalog)
        assert catalog.link_message("t1", "msg-1", asset_ids=[a.id]) == 1
        assert catalog.link_message("t1", "msg-1", asset_ids=[a.id]) == 0
        events = [e.event for e in catalog.repository.events_for("t1", a.id)]
        assert events.count("linked") == 1

    def test_never_moves_linked_asset(self, catalog: AssetCatalog) -> None:
        """An asset linked to a message (by link or at ingest) is not moved; the call returns 0."""
        a = image(catalog)
        b = image(catalog, message_id="msg-0")
        catalog.link_message("t1", "msg-1", asset_ids=[a.id])
        assert catalog.link_message("t1", "msg-2", asset_ids=[a.id, b.id]) == 0
        assert catalog.get("t1", a.id).message_id == "msg-1"
        assert catalog.get("t1", b.id).message_id == "msg-0"
        assert ids(catalog.list("t1", message_id="msg-2").items) == []

    def test_partial_overlap_links_only_new(self, catalog: AssetCatalog) -> None:
        """Of a linked and an unlinked asset, only the unlinked one is linked and counted."""
        a, b = image(catalog), image(catalog)
        catalog.link_message("t1", "msg-1", asset_ids=[a.id])
        assert catalog.link_message("t1", "msg-2", asset_ids=[a.id, b.id]) == 1
        assert catalog.get("t1", a.id).message_id == "msg-1"
        assert catalog.get("t1", b.id).message_id == "msg-2"

    def test_other_tenants_asset_is_not_found(self, catalog: AssetCatalog) -> None:
        """Another tenant's asset id raises AssetNotFound and links nothing at all."""
        mine = image(catalog, "t1")
        theirs = image(catalog, "t2")
        with pytest.raises(AssetNotFound):
            catalog.link_message("t1", "msg-1", asset_ids=[mine.id, theirs.id])
        assert catalog.get("t1", mine.id).message_id is None
        assert catalog.get("t2", theirs.id).message_id is None
        events = [e.event for e in catalog.repository.events_for("t1", mine.id)]
        assert "linked" not in events

    def test_unknown_or_deleted_id_is_not_found(self, catalog: AssetCatalog) -> None:
        """An unknown or a deleted asset id raises AssetNotFound."""
        a = image(catalog)
        catalog.delete("t1", a.id)
        for bad in ("no-such-asset", a.id):
            with pytest.raises(AssetNotFound):
                catalog.link_message("t1", "msg-1", asset_ids=[bad])

    def test_bad_arguments_refused(self, catalog: AssetCatalog) -> None:
        """No selector at all, or asset_ids given as one string, is InvalidInput."""
        a = image(catalog)
        with pytest.raises(InvalidInput):
            catalog.link_message("t1", "msg-1")
        with pytest.raises(InvalidInput) as info:
            catalog.link_message("t1", "msg-1", asset_ids=a.id)
        assert info.value.field == "asset_ids"
        assert catalog.get("t1", a.id).message_id is None


class TestLinkByToolCallAndResponse:
    """link_message attaches assets by tool call ids or by response id."""

    def test_by_tool_call_ids(self, catalog: AssetCatalog) -> None:
        """Assets of the named tool calls are linked; others are not."""
        a = image(catalog, tool_call_id="call-a")
        b = image(catalog, tool_call_id="call-b")
        c = image(catalog, tool_call_id="call-c")
        n = catalog.link_message("t1", "msg-1", tool_call_ids=["call-a", "call-c", "unknown"])
        assert n == 2
        assert catalog.get("t1", a.id).message_id == "msg-1"
        assert catalog.get("t1", b.id).message_id is None
        assert catalog.get("t1", c.id).message_id == "msg-1"
        assert catalog.link_message("t1", "msg-1", tool_call_ids=["call-a", "call-c"]) == 0

    def test_by_response_id(self, catalog: AssetCatalog) -> None:
        """Every unlinked asset of a response is linked; other responses are untouched."""
        r1 = [csv_file(catalog, response_id="resp-1") for _ in range(3)]
        other = csv_file(catalog, response_id="resp-2")
        assert catalog.link_message("t1", "msg-1", response_id="resp-1") == 3
        assert {a.id for a in catalog.list("t1", message_id="msg-1").items} == {a.id for a in r1}
        assert catalog.get("t1", other.id).message_id is None
        assert catalog.link_message("t1", "msg-1", response_id="resp-1") == 0

    def test_by_response_id_never_moves(self, catalog: AssetCatalog) -> None:
        """Linking a response to a second message moves none of its assets."""
        a = csv_file(catalog, response_id="resp-1")
        catalog.link_message("t1", "msg-1", response_id="resp-1")
        assert catalog.link_message("t1", "msg-2", response_id="resp-1") == 0
        assert catalog.get("t1", a.id).message_id == "msg-1"

    def test_other_tenants_tool_calls_untouched(self, catalog: AssetCatalog) -> None:
        """A tool call id of another tenant links nothing there."""
        theirs = image(catalog, "t2", tool_call_id="call-a")
        assert catalog.link_message("t1", "msg-1", tool_call_ids=["call-a"]) == 0
        assert catalog.link_message("t1", "msg-1", response_id="call-a") == 0
        assert catalog.get("t2", theirs.id).message_id is None


# -- list: order and filters ----------------------------------------------------------------


class TestListOrder:
    """list returns live assets of the tenant, newest first."""

    def test_newest_first(self, catalog: AssetCatalog) -> None:
        """Assets come back in descending creation order."""
        clock = ManualClock(T0)
        catalog.clock = clock
        made = []
        for _ in range(4):
            made.append(image(catalog))
            clock.tick()
        assert ids(catalog.list("t1").items) == ids(made[::-1])

    def test_order_is_by_created_at_not_insertion(self, catalog: AssetCatalog) -> None:
        """Order follows created_at even when assets were inserted out of time order."""
        clock = ManualClock(T0)
        catalog.clock = clock
        clock.now = T0 + dt.timedelta(hours=2)
        late = image(catalog)
        clock.now = T0
        early = image(catalog)
        clock.now = T0 + dt.timedelta(hours=1)
        middle = image(catalog)
        assert ids(catalog.list("t1").items) == [late.id, middle.id, early.id]

    def test_only_own_tenant(self, catalog: AssetCatalog) -> None:
        """A tenant never sees another tenant's assets."""
        mine = image(catalog, "t1")
        image(catalog, "t2")
        assert ids(catalog.list("t1").items) == [mine.id]
        assert catalog.list("t3").items == ()
        assert catalog.list("t3").next_cursor is None

    def test_round_trips_asset(self, catalog: AssetCatalog) -> None:
        """A listed asset equals the one ingest returned."""
        a = image(catalog, conversation_id="c1", agent_key="painter")
        assert catalog.list("t1").items == (a,)


class TestListFilters:
    """Every list filter narrows the result, combined with AND."""

    def test_asset_type(self, catalog: AssetCatalog) -> None:
        """asset_type separates images from files (strings and enums); unknown is refused."""
        img, f = image(catalog), csv_file(catalog)
        assert ids(catalog.list("t1", asset_type="image").items) == [img.id]
        assert ids(catalog.list("t1", asset_type=AssetType.FILE).items) == [f.id]
        with pytest.raises(InvalidInput) as info:
            catalog.list("t1", asset_type="video")
        assert info.value.field == "asset_type"

    def test_source_tool(self, catalog: AssetCatalog) -> None:
        """source_tool separates image generation, code interpreter and uploads."""
        img, f = image(catalog), csv_file(catalog)
        up = catalog.ingest_upload("t1", CSV, filename="u.csv")
        assert ids(catalog.list("t1", source_tool="image_generation").items) == [img.id]
        assert ids(catalog.list("t1", source_tool=SourceTool.CODE_INTERPRETER).items) == [f.id]
        assert ids(catalog.list("t1", source_tool="user_upload").items) == [up.id]

    def test_conversation_id(self, catalog: AssetCatalog) -> None:
        """conversation_id keeps only that conversation's assets."""
        a = image(catalog, conversation_id="conv-1")
        image(catalog, conversation_id="conv-2")
        image(catalog)
        assert ids(catalog.list("t1", conversation_id="conv-1").items) == [a.id]

    def test_message_id(self, catalog: AssetCatalog) -> None:
        """message_id keeps only assets linked to that message."""
        a, b = image(catalog), image(catalog)
        catalog.link_message("t1", "msg-1", asset_ids=[a.id])
        assert ids(catalog.list("t1", message_id="msg-1").items) == [a.id]
        assert b.id not in ids(catalog.list("t1", message_id="msg-1").items)

    def test_agent_key(self, catalog: AssetCatalog) -> None:
        """agent_key keeps only that agent's assets."""
        a = image(catalog, agent_key="painter")
        image(catalog, agent_key="analyst")
        assert ids(catalog.list("t1", agent_key="painter").items) == [a.id]

    def test_mime_prefix(self, catalog: AssetCatalog) -> None:
        """mime_prefix matches a type prefix, case-insensitively."""
        img, f = image(catalog), csv_file(catalog)
        assert ids(catalog.list("t1", mime_prefix="image/").items) == [img.id]
        assert ids(catalog.list("t1", mime_prefix="text/c").items) == [f.id]
        assert ids(catalog.list("t1", mime_prefix="IMAGE/PNG").items) == [img.id]
        assert catalog.list("t1", mime_prefix="video/").items == ()

    def test_mime_prefix_wildcards_are_literal(self, catalog: AssetCatalog) -> None:
        """``%`` and ``_`` in mime_prefix match only themselves, not any characters."""
        blob = bytes(range(256)) * 2
        underscore = catalog.ingest_container_file(
            "t1",
            blob,
            container_id="c",
            file_id="u",
            filename="a",
            mime_type="application/x_custom",
        )
        hyphen = catalog.ingest_container_file(
            "t1",
            blob,
            container_id="c",
            file_id="h",
            filename="b",
            mime_type="application/x-custom",
        )
        assert underscore.mime_type == "application/x_custom"
        assert hyphen.mime_type == "application/x-custom"
        assert ids(catalog.list("t1", mime_prefix="application/x_").items) == [underscore.id]
        assert ids(catalog.list("t1", mime_prefix="application/x-").items) == [hyphen.id]
        assert catalog.list("t1", mime_prefix="%").items == ()
        assert catalog.list("t1", mime_prefix="application/%custom").items == ()
        assert catalog.list("t1", mime_prefix="_mage/").items == ()

    def test_created_after_and_before(self, catalog: AssetCatalog) -> None:
        """created_after/created_before bound the creation time, in any time zone."""
        clock = ManualClock(T0)
        catalog.clock = clock
        a0 = image(catalog)
        clock.tick(60)
        a1 = image(catalog)
        clock.tick(60)
        a2 = image(catalog)
        mid01 = T0 + dt.timedelta(seconds=30)
        mid12 = T0 + dt.timedelta(seconds=90)
        assert ids(catalog.list("t1", created_after=mid01).items) == [a2.id, a1.id]
        assert ids(catalog.list("t1", created_before=mid12).items) == [a1.id, a0.id]
        both = catalog.list("t1", created_after=mid01, created_before=mid12)
        assert ids(both.items) == [a1.id]
        elsewhere = mid01.astimezone(dt.timezone(dt.timedelta(hours=-5)))
        assert ids(catalog.list("t1", created_after=elsewhere).items) == [a2.id, a1.id]

    def test_naive_datetime_refused(self, catalog: AssetCatalog) -> None:
        """A naive datetime bound is InvalidInput naming the argument."""
        naive = dt.datetime(2024, 1, 1)  # naive on purpose
        with pytest.raises(InvalidInput) as info:
            catalog.list("t1", created_after=naive)
        assert info.value.field == "created_after"
        with pytest.raises(InvalidInput) as info:
            catalog.list("t1", created_before=naive)
        assert info.value.field == "created_before"

    def test_filters_combine(self, catalog: AssetCatalog) -> None:
        """Several filters together keep only assets matching all of them."""
        want = image(catalog, conversation_id="c1", agent_key="painter")
        image(catalog, conversation_id="c1", agent_key="analyst")
        image(catalog, conversation_id="c2", agent_key="painter")
        csv_file(catalog, conversation_id="c1", agent_key="painter")
        page = catalog.list("t1", conversation_id="c1", agent_key="painter", asset_type="image")
        assert ids(page.items) == [want.id]


# -- list: pagination -----------------------------------------------------------------------


class TestListPagination:
    """Keyset pagination with an opaque, filter-bound cursor."""

    def test_pages_cover_everything_once(self, catalog: AssetCatalog) -> None:
        """Following next_cursor returns every asset exactly once, newest first; an exactly
        full last page has no next_cursor."""
        clock = ManualClock(T0)
        catalog.clock = clock
        made = []
        for _ in range(6):
            made.append(image(catalog))
            clock.tick()
        pages = all_pages(catalog, "t1", limit=4)
        assert [len(p) for p in pages] == [4, 2]
        assert [i for p in pages for i in p] == ids(made[::-1])
        pages = all_pages(catalog, "t1", limit=3)
        assert [len(p) for p in pages] == [3, 3]
        assert [i for p in pages for i in p] == ids(made[::-1])

    def test_equal_timestamps_break_ties(self, catalog: AssetCatalog) -> None:
        """Assets created at the same instant are each returned exactly once across pages."""
        catalog.clock = ManualClock(T0)  # frozen: every asset has the same created_at
        made = {image(catalog).id for _ in range(7)}
        pages = all_pages(catalog, "t1", limit=2)
        flat = [i for p in pages for i in p]
        assert len(flat) == 7
        assert set(flat) == made
        assert flat == ids(catalog.list("t1", limit=500).items)

    def test_pagination_with_filters(self, catalog: AssetCatalog) -> None:
        """Pages of a filtered list contain only matching assets, each once."""
        clock = ManualClock(T0)
        catalog.clock = clock
        want = []
        for n in range(6):
            a = image(catalog, conversation_id="c1" if n % 2 == 0 else "c2")
            if n % 2 == 0:
                want.append(a.id)
            clock.tick()
        pages = all_pages(catalog, "t1", limit=1, conversation_id="c1")
        assert [i for p in pages for i in p] == want[::-1]

    def test_new_assets_do_not_shift_pages(self, catalog: AssetCatalog) -> None:
        """An asset created while paging does not duplicate or skip anything."""
        clock = ManualClock(T0)
        catalog.clock = clock
        made = []
        for _ in range(4):
            made.append(image(catalog))
            clock.tick()
        first = catalog.list("t1", limit=2)
        image(catalog)  # newer than everything
        second = catalog.list("t1", limit=2, cursor=first.next_cursor)
        assert ids(first.items) + ids(second.items) == ids(made[::-1])

    def test_cursor_bound_to_tenant_and_filters(self, catalog: AssetCatalog) -> None:
        """A cursor reused with different filters or for another tenant is InvalidCursor."""
        for tenant in ("t1", "t2"):
            for _ in range(3):
                image(catalog, tenant, conversation_id="c1")
        cursor = catalog.list("t1", limit=1).next_cursor
        assert cursor is not None
        with pytest.raises(InvalidCursor):
            catalog.list("t1", limit=1, cursor=cursor, conversation_id="c1")
        with pytest.raises(InvalidCursor):
            catalog.list("t1", limit=1, cursor=cursor, asset_type="image")
        with pytest.raises(InvalidCursor):
            catalog.list("t2", limit=1, cursor=cursor)

    def test_cursor_limit_may_change(self, catalog: AssetCatalog) -> None:
        """The page size is not a filter: a cursor works with another limit."""
        for _ in range(3):
            image(catalog)
        cursor = catalog.list("t1", limit=1).next_cursor
        assert len(catalog.list("t1", limit=5, cursor=cursor).items) == 2

    def test_tampered_cursor_refused(self, catalog: AssetCatalog) -> None:
        """A cursor with a character changed in any of its three parts is InvalidCursor."""
        for _ in range(3):
            image(catalog)
        cursor = catalog.list("t1", limit=1).next_cursor
        assert cursor is not None
        start = 0
        for part in cursor.split("."):
            for index in (start, start + len(part) // 2):
                with pytest.raises(InvalidCursor):
                    catalog.list("t1", limit=1, cursor=flip(cursor, index))
            start += len(part) + 1

    def test_no_other_cursor_string_is_accepted(self, catalog: AssetCatalog) -> None:
        """Changing the last character of a cursor to any other character is InvalidCursor."""
        for _ in range(3):
            image(catalog)
        cursor = catalog.list("t1", limit=1).next_cursor
        assert cursor is not None
        accepted = []
        for char in BASE64URL:
            forged = cursor[:-1] + char
            if forged == cursor:
                continue
            try:
                catalog.list("t1", limit=1, cursor=forged)
            except InvalidCursor:
                continue
            accepted.append(forged)
        assert accepted == [], f"{len(accepted)} altered cursors accepted (last char changed)"

    def test_malformed_cursor_refused(self, catalog: AssetCatalog) -> None:
        """A malformed cursor is InvalidCursor (an InvalidInput naming ``cursor``)."""
        for cursor in ["", "garbage", "a.b.c", "k0..", "...", "x" * 5000, 12345]:
            with pytest.raises(InvalidCursor) as info:
                catalog.list("t1", cursor=cursor)  # type: ignore[arg-type]
            assert isinstance(info.value, InvalidInput)
            assert info.value.field == "cursor"

    def test_download_token_is_not_a_cursor(self, catalog: AssetCatalog) -> None:
        """A genuine download token is refused as a cursor."""
        a = image(catalog)
        token = catalog.presign("t1", a.id).url.rsplit("/", 1)[1]
        with pytest.raises(InvalidCursor):
            catalog.list("t1", cursor=token)


class TestListLimit:
    """limit is an integer from 1 to 500."""

    def test_limit_bounds(self, catalog: AssetCatalog) -> None:
        """1 and 500 are accepted; out-of-range or non-integer limits are InvalidInput
        naming ``limit``."""
        image(catalog)
        image(catalog)
        one = catalog.list("t1", limit=1)
        assert len(one.items) == 1
        assert one.next_cursor is not None
        assert len(catalog.list("t1", limit=500).items) == 2
        for limit in [0, -1, 501, True, "5", 2.0, None]:
            with pytest.raises(InvalidInput) as info:
                catalog.list("t1", limit=limit)  # type: ignore[arg-type]
            assert info.value.field == "limit", limit
