"""Catalog-level tests of the three ingest calls: images, container files and uploads."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetType,
    InvalidContent,
    InvalidInput,
    ObjectStatus,
    PayloadTooLarge,
    SourceTool,
    StorageObject,
    UrlSigner,
)

from .images import gif_bytes, jpeg_bytes, png_bytes, webp_bytes

FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
FIXED_NOW = dt.datetime(2024, 2, 29, 13, 14, 15, 161718, tzinfo=dt.UTC)
CSV = b"region,revenue\nnorth,10\nsouth,20\n"
# More than the 256 KiB the catalog buffers to sniff, so a failure in it happens mid-write.
BIG_CSV_CHUNK = b"a,b,c\n" * 11_000  # 66,000 bytes


# -- helpers --------------------------------------------------------------------------------


def stored_object(catalog: AssetCatalog, asset: Asset) -> StorageObject:
    """The storage object row behind an asset."""
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    return obj


def blob_of(catalog: AssetCatalog, asset: Asset) -> bytes:
    """The stored bytes of an asset."""
    with catalog.storage.open(stored_object(catalog, asset).key) as stream:
        return stream.read()


def objects_in(catalog: AssetCatalog, status: ObjectStatus) -> list[StorageObject]:
    """Every storage object row in ``status`` (all tenants)."""
    return catalog.repository.objects_in_status(status, FAR_FUTURE, 1000)


def event_names(catalog: AssetCatalog, tenant_id: str, asset_id: str) -> list[str]:
    """The audit trail of an asset, as event names."""
    return [e.event for e in catalog.repository.events_for(tenant_id, asset_id)]


def assert_nothing_left(catalog: AssetCatalog, tenant_id: str) -> None:
    """No blob, no asset, and no storage object row other than ``failed`` ones."""
    assert list(catalog.storage.iter_keys()) == []
    assert catalog.list(tenant_id).items == ()
    for status in (ObjectStatus.PENDING, ObjectStatus.STORED, ObjectStatus.DELETING):
        assert objects_in(catalog, status) == []


def assert_nothing_left_for(catalog: AssetCatalog, tenant_id: str) -> None:
    """The tenant has no asset or live row, no row is pending, and no blob lacks a row."""
    assert catalog.list(tenant_id).items == ()
    stored_keys = {o.key for o in objects_in(catalog, ObjectStatus.STORED)}
    assert set(catalog.storage.iter_keys()) == stored_keys
    assert objects_in(catalog, ObjectStatus.PENDING) == []
    tenant_rows = [
        o
        for status in (ObjectStatus.STORED, ObjectStatus.DELETING)
        for o in objects_in(catalog, status)
        if o.tenant_id == tenant_id
    ]
    assert tenant_rows == []


class LateSightingRepository:
    """Delegates to a repository, but its first idempotency lookup misses, as when another
    process committed the same key just after this one looked."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lookups = 0

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Asset | None:
        self.lookups += 1
        if self.lookups == 1:
            return None
        return self._inner.find_by_idempotency_key(tenant_id, key)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class PublishedTwiceRepository:
    """Delegates to a repository, but sends each publish twice, as a retry after a lost
    connection does when the first attempt had committed."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.sent = 0

    def complete_ingest(self, *args: Any) -> None:
        self.sent += 1
        self._inner.complete_ingest(*args)
        self.sent += 1
        self._inner.complete_ingest(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` as an iterator of ``size``-byte chunks."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


class CountingChunks:
    """An iterator of ``count`` copies of ``chunk`` that records how many bytes were taken."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk = chunk
        self.count = count
        self.consumed = 0

    @property
    def total(self) -> int:
        return len(self.chunk) * self.count

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.count):
            self.consumed += len(self.chunk)
            yield self.chunk


def limited_catalog(catalog: AssetCatalog, signer: UrlSigner, max_bytes: int) -> AssetCatalog:
    """A catalog on the same backends with a smaller size limit."""
    return AssetCatalog(
        repository=catalog.repository,
        storage=catalog.storage,
        signer=signer,
        max_bytes=max_bytes,
    )


IMAGES = [
    (png_bytes(640, 480), "image/png", "png", 640, 480, "png"),
    (jpeg_bytes(33, 17), "image/jpeg", "jpeg", 33, 17, "jpeg"),
    (webp_bytes(50, 40, "VP8L"), "image/webp", "webp", 50, 40, "webp-vp8l"),
    (webp_bytes(51, 41, "VP8"), "image/webp", "webp", 51, 41, "webp-vp8"),
    (webp_bytes(300, 200, "VP8X"), "image/webp", "webp", 300, 200, "webp-vp8x"),
    (gif_bytes(7, 3), "image/gif", "gif", 7, 3, "gif"),
]


# -- ingest_image ---------------------------------------------------------------------------


class TestIngestImageInputs:
    """ingest_image accepts bytes, base64 text, a data: URL and a binary stream."""

    def test_raw_bytes(self, catalog: AssetCatalog) -> None:
        """Raw PNG bytes become an image asset whose blob holds exactly those bytes."""
        data = png_bytes(4, 3)
        asset = catalog.ingest_image("t1", data)
        assert asset.asset_type is AssetType.IMAGE
        assert asset.source_tool is SourceTool.IMAGE_GENERATION
        assert (asset.width, asset.height) == (4, 3)
        assert blob_of(catalog, asset) == data

    def test_base64_text(self, catalog: AssetCatalog) -> None:
        """Base64 text, plain or wrapped over lines, is decoded before it is stored."""
        data = png_bytes(9, 2)
        asset = catalog.ingest_image("t1", base64.b64encode(data).decode("ascii"))
        assert (asset.width, asset.height) == (9, 2)
        assert blob_of(catalog, asset) == data
        wrapped = jpeg_bytes(16, 16)
        asset = catalog.ingest_image("t1", base64.encodebytes(wrapped).decode("ascii"))
        assert asset.mime_type == "image/jpeg"
        assert blob_of(catalog, asset) == wrapped

    def test_data_url(self, catalog: AssetCatalog) -> None:
        """A ``data:image/png;base64,...`` URL is accepted and its payload stored."""
        data = png_bytes(5, 6)
        url = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        asset = catalog.ingest_image("t1", url)
        assert (asset.width, asset.height) == (5, 6)
        assert blob_of(catalog, asset) == data

    def test_binary_stream(self, catalog: AssetCatalog) -> None:
        """A binary file object is read to its end and stored."""
        data = gif_bytes(8, 8)
        asset = catalog.ingest_image("t1", io.BytesIO(data))
        assert asset.mime_type == "image/gif"
        assert blob_of(catalog, asset) == data

    def test_non_images_are_refused(self, catalog: AssetCatalog) -> None:
        """Bad base64, CSV bytes and empty content are InvalidContent on ``image``; no write."""
        for bad in ("this is not base64 !!!", CSV, b""):
            with pytest.raises(InvalidContent) as info:
                catalog.ingest_image("t1", bad)
            assert info.value.field == "image"
        assert_nothing_left(catalog, "t1")


class TestIngestImageFormats:
    """Width, height, format and MIME type are read from the image header."""

    def test_dimensions_and_type_recorded(self, catalog: AssetCatalog) -> None:
        """PNG, JPEG, WebP (VP8, VP8L, VP8X) and GIF are recorded with type and dimensions."""
        for data, mime, fmt, width, height, label in IMAGES:
            asset = catalog.ingest_image("t1", data)
            stored = catalog.get("t1", asset.id)
            for found in (asset, stored):
                assert found.mime_type == mime, label
                assert found.metadata["format"] == fmt, label
                assert (found.width, found.height) == (width, height), label
                assert found.size_bytes == len(data), label

    def test_default_filename_has_format_extension(self, catalog: AssetCatalog) -> None:
        """An image ingested without a filename gets a generated name with its extension."""
        asset = catalog.ingest_image("t1", jpeg_bytes(8, 8))
        assert asset.filename.endswith(".jpg") or asset.filename.endswith(".jpeg")

    def test_the_bytes_decide_the_format(self, catalog: AssetCatalog) -> None:
        """jpg for JPEG is kept as jpeg; jpeg for PNG is kept as a PNG with the claim recorded
        as ``declared_format``; an unknown format is refused (naming ``format``), writing
        nothing."""
        asset = catalog.ingest_image("t1", jpeg_bytes(8, 8), format="jpg")
        assert asset.metadata["format"] == "jpeg"
        assert "declared_format" not in asset.metadata
        lied = catalog.ingest_image("t1", png_bytes(2, 2), format="jpeg", tool_call_id="x")
        assert (lied.mime_type, lied.metadata["declared_format"]) == ("image/png", "jpeg")
        with pytest.raises(InvalidInput) as info:
            catalog.ingest_image("t2", png_bytes(2, 2), format="bmp", tool_call_id="x")
        assert info.value.field == "format"
        assert_nothing_left_for(catalog, "t2")


class TestIngestImageMetadata:
    """Generation options and host identifiers are kept on the asset."""

    def test_quality_background_format_kept(self, catalog: AssetCatalog) -> None:
        """quality, background and format end up in the metadata, also when read back."""
        asset = catalog.ingest_image(
            "t1",
            png_bytes(3, 3),
            format="png",
            quality="high",
            background="transparent",
            metadata={"prompt_id": 7},
        )
        for found in (asset, catalog.get("t1", asset.id)):
            assert found.metadata["quality"] == "high"
            assert found.metadata["background"] == "transparent"
            assert found.metadata["format"] == "png"
            assert found.metadata["prompt_id"] == 7

    def test_host_identifiers_kept(self, catalog: AssetCatalog) -> None:
        """Conversation, tool call, response, agent, user and message ids are recorded."""
        asset = catalog.ingest_image(
            "t1",
            png_bytes(3, 3),
            conversation_id="conv-1",
            tool_call_id="call-1",
            response_id="resp-1",
            agent_key="painter",
            user_id="42",
            message_id="msg-1",
        )
        got = catalog.get("t1", asset.id)
        assert got.conversation_id == "conv-1"
        assert got.tool_call_id == "call-1"
        assert got.response_id == "resp-1"
        assert got.agent_key == "painter"
        assert got.user_id == "42"
        assert got.message_id == "msg-1"

    def test_created_event_recorded(self, catalog: AssetCatalog) -> None:
        """A successful ingest writes exactly one ``created`` event for the asset."""
        asset = catalog.ingest_image("t1", png_bytes(3, 3), user_id="u-7")
        events = catalog.repository.events_for("t1", asset.id)
        assert [e.event for e in events] == ["created"]
        assert events[0].actor == "u-7"


class TestIngestImageIdempotency:
    """ingest_image is idempotent on (tenant, tool_call_id)."""

    def test_same_tool_call_returns_same_asset(self, catalog: AssetCatalog) -> None:
        """A retried tool call returns the first asset, one blob and one ``created`` event."""
        first = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        second = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        assert second.id == first.id
        assert second.storage_object_id == first.storage_object_id
        assert len(list(catalog.storage.iter_keys())) == 1
        assert event_names(catalog, "t1", first.id) == ["created"]
        assert len(catalog.list("t1").items) == 1

    def test_retry_does_not_read_the_new_content(self, catalog: AssetCatalog) -> None:
        """A retry with a known tool call returns early, leaving its stream unread."""
        first = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        stream = io.BytesIO(png_bytes(9, 9))
        again = catalog.ingest_image("t1", stream, tool_call_id="call-1")
        assert again.id == first.id
        assert (again.width, again.height) == (4, 4)
        assert stream.tell() == 0

    def test_a_publish_sent_twice_returns_the_asset(
        self, catalog: AssetCatalog, signer: UrlSigner
    ) -> None:
        """A publish that committed and was sent again (a lost connection's retry) meets
        its own asset's key: the ingest returns its asset, even without an idempotency key,
        and keeps the blob."""
        twice = PublishedTwiceRepository(catalog.repository)
        racer = AssetCatalog(repository=twice, storage=catalog.storage, signer=signer)
        asset = racer.ingest_upload("t1", b"report", filename="report.txt")
        assert twice.sent == 2
        assert catalog.get("t1", asset.id) == asset
        assert list(catalog.storage.iter_keys()) == [stored_object(catalog, asset).key]
        assert objects_in(catalog, ObjectStatus.FAILED) == []

    def test_lost_race_returns_winner(self, catalog: AssetCatalog, signer: UrlSigner) -> None:
        """An ingest that loses the idempotency-key race returns the winner's asset and
        removes its own blob, marking its object ``failed``."""
        winner = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        late = LateSightingRepository(catalog.repository)
        racer = AssetCatalog(repository=late, storage=catalog.storage, signer=signer)
        loser = racer.ingest_image("t1", png_bytes(6, 6), tool_call_id="call-1")
        assert late.lookups >= 2
        assert loser == winner
        assert list(catalog.storage.iter_keys()) == [stored_object(catalog, winner).key]
        (failed,) = objects_in(catalog, ObjectStatus.FAILED)
        assert failed.id != winner.storage_object_id
        assert event_names(catalog, "t1", winner.id) == ["created"]
        assert len(catalog.list("t1").items) == 1

    def test_same_tool_call_in_other_tenant_is_a_new_asset(self, catalog: AssetCatalog) -> None:
        """The same tool_call_id in another tenant creates a separate asset and blob."""
        mine = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        theirs = catalog.ingest_image("t2", png_bytes(4, 4), tool_call_id="call-1")
        assert theirs.id != mine.id
        assert theirs.tenant_id == "t2"
        assert len(list(catalog.storage.iter_keys())) == 2
        assert [a.id for a in catalog.list("t1").items] == [mine.id]
        assert [a.id for a in catalog.list("t2").items] == [theirs.id]

    def test_without_tool_call_each_ingest_is_new(self, catalog: AssetCatalog) -> None:
        """Two ingests without a tool_call_id are two assets with two blobs."""
        first = catalog.ingest_image("t1", png_bytes(4, 4))
        second = catalog.ingest_image("t1", png_bytes(4, 4))
        assert first.id != second.id
        assert first.storage_object_id != second.storage_object_id
        assert len(list(catalog.storage.iter_keys())) == 2
        assert len(catalog.list("t1").items) == 2


# -- ingest_container_file ------------------------------------------------------------------


class TestIngestContainerFileInputs:
    """ingest_container_file streams bytes, file objects and iterators of chunks."""

    def test_bytes(self, catalog: AssetCatalog) -> None:
        """Bytes become a code_interpreter file asset holding those bytes."""
        asset = catalog.ingest_container_file(
            "t1", CSV, container_id="cntr_1", file_id="cfile_1", filename="data.csv"
        )
        assert asset.asset_type is AssetType.FILE
        assert asset.source_tool is SourceTool.CODE_INTERPRETER
        assert asset.container_id == "cntr_1"
        assert asset.openai_file_id == "cfile_1"
        assert blob_of(catalog, asset) == CSV

    def test_bytearray_and_memoryviews(self, catalog: AssetCatalog) -> None:
        """A bytearray, a memoryview and a strided (non-contiguous) memoryview store exactly
        the bytes they show."""
        doubled = bytes(b for byte in CSV for b in (byte, ord("#")))
        for n, content in enumerate([bytearray(CSV), memoryview(CSV), memoryview(doubled)[::2]]):
            asset = catalog.ingest_container_file(
                "t1", content, container_id="c", file_id=f"m{n}", filename="data.csv"
            )
            assert blob_of(catalog, asset) == CSV
            assert asset.size_bytes == len(CSV)

    def test_file_objects(self, catalog: AssetCatalog, tmp_path: Path) -> None:
        """An in-memory and an on-disk binary file object are streamed to storage unchanged."""
        asset = catalog.ingest_container_file(
            "t1", io.BytesIO(CSV), container_id="c", file_id="f1", filename="data.csv"
        )
        assert blob_of(catalog, asset) == CSV
        assert asset.size_bytes == len(CSV)
        path = tmp_path / "upload.csv"
        path.write_bytes(CSV * 100)
        with path.open("rb") as handle:
            asset = catalog.ingest_container_file(
                "t1", handle, container_id="c", file_id="f2", filename="upload.csv"
            )
        assert blob_of(catalog, asset) == CSV * 100

    def test_iterator_of_chunks(self, catalog: AssetCatalog) -> None:
        """An iterator of small chunks (with empty ones in between) is joined in order."""
        data = CSV * 50
        chunks = [b"", *chunked(data, 7), b""]
        asset = catalog.ingest_container_file(
            "t1", iter(chunks), container_id="c", file_id="f", filename="data.csv"
        )
        assert blob_of(catalog, asset) == data
        assert asset.size_bytes == len(data)

    def test_large_stream_in_many_chunks(self, catalog: AssetCatalog) -> None:
        """Content larger than the sniffing window is stored whole, hashed over every chunk."""
        source = CountingChunks(BIG_CSV_CHUNK, 8)
        asset = catalog.ingest_container_file(
            "t1", source, container_id="c", file_id="f", filename="big.csv"
        )
        data = BIG_CSV_CHUNK * 8
        assert asset.size_bytes == len(data)
        assert asset.sha256 == hashlib.sha256(data).hexdigest()
        assert blob_of(catalog, asset) == data

    def test_text_string_is_refused(self, catalog: AssetCatalog) -> None:
        """A str (not bytes) as content is InvalidInput naming ``content``."""
        with pytest.raises(InvalidInput) as info:
            catalog.ingest_container_file(
                "t1", "a,b\n", container_id="c", file_id="f", filename="data.csv"
            )
        assert info.value.field == "content"
        assert_nothing_left(catalog, "t1")


class TestIngestContainerFileTypes:
    """Filename cleaning and the type decision: content, then extension, then declared."""

    def test_path_prefix_dropped(self, catalog: AssetCatalog) -> None:
        """``/mnt/data/report.csv`` is recorded as ``report.csv``."""
        asset = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="/mnt/data/report.csv"
        )
        assert asset.filename == "report.csv"
        assert catalog.get("t1", asset.id).filename == "report.csv"

    def test_path_traversal_made_safe(self, catalog: AssetCatalog) -> None:
        """A filename with ``..`` segments keeps its last real segment; the original is in
        the metadata, and nothing of it is in the storage key."""
        asset = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="../../etc/passwd"
        )
        assert asset.filename == "passwd"
        assert asset.metadata == {"original_filename": "../../etc/passwd"}
        assert catalog.get("t1", asset.id) == asset
        assert not any("passwd" in key or ".." in key for key in catalog.storage.iter_keys())

    def test_no_usable_name_is_generated(self, catalog: AssetCatalog) -> None:
        """A filename with nothing usable left becomes ``file-<id>.<ext>``, or
        ``image-<id>.<ext>`` for an image, with the extension of the content's type."""
        doc = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="\u202e..."
        )
        assert doc.mime_type == "text/plain"  # no .csv name to tell text from CSV
        assert re.fullmatch(r"file-[0-9a-f]{8}-[0-9a-f]{4}\.txt", doc.filename), doc.filename
        assert doc.metadata == {"original_filename": "\u202e..."}
        plot = catalog.ingest_container_file(
            "t1", png_bytes(2, 2), container_id="c", file_id="g", filename=" / "
        )
        assert re.fullmatch(r"image-[0-9a-f]{8}-[0-9a-f]{4}\.png", plot.filename), plot.filename
        assert plot.metadata == {"original_filename": " / ", "format": "png"}

    def test_png_named_bin_is_an_image(self, catalog: AssetCatalog) -> None:
        """PNG bytes named ``chart.bin`` are an image asset with its dimensions."""
        asset = catalog.ingest_container_file(
            "t1", png_bytes(120, 80), container_id="c", file_id="f", filename="chart.bin"
        )
        assert asset.asset_type is AssetType.IMAGE
        assert asset.mime_type == "image/png"
        assert (asset.width, asset.height) == (120, 80)
        assert asset.filename == "chart.bin"

    def test_csv_text_named_csv(self, catalog: AssetCatalog) -> None:
        """CSV text named ``data.csv`` is ``text/csv`` and a file asset."""
        asset = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="data.csv"
        )
        assert asset.mime_type == "text/csv"
        assert asset.asset_type is AssetType.FILE
        assert asset.width is None
        assert asset.height is None

    def test_html_named_png_is_html_file(self, catalog: AssetCatalog) -> None:
        """HTML named ``x.png`` is ``text/html`` and a file asset, not an image."""
        html = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
        asset = catalog.ingest_container_file(
            "t1", html, container_id="c", file_id="f", filename="x.png"
        )
        assert asset.mime_type == "text/html"
        assert asset.asset_type is AssetType.FILE

    def test_type_precedence(self, catalog: AssetCatalog) -> None:
        """The type comes from the content first, the extension second, the declared type
        last (and a declared image type is never trusted without image bytes)."""
        binary = bytes(range(256)) * 4
        cases = [  # (content, filename, declared, expected)
            (png_bytes(2, 2), "notes.txt", "text/plain", "image/png"),
            (b"some words\n", "notes.txt", "text/markdown", "text/plain"),
            (b"# Title\n", "README", "text/markdown", "text/markdown"),
            (binary, "blob", "application/x-custom", "application/x-custom"),
            (binary, "blob", "image/png", "application/octet-stream"),
        ]
        for n, (content, filename, declared, expected) in enumerate(cases):
            asset = catalog.ingest_container_file(
                "t1",
                content,
                container_id="c",
                file_id=f"f{n}",
                filename=filename,
                mime_type=declared,
            )
            assert asset.mime_type == expected, (filename, declared)
            kind = AssetType.IMAGE if expected.startswith("image/") else AssetType.FILE
            assert asset.asset_type is kind, (filename, declared)


class TestIngestContainerFileIdempotency:
    """ingest_container_file is idempotent on (tenant, container_id, file_id)."""

    def test_same_file_returns_same_asset(self, catalog: AssetCatalog) -> None:
        """The same container file twice is one asset, one blob and one ``created`` event."""
        first = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="data.csv"
        )
        second = catalog.ingest_container_file(
            "t1", CSV + b"more\n", container_id="c", file_id="f", filename="other.csv"
        )
        assert second.id == first.id
        assert second.filename == "data.csv"
        assert len(list(catalog.storage.iter_keys())) == 1
        assert event_names(catalog, "t1", first.id) == ["created"]

    def test_same_file_id_in_other_container_is_new(self, catalog: AssetCatalog) -> None:
        """The same file_id in another container is a different asset."""
        first = catalog.ingest_container_file(
            "t1", CSV, container_id="c1", file_id="f", filename="data.csv"
        )
        second = catalog.ingest_container_file(
            "t1", CSV, container_id="c2", file_id="f", filename="data.csv"
        )
        assert first.id != second.id
        assert len(list(catalog.storage.iter_keys())) == 2

    def test_ids_that_concatenate_alike_stay_distinct(self, catalog: AssetCatalog) -> None:
        """(container "a:b", file "c") and (container "a", file "b:c") are two assets."""
        first = catalog.ingest_container_file(
            "t1", CSV, container_id="a:b", file_id="c", filename="data.csv"
        )
        second = catalog.ingest_container_file(
            "t1", CSV, container_id="a", file_id="b:c", filename="data.csv"
        )
        assert first.id != second.id

    def test_same_file_in_other_tenant_is_new(self, catalog: AssetCatalog) -> None:
        """The same container file in another tenant is a different asset."""
        first = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="data.csv"
        )
        second = catalog.ingest_container_file(
            "t2", CSV, container_id="c", file_id="f", filename="data.csv"
        )
        assert first.id != second.id
        assert second.tenant_id == "t2"


# -- ingest_upload --------------------------------------------------------------------------


class TestIngestUpload:
    """ingest_upload records user uploads, idempotent with an idempotency_key."""

    def test_upload_recorded(self, catalog: AssetCatalog) -> None:
        """An upload is a user_upload asset with its user and bytes."""
        asset = catalog.ingest_upload("t1", CSV, filename="mine.csv", user_id="u1")
        assert asset.source_tool is SourceTool.USER_UPLOAD
        assert asset.user_id == "u1"
        assert asset.mime_type == "text/csv"
        assert blob_of(catalog, asset) == CSV

    def test_idempotency_key_returns_same_asset(self, catalog: AssetCatalog) -> None:
        """Two uploads with the same idempotency_key are one asset and one blob per tenant."""
        first = catalog.ingest_upload("t1", CSV, filename="a.csv", idempotency_key="req-1")
        second = catalog.ingest_upload("t1", CSV, filename="a.csv", idempotency_key="req-1")
        assert second.id == first.id
        assert len(list(catalog.storage.iter_keys())) == 1
        assert event_names(catalog, "t1", first.id) == ["created"]
        other = catalog.ingest_upload("t2", CSV, filename="a.csv", idempotency_key="req-1")
        assert other.id != first.id
        assert len(list(catalog.storage.iter_keys())) == 2

    def test_without_key_each_upload_is_new(self, catalog: AssetCatalog) -> None:
        """Two uploads without an idempotency_key are two assets."""
        first = catalog.ingest_upload("t1", CSV, filename="a.csv")
        second = catalog.ingest_upload("t1", CSV, filename="a.csv")
        assert first.id != second.id
        assert len(list(catalog.storage.iter_keys())) == 2

    def test_upload_key_does_not_collide_with_tool_call(self, catalog: AssetCatalog) -> None:
        """An upload key equal to an image's tool_call_id does not return that image."""
        image = catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id="same")
        upload = catalog.ingest_upload("t1", CSV, filename="a.csv", idempotency_key="same")
        assert upload.id != image.id
        assert upload.mime_type == "text/csv"


# -- what is stored -------------------------------------------------------------------------


class TestStoredContent:
    """Hash, size, bytes and the storage key of what an ingest writes."""

    def test_sha256_and_size_match_content(self, catalog: AssetCatalog) -> None:
        """sha256 and size_bytes of the asset and its object row describe the exact bytes."""
        for n, data in enumerate((CSV, BIG_CSV_CHUNK * 5)):
            asset = catalog.ingest_container_file(
                "t1", data, container_id="c", file_id=f"f{n}", filename="d.csv"
            )
            digest = hashlib.sha256(data).hexdigest()
            assert asset.sha256 == digest
            assert asset.size_bytes == len(data)
            obj = stored_object(catalog, asset)
            assert obj.status is ObjectStatus.STORED
            assert obj.sha256 == digest
            assert obj.size_bytes == len(data)
            assert catalog.storage.size(obj.key) == len(data)
            assert blob_of(catalog, asset) == data

    def test_key_has_no_filename_or_tenant(self, catalog: AssetCatalog) -> None:
        """The storage key contains neither the filename nor the tenant id."""
        asset = catalog.ingest_container_file(
            "acme-corp",
            CSV,
            container_id="c",
            file_id="f",
            filename="quarterly-secret.csv",
        )
        key = stored_object(catalog, asset).key
        assert "acme" not in key
        assert "corp" not in key
        assert "quarterly" not in key
        assert "secret" not in key

    def test_key_shape(self, catalog: AssetCatalog) -> None:
        """The key is ``{token}/{yyyy}/{mm}/{dd}/{object_id}.{ext}`` for the ingest's date."""
        catalog.clock = lambda: FIXED_NOW
        asset = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="data.csv"
        )
        key = stored_object(catalog, asset).key
        pattern = rf"[A-Za-z0-9_-]+/2024/02/29/{re.escape(asset.storage_object_id)}\.csv"
        assert re.fullmatch(pattern, key), key
        assert list(catalog.storage.iter_keys()) == [key]

    def test_key_extension_follows_sniffed_type(self, catalog: AssetCatalog) -> None:
        """PNG bytes named ``chart.bin`` are stored under a ``.png`` key."""
        asset = catalog.ingest_container_file(
            "t1", png_bytes(2, 2), container_id="c", file_id="f", filename="chart.bin"
        )
        assert stored_object(catalog, asset).key.endswith(f"/{asset.storage_object_id}.png")

    def test_tenant_token_stable_per_tenant(self, catalog: AssetCatalog) -> None:
        """Two assets of one tenant share the key's tenant part; another tenant's differs."""
        a1 = catalog.ingest_upload("t1", CSV, filename="a.csv")
        a2 = catalog.ingest_upload("t1", CSV, filename="b.csv")
        b1 = catalog.ingest_upload("t2", CSV, filename="a.csv")
        token = {a.id: stored_object(catalog, a).key.split("/")[0] for a in (a1, a2, b1)}
        assert token[a1.id] == token[a2.id]
        assert token[a1.id] != token[b1.id]

    def test_local_ingest_writes_one_file(
        self, local_catalog: AssetCatalog, tmp_path: Path
    ) -> None:
        """On local storage an ingest creates one file under the day's directory."""
        asset = local_catalog.ingest_image("t1", png_bytes(3, 3))
        key = stored_object(local_catalog, asset).key
        root = tmp_path / "blobs"
        files = [p for p in root.rglob("*") if p.is_file()]
        assert files == [root / key]
        assert (root / key).read_bytes() == png_bytes(3, 3)


# -- failures -------------------------------------------------------------------------------


class TestFailedIngest:
    """A failing ingest leaves no blob and no asset; its object row, if any, is ``failed``."""

    def test_iterator_raising_mid_write(self, catalog: AssetCatalog) -> None:
        """A source that fails after the sniffing window leaves only a ``failed`` row."""

        def source() -> Iterator[bytes]:
            for _ in range(5):  # 330,000 bytes: past the head, inside the write
                yield BIG_CSV_CHUNK
            raise RuntimeError("upstream connection reset")

        with pytest.raises(RuntimeError, match="connection reset"):
            catalog.ingest_container_file(
                "t1", source(), container_id="c", file_id="f", filename="big.csv"
            )
        assert_nothing_left(catalog, "t1")
        failed = objects_in(catalog, ObjectStatus.FAILED)
        assert len(failed) == 1
        assert failed[0].tenant_id == "t1"
        assert not catalog.storage.exists(failed[0].key)

    def test_iterator_raising_in_head(self, catalog: AssetCatalog) -> None:
        """A source that fails within its first bytes leaves nothing behind."""

        def source() -> Iterator[bytes]:
            yield b"a,b\n"
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError, match="boom"):
            catalog.ingest_container_file(
                "t1", source(), container_id="c", file_id="f", filename="d.csv"
            )
        assert_nothing_left(catalog, "t1")

    def test_failed_ingest_can_be_retried(self, catalog: AssetCatalog) -> None:
        """After a failed ingest the same container file can be ingested successfully."""

        def source() -> Iterator[bytes]:
            yield from [BIG_CSV_CHUNK] * 5
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            catalog.ingest_container_file(
                "t1", source(), container_id="c", file_id="f", filename="d.csv"
            )
        asset = catalog.ingest_container_file(
            "t1", CSV, container_id="c", file_id="f", filename="d.csv"
        )
        assert blob_of(catalog, asset) == CSV
        assert list(catalog.storage.iter_keys()) == [stored_object(catalog, asset).key]

    def test_max_bytes_is_inclusive(self, catalog: AssetCatalog, signer: UrlSigner) -> None:
        """Exactly ``max_bytes`` is accepted; one more raises PayloadTooLarge and keeps nothing."""
        small = limited_catalog(catalog, signer, 1000)
        with pytest.raises(PayloadTooLarge) as info:
            small.ingest_container_file(
                "t2", b"x" * 1001, container_id="c", file_id="f", filename="d.txt"
            )
        assert info.value.limit == 1000
        assert info.value.field == "content"
        assert_nothing_left_for(small, "t2")
        asset = small.ingest_container_file(
            "t1", b"x" * 1000, container_id="c", file_id="f", filename="d.txt"
        )
        assert asset.size_bytes == 1000

    def test_base64_over_max_bytes(self, catalog: AssetCatalog, signer: UrlSigner) -> None:
        """A base64 image that decodes to more than ``max_bytes`` is PayloadTooLarge."""
        small = limited_catalog(catalog, signer, 1000)
        text = base64.b64encode(png_bytes(200, 200) + b"\x00" * 2000).decode("ascii")
        with pytest.raises(PayloadTooLarge):
            small.ingest_image("t1", text)
        assert_nothing_left(small, "t1")

    def test_small_stream_over_limit_stops_reading(
        self, catalog: AssetCatalog, signer: UrlSigner
    ) -> None:
        """A stream over a small limit is refused after just past the limit was read."""
        small = limited_catalog(catalog, signer, 1000)
        source = CountingChunks(b"y" * 100, 1000)
        with pytest.raises(PayloadTooLarge):
            small.ingest_container_file(
                "t1", source, container_id="c", file_id="f", filename="d.txt"
            )
        assert 1000 < source.consumed < source.total
        assert_nothing_left(small, "t1")

    def test_stream_over_limit_mid_write(self, catalog: AssetCatalog, signer: UrlSigner) -> None:
        """A stream crossing the limit while being written is refused mid-stream; blob removed."""
        limit = 300_000  # past the sniffing window, so the blob is being written
        small = limited_catalog(catalog, signer, limit)
        source = CountingChunks(BIG_CSV_CHUNK, 20)
        with pytest.raises(PayloadTooLarge) as info:
            small.ingest_container_file(
                "t1", source, container_id="c", file_id="f", filename="big.csv"
            )
        assert info.value.limit == limit
        assert limit < source.consumed < source.total
        assert_nothing_left(small, "t1")
        assert len(objects_in(small, ObjectStatus.FAILED)) == 1
