"""Hostile input: every bad argument is refused with a typed error and leaves nothing behind.

Each rejection is checked two ways: the exception is exactly the documented subclass of
:class:`AssetCatalogError` (with ``.field`` naming the argument for an :class:`InvalidInput`),
and :func:`snapshot` -- every storage key with its bytes, every path under the storage root and
every row of the three tables -- is byte-for-byte the same before and after the call.

Rejections that can only happen mid-stream legitimately leave one ``failed``
``storage_objects`` row and nothing else.  The catalog reads a head (chunks until at least
``SNIFF_BYTES`` = 256 KiB; bytes are cut into 1 MiB chunks, streams are read 1 MiB at a time)
before the pending row, so only a problem *after that first read* is mid-stream: a stream that
trickles data in small reads and runs over ``max_bytes``, an iterator that does, or a non-bytes
chunk after the head.  Those cases are in :class:`TestMidStreamRejections`, checked with
:func:`assert_only_failed_object_added`.  Everything that can be detected up front -- including
a ``bytes`` or base64 payload whose length is known before anything is written -- must leave no
row at all (:class:`TestPayloadLimit`).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from asset_catalog import (
    MAX_FILENAME_BYTES,
    AssetCatalog,
    AssetCatalogError,
    AssetNotFound,
    AssetType,
    BadSignature,
    InvalidContent,
    InvalidCursor,
    InvalidInput,
    PayloadTooLarge,
    SignatureExpired,
    UrlSigner,
)
from asset_catalog._content.filenames import content_disposition
from asset_catalog._content.sniff import SNIFF_BYTES
from asset_catalog._inputs import CHUNK
from asset_catalog._models import Asset

from .clocks import TickingClock
from .figures import assert_verified
from .images import gif_bytes, png_bytes
from .odd_values import circular_mapping, deep_mapping
from .snapshots import Snapshot, snapshot
from .tokens import token_payload, with_payload

TENANT_A = "tenant-a"
TENANT_B = "tenant-b"
SECRET = "test-secret-0123456789abcdef"  # the conftest signer's secret
START = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)

PNG = png_bytes(4, 3)
CSV = b"name,value\nalpha,1\nbeta,2\n"
HTML = b"<!DOCTYPE html><html><head><title>x</title></head><body><p>hi</p></body></html>"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)
_GIF = gif_bytes(2, 2)
GIF_ZERO_WIDTH = _GIF[:6] + b"\0\0" + _GIF[8:]  # logical screen width 0


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    return buffer.getvalue()


# -- snapshots -----------------------------------------------------------------------------------


def rejects(
    catalog: AssetCatalog,
    error: type[AssetCatalogError],
    call: Callable[[], object],
    *,
    field: str | None = None,
    note: str = "",
) -> AssetCatalogError:
    """Run ``call``; it must raise exactly ``error`` (naming ``field``) and change nothing.

    ``note`` says which case of a loop failed.
    """
    where = f" [{note}]" if note else ""
    before = snapshot(catalog)
    with pytest.raises(AssetCatalogError) as info:
        call()
    exc = info.value
    assert type(exc) is error, f"expected {error.__name__}, got {type(exc).__name__}: {exc}{where}"
    if field is not None:
        assert isinstance(exc, InvalidInput)
        assert exc.field == field, f"field {exc.field!r} instead of {field!r}{where}"
    after = snapshot(catalog)
    assert after == before, f"a rejected call changed the catalog{where}"
    return exc


def assert_only_failed_object_added(before: Snapshot, after: Snapshot) -> None:
    """A mid-stream rejection: no blob, no asset, no event; one new ``failed`` object row."""
    assert after.blobs == before.blobs
    assert after.paths == before.paths
    assert after.assets == before.assets
    assert after.events == before.events
    new = [row for row in after.objects if row not in before.objects]
    assert [row for row in after.objects if row in before.objects] == before.objects
    assert [row["status"] for row in new] == ["failed"]


# -- fixtures ------------------------------------------------------------------------------------


class Seeded(NamedTuple):
    """A catalog holding a few assets of two tenants."""

    catalog: AssetCatalog
    image: Asset
    csv: Asset
    other: Asset
    """Tenant B's asset."""


@pytest.fixture
def seeded(catalog: AssetCatalog) -> Iterator[Seeded]:
    catalog.clock = TickingClock(START)
    image = catalog.ingest_image(
        TENANT_A, PNG, tool_call_id="call-1", conversation_id="conv-1", agent_key="agent"
    )
    csv = catalog.ingest_container_file(
        TENANT_A,
        CSV,
        container_id="cntr-1",
        file_id="file-1",
        filename="/mnt/data/report.csv",
        conversation_id="conv-1",
    )
    catalog.ingest_container_file(
        TENANT_A, png_bytes(2, 2), container_id="cntr-1", file_id="file-2", filename="plot.png"
    )
    other = catalog.ingest_image(TENANT_B, png_bytes(5, 5), tool_call_id="call-b")
    yield Seeded(catalog, image, csv, other)
    assert_verified(catalog, "the hostile inputs")


@pytest.fixture
def sized(catalog: AssetCatalog, signer: UrlSigner) -> Callable[[int], AssetCatalog]:
    """Build a catalog on the same repository and storage with another ``max_bytes``."""

    def make(max_bytes: int) -> AssetCatalog:
        made = AssetCatalog(
            repository=catalog.repository,
            storage=catalog.storage,
            signer=signer,
            max_bytes=max_bytes,
        )
        made.clock = TickingClock(START)
        return made

    return make


def ingest_csv(catalog: AssetCatalog, content: Any = CSV, **kw: Any) -> Asset:
    options: dict[str, Any] = {"container_id": "cntr-9", "file_id": "file-9", "filename": "x.csv"}
    options.update(kw)
    return catalog.ingest_container_file(options.pop("tenant_id", TENANT_A), content, **options)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def one_char_changes(token: str) -> Iterator[str]:
    """Every variant of ``token`` with exactly one character replaced by a base64url one."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index, char in enumerate(token):
        for replacement in alphabet:
            if replacement != char:
                yield token[:index] + replacement + token[index + 1 :]


def _short(value: object) -> str:
    text = ascii(value)
    return text if len(text) <= 40 else text[:37] + "..."


# -- filenames -----------------------------------------------------------------------------------

HOSTILE_FILENAMES: dict[str, str] = {
    "../../etc/passwd": "passwd",
    "..\\..\\win.ini": "win.ini",
    "/mnt/data/../../etc/shadow": "shadow",
    "../\u202egnp.exe": "gnp.exe",
    "a\x00b.csv": "ab.csv",
    "a\nb.csv": "ab.csv",
    "a\rb.csv": "ab.csv",
    "a\r\nContent-Type: text/html": "html",
    "\x1b[31mred.csv": "[31mred.csv",
    "a\x7fb.csv": "ab.csv",
    "a\x85b.csv": "ab.csv",
    "x" * 10_000: "x" * 255,
    "x" * 300: "x" * 255,
    "é" * 128 + ".csv": "é" * 125 + ".csv",
    "é" * 150 + ".csv": "é" * 125 + ".csv",
    "": "",
    "   ": "",
    " \t\n ": "",
    "\u202egnp.exe": "gnp.exe",
    "invoice\u202efdp.exe": "invoicefdp.exe",
    "report\u200b.csv": "report.csv",
    "a\u200cb\u200db.csv": "abb.csv",
    "\ufeffreport.csv": "report.csv",
    "a\u2028b.csv": "ab.csv",
    "a\ud800b.csv": "ab.csv",
    ".": "",
    "..": "",
    "....": "",
    "/mnt/data/": "data",
    "/": "",
}
"""Hostile names and the safe names they give ("": nothing left, a name is generated)."""

GENERATED = {
    "ingest_container_file": re.compile(r"file-[0-9a-f]{8}-[0-9a-f]{4}\.txt"),
    "ingest_image": re.compile(r"image-[0-9a-f]{8}-[0-9a-f]{4}\.png"),
    "ingest_upload": re.compile(r"file-[0-9a-f]{8}-[0-9a-f]{4}\.txt"),
}
"""The names generated when nothing is left (the CSV has no ``.csv`` name: it is text)."""
KEY_SHAPE = re.compile(r"t[0-9a-f]{24}/\d{4}/\d{2}/\d{2}/[0-9a-f-]{36}\.[a-z0-9]{1,8}")
"""Every storage key: the tenant's hash, the day, the object id and an extension."""


def _recorded(original: str) -> str:
    """The original as the metadata keeps it: last 4,096 characters, NUL and lone
    surrogates escaped (``\\x00``, ``\\udXXX``)."""
    text = original[-4096:]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


class TestHostileFilenames:
    """Hostile filenames are made safe, never refused; the original is kept in metadata."""

    @pytest.mark.parametrize(("name", "expected"), HOSTILE_FILENAMES.items(), ids=_short)
    def test_every_ingest_makes_name_safe(self, seeded: Seeded, name: str, expected: str) -> None:
        """Each ingest call stores the safe name (or a generated one), records the original
        under ``original_filename`` when it changed, keeps the caller's metadata, and writes
        one blob whose key and headers never contain the name."""
        catalog = seeded.catalog
        calls: dict[str, Callable[[], Asset]] = {
            "ingest_container_file": lambda: ingest_csv(catalog, filename=name, metadata={"k": 1}),
            "ingest_image": lambda: catalog.ingest_image(
                TENANT_A, PNG, filename=name, metadata={"k": 1}
            ),
            "ingest_upload": lambda: catalog.ingest_upload(
                TENANT_A, CSV, filename=name, metadata={"k": 1}
            ),
        }
        for label, call in calls.items():
            keys_before = set(catalog.storage.iter_keys())
            asset = call()
            stored = catalog.get(TENANT_A, asset.id)
            if expected:
                assert stored.filename == expected, label
            else:
                assert GENERATED[label].fullmatch(stored.filename), (label, stored.filename)
            assert_safe_filename(stored.filename)
            # Every hostile name changed: the original is recorded beside the caller's keys.
            recorded = {"k": 1, "original_filename": _recorded(name)} | _format(label)
            assert stored.metadata == asset.metadata == recorded, label
            new_keys = set(catalog.storage.iter_keys()) - keys_before
            assert len(new_keys) == 1, label
            assert all(KEY_SHAPE.fullmatch(key) for key in new_keys), (label, new_keys)
            url = catalog.presign(TENANT_A, asset.id, disposition="attachment")
            download = catalog.open_signed(url.token)
            download.stream.close()
            header = download.headers["Content-Disposition"]
            assert header.isascii(), label
            assert not {"\r", "\n", "\x00"} & set(header), label
            assert header == content_disposition(stored.filename, "attachment"), label

    def test_original_too_long_is_kept_from_the_end(self, seeded: Seeded) -> None:
        """A name over 4,096 characters keeps its last 4,096 as the original."""
        name = "a/" * 3000 + "b.csv"
        asset = seeded.catalog.ingest_upload(TENANT_A, CSV, filename=name)
        assert asset.filename == "b.csv"
        assert asset.metadata["original_filename"] == name[-4096:]

    def test_safe_name_records_nothing(self, seeded: Seeded) -> None:
        """A name that is already safe is stored as given and adds no metadata; a caller's
        own ``original_filename`` stays."""
        asset = seeded.catalog.ingest_upload(
            TENANT_A, CSV, filename="report.csv", metadata={"original_filename": "mine"}
        )
        assert asset.filename == "report.csv"
        assert asset.metadata == {"original_filename": "mine"}

    @pytest.mark.parametrize("name", [None, 42, b"report.csv", ["a.csv"]], ids=_short)
    def test_non_string_filename(self, seeded: Seeded, name: object) -> None:
        """A filename that is not a str raises InvalidInput naming ``filename``."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: ingest_csv(seeded.catalog, filename=name),
            field="filename",
        )

    def test_path_prefix_is_dropped_not_stored(self, seeded: Seeded) -> None:
        """A benign directory prefix is removed: only the last segment is the filename (the
        path is the recorded original)."""
        assert seeded.csv.filename == "report.csv"
        assert seeded.csv.metadata == {"original_filename": "/mnt/data/report.csv"}
        keys = list(seeded.catalog.storage.iter_keys())
        assert all("report" not in key and "mnt" not in key for key in keys)


def _format(label: str) -> dict[str, str]:
    return {"format": "png"} if label == "ingest_image" else {}


def assert_safe_filename(name: str) -> None:
    assert name
    assert name == name.strip()
    assert name.strip(".")
    assert "/" not in name
    assert "\\" not in name
    assert len(name.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert not {unicodedata.category(ch) for ch in name} & {"Cc", "Cf", "Cs", "Zl", "Zp"}


# -- image content -------------------------------------------------------------------------------

BAD_IMAGES: list[tuple[str, Callable[[], object], type[AssetCatalogError]]] = [
    ("not-base64", lambda: "not base64!!", InvalidContent),
    ("truncated-padding-1", lambda: b64(PNG)[:-1], InvalidContent),
    ("truncated-padding-2", lambda: b64(PNG)[:-2], InvalidContent),
    ("truncated-padding-3", lambda: b64(PNG)[:-3], InvalidContent),
    ("non-ascii-text", lambda: "iVBORw0KGgo€€€€", InvalidContent),
    ("base64-of-text", lambda: b64(b"just some text, certainly not an image"), InvalidContent),
    ("base64-of-html", lambda: b64(HTML), InvalidContent),
    ("data-url-of-zip", lambda: "data:image/png;base64," + b64(zip_bytes()), InvalidContent),
    ("png-signature-then-garbage", lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(64), InvalidContent),
    ("png-cut-short", lambda: PNG[:20], InvalidContent),
    ("png-bad-ihdr-crc", lambda: PNG[:29] + b"\0\0\0\0" + PNG[33:], InvalidContent),
    ("html-page", lambda: HTML, InvalidContent),
    ("svg-with-script", lambda: SVG, InvalidContent),
    ("gif-zero-width", lambda: GIF_ZERO_WIDTH, InvalidContent),
    ("pdf", lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", InvalidContent),
    ("empty-bytes", lambda: b"", InvalidContent),
    ("empty-base64", lambda: "", InvalidContent),
    ("whitespace-base64", lambda: "  \n\t ", InvalidContent),
    ("empty-iterator", lambda: iter([]), InvalidContent),
    ("iterator-of-empty-chunks", lambda: iter([b"", b""]), InvalidContent),
    ("empty-stream", lambda: io.BytesIO(b""), InvalidContent),
    ("text-stream", lambda: io.StringIO("iVBORw0KGgo="), InvalidInput),
    ("str-chunks", lambda: iter(["iVBORw0KGgo="]), InvalidInput),
    ("int-chunk-after-png", lambda: iter([PNG, 7]), InvalidInput),
    ("int", lambda: 42, InvalidInput),
    ("none", lambda: None, InvalidInput),
    ("float", lambda: 1.5, InvalidInput),
]


class TestHostileImages:
    """``ingest_image`` accepts only real PNG/JPEG/WebP/GIF bytes."""

    @pytest.mark.parametrize(
        ("make", "error"),
        [pytest.param(make, error, id=name) for name, make, error in BAD_IMAGES],
    )
    def test_refused(
        self, seeded: Seeded, make: Callable[[], object], error: type[AssetCatalogError]
    ) -> None:
        """Bad image input raises the typed error naming ``image`` and writes nothing."""
        rejects(
            seeded.catalog,
            error,
            lambda: seeded.catalog.ingest_image(TENANT_A, make()),
            field="image",
        )

    def test_declared_format_that_lies(self, seeded: Seeded) -> None:
        """``format="jpeg"`` with PNG bytes is kept as the PNG it is, the claim recorded
        beside the format the bytes prove (a model's wrong claim never costs its output)."""
        asset = seeded.catalog.ingest_image(TENANT_A, PNG, format="jpeg", tool_call_id="lies")
        assert asset.mime_type == "image/png"
        assert asset.filename.endswith(".png")
        assert (asset.metadata["format"], asset.metadata["declared_format"]) == ("png", "jpeg")

    @pytest.mark.parametrize("value", ["bmp", "", "png; drop table", 1, b"png"], ids=_short)
    def test_unknown_format(self, seeded: Seeded, value: object) -> None:
        """An unknown ``format`` raises InvalidInput naming ``format``."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.ingest_image(TENANT_A, PNG, format=value),  # type: ignore[arg-type]
            field="format",
        )

    @pytest.mark.parametrize("name", ["quality", "background", "size", "revised_prompt"])
    def test_oversized_or_non_string_options(self, seeded: Seeded, name: str) -> None:
        """Recorded options must be short strings."""
        for value in (5, "x" * 32_001):
            rejects(
                seeded.catalog,
                InvalidInput,
                lambda value=value: seeded.catalog.ingest_image(TENANT_A, PNG, **{name: value}),
                field=name,
            )

    def test_bad_source_tool(self, seeded: Seeded) -> None:
        """An unknown ``source_tool`` raises InvalidInput naming it."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.ingest_image(TENANT_A, PNG, source_tool="evil"),
            field="source_tool",
        )


# -- container content ---------------------------------------------------------------------------

BAD_CONTENT: list[tuple[str, Callable[[], object], type[AssetCatalogError]]] = [
    ("str", lambda: "name,value\n1,2\n", InvalidInput),
    ("empty-str", lambda: "", InvalidInput),
    ("empty-bytes", lambda: b"", InvalidContent),
    ("empty-bytearray", bytearray, InvalidContent),
    ("empty-iterator", lambda: iter([]), InvalidContent),
    ("empty-list", lambda: [], InvalidContent),
    ("iterator-of-empty-chunks", lambda: iter([b"", b""]), InvalidContent),
    ("empty-stream", lambda: io.BytesIO(b""), InvalidContent),
    ("str-chunk", lambda: iter([b"a,b\n", "1,2\n"]), InvalidInput),
    ("int-chunk", lambda: iter([b"a,b\n", 12]), InvalidInput),
    ("none-chunk", lambda: [None], InvalidInput),
    ("text-stream", lambda: io.StringIO("a,b\n"), InvalidInput),
    ("int", lambda: 42, InvalidInput),
    ("none", lambda: None, InvalidInput),
]


class TestHostileContainerContent:
    """``ingest_container_file`` accepts bytes, binary streams and iterables of bytes only."""

    @pytest.mark.parametrize(
        ("make", "error"),
        [pytest.param(make, error, id=name) for name, make, error in BAD_CONTENT],
    )
    def test_refused(
        self, seeded: Seeded, make: Callable[[], object], error: type[AssetCatalogError]
    ) -> None:
        """Bad content raises the typed error naming ``content`` and writes nothing."""
        rejects(seeded.catalog, error, lambda: ingest_csv(seeded.catalog, make()), field="content")

    def test_upload_refuses_str(self, seeded: Seeded) -> None:
        """``ingest_upload`` refuses text content the same way."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.ingest_upload(TENANT_A, "a,b", filename="a.csv"),
            field="content",
        )

    @pytest.mark.parametrize("value", [42, b"text/csv"], ids=_short)
    def test_non_string_mime_type(self, seeded: Seeded, value: object) -> None:
        """A declared ``mime_type`` that is not a str raises InvalidInput naming it."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: ingest_csv(seeded.catalog, mime_type=value),
            field="mime_type",
        )


# -- payload size --------------------------------------------------------------------------------


def _image_inputs(data: bytes) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("bytes", lambda: data),
        ("base64", lambda: b64(data)),
        ("data-url", lambda: "data:image/png;base64," + b64(data)),
        ("stream", lambda: io.BytesIO(data)),
        ("chunks", lambda: iter([data[i : i + 7] for i in range(0, len(data), 7)])),
    ]


def _content_inputs(data: bytes) -> list[tuple[str, Callable[[], object]]]:
    return [
        ("bytes", lambda: data),
        ("stream", lambda: io.BytesIO(data)),
        ("chunks", lambda: iter([data[i : i + 7] for i in range(0, len(data), 7)])),
    ]


LARGE_LIMITS = [SNIFF_BYTES + 1024, CHUNK + 1024, 3 * CHUNK]
"""Limits above the sniffed head (256 KiB) and above one read chunk (1 MiB)."""


class TestPayloadLimit:
    """``max_bytes`` is inclusive; one byte more is PayloadTooLarge, before the pending row."""

    @pytest.mark.parametrize("kind", ["bytes", "base64", "data-url", "stream", "chunks"])
    def test_image_exactly_at_limit_is_accepted(
        self, sized: Callable[[int], AssetCatalog], kind: str
    ) -> None:
        """An image of exactly ``max_bytes`` bytes is stored whole."""
        small = sized(len(PNG))
        make = dict(_image_inputs(PNG))[kind]
        asset = small.ingest_image(TENANT_A, make())
        assert asset.size_bytes == len(PNG)
        assert (asset.width, asset.height) == (4, 3)

    @pytest.mark.parametrize("kind", ["bytes", "base64", "data-url", "stream", "chunks"])
    def test_image_one_byte_over(self, sized: Callable[[int], AssetCatalog], kind: str) -> None:
        """An image one byte over ``max_bytes`` raises PayloadTooLarge naming ``image``."""
        small = sized(len(PNG))
        make = dict(_image_inputs(PNG + b"\0"))[kind]
        exc = rejects(
            small, PayloadTooLarge, lambda: small.ingest_image(TENANT_A, make()), field="image"
        )
        assert isinstance(exc, PayloadTooLarge)
        assert exc.limit == len(PNG)

    @pytest.mark.parametrize("kind", ["bytes", "stream", "chunks"])
    def test_content_exactly_at_limit_is_accepted(
        self, sized: Callable[[int], AssetCatalog], kind: str
    ) -> None:
        """A file of exactly ``max_bytes`` bytes is stored whole."""
        small = sized(len(CSV))
        asset = ingest_csv(small, dict(_content_inputs(CSV))[kind]())
        assert asset.size_bytes == len(CSV)
        with small.storage.open(_key_of(small, asset)) as handle:
            assert handle.read() == CSV

    @pytest.mark.parametrize("kind", ["bytes", "stream", "chunks"])
    def test_content_one_byte_over(self, sized: Callable[[int], AssetCatalog], kind: str) -> None:
        """A file one byte over ``max_bytes`` raises PayloadTooLarge naming ``content``."""
        small = sized(len(CSV))
        make = dict(_content_inputs(CSV + b"x"))[kind]
        rejects(small, PayloadTooLarge, lambda: ingest_csv(small, make()), field="content")

    def test_far_over_limit_base64_is_refused_before_decoding(
        self, sized: Callable[[int], AssetCatalog]
    ) -> None:
        """Base64 text far larger than the limit is refused from its length alone."""
        small = sized(100)
        rejects(
            small,
            PayloadTooLarge,
            lambda: small.ingest_image(TENANT_A, "A" * 10_000),
            field="image",
        )

    @pytest.mark.parametrize("limit", LARGE_LIMITS, ids=["head+1k", "chunk+1k", "3chunks"])
    @pytest.mark.parametrize("kind", ["bytes", "bytearray", "base64"])
    def test_known_length_over_large_limit_leaves_no_row(
        self, sized: Callable[[int], AssetCatalog], kind: str, limit: int
    ) -> None:
        """A bytes or base64 image whose length is known up front is refused before the
        pending row, even when the limit is larger than the sniffed head or one read chunk."""
        small = sized(limit)
        data = PNG + b"\0" * (limit + 1 - len(PNG))
        value = {"bytes": data, "bytearray": bytearray(data), "base64": b64(data)}[kind]
        rejects(small, PayloadTooLarge, lambda: small.ingest_image(TENANT_A, value), field="image")

    @pytest.mark.parametrize("limit", LARGE_LIMITS, ids=["head+1k", "chunk+1k", "3chunks"])
    def test_known_length_content_over_large_limit_leaves_no_row(
        self, sized: Callable[[int], AssetCatalog], limit: int
    ) -> None:
        """A bytes container file over a large limit is refused before the pending row."""
        small = sized(limit)
        data = b"a" * (limit + 1)
        rejects(small, PayloadTooLarge, lambda: ingest_csv(small, data), field="content")


class TrickleStream(io.RawIOBase):
    """A binary stream that returns at most 64 KiB per read, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 64 * 1024) if size >= 0 else 64 * 1024)


def _key_of(catalog: AssetCatalog, asset: Asset) -> str:
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    return obj.key


class TestMidStreamRejections:
    """Problems past the sniffed head of a stream of unknown length: these are the only
    rejections allowed to leave a row, and only a ``failed`` one (no blob, no asset)."""

    def _seed(self, catalog: AssetCatalog) -> None:
        # Tenant A's day directory exists already, so only the failed row may appear.
        catalog.ingest_image(TENANT_A, PNG)

    def test_stream_over_limit(self, sized: Callable[[int], AssetCatalog]) -> None:
        """A stream longer than ``max_bytes`` (read in small pieces) fails mid-stream with
        PayloadTooLarge."""
        limit = SNIFF_BYTES + 1024
        small = sized(limit)
        self._seed(small)
        before = snapshot(small)
        data = PNG + b"\0" * (limit + 1 - len(PNG))
        with pytest.raises(PayloadTooLarge) as info:
            small.ingest_image(TENANT_A, TrickleStream(data))
        assert info.value.field == "image"
        assert_only_failed_object_added(before, snapshot(small))

    def test_new_tenant_leaves_no_directory(self, sized: Callable[[int], AssetCatalog]) -> None:
        """A mid-stream rejection of a tenant's first ingest leaves no empty directories."""
        limit = SNIFF_BYTES + 1024
        small = sized(limit)
        before = snapshot(small)
        data = PNG + b"\0" * (limit + 1 - len(PNG))
        with pytest.raises(PayloadTooLarge):
            small.ingest_image("brand-new-tenant", TrickleStream(data))
        assert_only_failed_object_added(before, snapshot(small))

    def test_chunks_over_limit(self, sized: Callable[[int], AssetCatalog]) -> None:
        """An iterator longer than ``max_bytes`` fails mid-stream with PayloadTooLarge."""
        limit = SNIFF_BYTES + 1024
        small = sized(limit)
        self._seed(small)
        before = snapshot(small)
        chunks = iter([b"a" * SNIFF_BYTES, b"b" * 1024, b"c"])
        with pytest.raises(PayloadTooLarge) as info:
            ingest_csv(small, chunks)
        assert info.value.field == "content"
        assert_only_failed_object_added(before, snapshot(small))

    @pytest.mark.parametrize("bad", ["text", 3, None], ids=_short)
    def test_non_bytes_chunk_after_head(self, seeded: Seeded, bad: object) -> None:
        """A non-bytes chunk after the head raises InvalidInput once streaming started."""
        catalog = seeded.catalog
        before = snapshot(catalog)
        head = PNG + b"\0" * (SNIFF_BYTES - len(PNG))
        with pytest.raises(InvalidInput) as info:
            catalog.ingest_image(TENANT_A, iter([head, b"\0" * 10, bad]))
        assert type(info.value) is InvalidInput
        assert info.value.field == "image"
        assert_only_failed_object_added(before, snapshot(catalog))


class NonBlockingStream(io.RawIOBase):
    """A non-blocking binary stream: ``read()`` returns None ("no data yet") before each
    piece, as ``io.RawIOBase`` allows, and ``b""`` at the end."""

    def __init__(self, pieces: list[bytes], not_ready: int = 3) -> None:
        self._pieces = list(pieces)
        self._not_ready = not_ready
        self._waits = 0
        self.nones = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes | None:
        if not self._pieces:
            return b""
        if self._waits < self._not_ready:
            self._waits += 1
            self.nones += 1
            return None
        self._waits = 0
        return self._pieces.pop(0)


class TestNonBlockingStreams:
    """``read()`` returning None is "not yet", never the end: no truncated asset."""

    def test_none_is_waited_for_not_taken_for_the_end(self, seeded: Seeded) -> None:
        """All 12 bytes arrive although read() said None before every piece."""
        stream = NonBlockingStream([b"a,b,c\n", b"1,2,3\n"])
        asset = ingest_csv(seeded.catalog, stream, file_id="nonblocking")
        assert asset.size_bytes == 12
        with seeded.catalog.storage.open(_key_of(seeded.catalog, asset)) as blob:
            assert blob.read() == b"a,b,c\n1,2,3\n"
        assert stream.nones == 6

    def test_a_stream_that_never_becomes_ready_is_refused(
        self, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A stream that gives its head and then only ever None fails with InvalidInput
        naming content: nothing is published, only a failed row is left."""
        from asset_catalog import _inputs

        class Stuck(io.RawIOBase):
            def __init__(self) -> None:
                self._head: bytes | None = b"a,b\n" * 80_000  # past the sniffed head

            def readable(self) -> bool:
                return True

            def read(self, size: int = -1) -> bytes | None:
                chunk, self._head = self._head, None
                return chunk  # None ever after

        monkeypatch.setattr(_inputs, "NOT_READY_WAIT", 0.05)
        catalog = seeded.catalog
        before = snapshot(catalog)
        with pytest.raises(InvalidInput) as info:
            ingest_csv(catalog, Stuck(), file_id="stuck")
        assert info.value.field == "content"
        assert "non-blocking" in info.value.message
        assert_only_failed_object_added(before, snapshot(catalog))


# -- identifiers ---------------------------------------------------------------------------------

BAD_TENANTS = ["", "t" * 300, "tenant\x00a", "tenant\na", "tenant\x85", 42, None, b"tenant-a"]


def _calls(seeded: Seeded) -> dict[str, Callable[[Any], object]]:
    catalog, asset = seeded.catalog, seeded.image
    return {
        "ingest_image": lambda t: catalog.ingest_image(t, PNG),
        "ingest_container_file": lambda t: ingest_csv(catalog, tenant_id=t),
        "ingest_upload": lambda t: catalog.ingest_upload(t, CSV, filename="a.csv"),
        "list": catalog.list,
        "get": lambda t: catalog.get(t, asset.id),
        "presign": lambda t: catalog.presign(t, asset.id),
        "presign_many": lambda t: catalog.presign_many(t, [asset.id]),
        "delete": lambda t: catalog.delete(t, asset.id),
        "delete_conversation": lambda t: catalog.delete_conversation(t, "conv-1"),
        "link_message": lambda t: catalog.link_message(t, "msg-1", asset_ids=[asset.id]),
        "events": lambda t: catalog.events(t, asset.id),
    }


CALL_NAMES = [
    "ingest_image",
    "ingest_container_file",
    "ingest_upload",
    "list",
    "get",
    "presign",
    "presign_many",
    "delete",
    "delete_conversation",
    "link_message",
    "events",
]


class TestHostileIds:
    """Host identifiers are validated on every call, before any read or write."""

    @pytest.mark.parametrize("call", CALL_NAMES)
    def test_bad_tenant_id(self, seeded: Seeded, call: str) -> None:
        """An empty, over-long, control-character or non-str tenant id is InvalidInput."""
        run = _calls(seeded)[call]
        for tenant in BAD_TENANTS:
            rejects(
                seeded.catalog,
                InvalidInput,
                lambda tenant=tenant: run(tenant),
                field="tenant_id",
                note=_short(tenant),
            )

    @pytest.mark.parametrize(
        ("field", "call"),
        [
            pytest.param(
                "conversation_id",
                lambda c: c.ingest_image(TENANT_A, PNG, conversation_id="c\x00"),
                id="conversation_id-nul",
            ),
            pytest.param(
                "tool_call_id",
                lambda c: c.ingest_image(TENANT_A, PNG, tool_call_id=5),
                id="call-int",
            ),
            pytest.param(
                "agent_key",
                lambda c: c.ingest_image(TENANT_A, PNG, agent_key="a" * 256),
                id="agent",
            ),
            pytest.param("container_id", lambda c: ingest_csv(c, container_id=""), id="container"),
            pytest.param("file_id", lambda c: ingest_csv(c, file_id="f\x1b"), id="file_id"),
            pytest.param(
                "message_id", lambda c: c.link_message(TENANT_A, "", response_id="r"), id="message"
            ),
            pytest.param(
                "asset_ids",
                lambda c: c.link_message(TENANT_A, "m", asset_ids="single-id"),
                id="asset_ids-str",
            ),
            pytest.param(
                "asset_ids", lambda c: c.link_message(TENANT_A, "m", asset_ids=["\x00"]), id="nul"
            ),
            pytest.param("asset_ids", lambda c: c.link_message(TENANT_A, "m"), id="no-selector"),
            pytest.param(
                "asset_ids",
                lambda c: c.presign_many(TENANT_A, [f"id-{i}" for i in range(101)]),
                id="batch-too-large",
            ),
            pytest.param("agent_key", lambda c: c.list(TENANT_A, agent_key=""), id="list-agent"),
            pytest.param("asset_type", lambda c: c.list(TENANT_A, asset_type="video"), id="type"),
            pytest.param(
                "created_after",
                lambda c: c.list(TENANT_A, created_after=dt.datetime(2026, 1, 1)),
                id="naive-datetime",
            ),
            pytest.param("asset_id", lambda c: c.get(TENANT_A, 42), id="get-int"),
            pytest.param("asset_id", lambda c: c.events(TENANT_A, None), id="events-none"),
            pytest.param("asset_id", lambda c: c.delete(TENANT_A, b"x"), id="delete-bytes"),
        ],
    )
    def test_bad_host_id(self, seeded: Seeded, field: str, call: Callable[[Any], object]) -> None:
        """Every other identifier argument is validated and named in the error."""
        rejects(seeded.catalog, InvalidInput, lambda: call(seeded.catalog), field=field)

    @pytest.mark.parametrize(
        "asset_id", ["", "x" * 1000, "a\x00b", "'; DROP TABLE x; --", "%"], ids=_short
    )
    def test_odd_asset_ids_are_not_found(self, seeded: Seeded, asset_id: str) -> None:
        """String asset ids that cannot exist are simply AssetNotFound for get and delete."""
        rejects(seeded.catalog, AssetNotFound, lambda: seeded.catalog.get(TENANT_A, asset_id))
        rejects(seeded.catalog, AssetNotFound, lambda: seeded.catalog.delete(TENANT_A, asset_id))
        rejects(seeded.catalog, AssetNotFound, lambda: seeded.catalog.presign(TENANT_A, asset_id))

    @pytest.mark.parametrize("limit", [0, -1, 501, True, 2.0, "10", None], ids=_short)
    def test_bad_limit(self, seeded: Seeded, limit: object) -> None:
        """``limit`` must be an int from 1 to 500."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.list(TENANT_A, limit=limit),
            field="limit",
        )

    @pytest.mark.parametrize("prefix", ["x" * 256, 5, b"image/"], ids=_short)
    def test_bad_mime_prefix(self, seeded: Seeded, prefix: object) -> None:
        """``mime_prefix`` must be a short str."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.list(TENANT_A, mime_prefix=prefix),
            field="mime_prefix",
        )


# -- cursors -------------------------------------------------------------------------------------


class TestHostileCursors:
    """Any cursor that is not an untouched cursor of the same tenant and filters is refused."""

    def _cursor(self, seeded: Seeded, **filters: Any) -> str:
        page = seeded.catalog.list(TENANT_A, limit=1, **filters)
        assert page.next_cursor is not None
        return page.next_cursor

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "",
            ".",
            "..",
            "k0..",
            "a.b.c",
            "k0.eyJ9.abc",
            "k0.eyJzIjoiYSJ9.",
            "x" * 5000,
            "k0." + "A" * 4100 + ".x",
            "k0.e30.e30.e30",
            "k0.e30.e30\n",
            "ключ.e30.e30",
            123,
            b"k0.e30.e30",
        ],
        ids=_short,
    )
    def test_random_strings(self, seeded: Seeded, cursor: object) -> None:
        """A random or malformed cursor raises InvalidCursor naming ``cursor``."""
        rejects(
            seeded.catalog,
            InvalidCursor,
            lambda: seeded.catalog.list(TENANT_A, cursor=cursor),  # type: ignore[arg-type]
            field="cursor",
        )

    def test_base64_garbage(self, seeded: Seeded) -> None:
        """Well-formed base64url parts that were never signed raise InvalidCursor."""
        for _ in range(20):
            body = base64.urlsafe_b64encode(os.urandom(40)).rstrip(b"=").decode()
            mac = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
            for cursor in (f"k0.{body}.{mac}", body, f"{body}.{mac}"):
                rejects(
                    seeded.catalog,
                    InvalidCursor,
                    lambda cursor=cursor: seeded.catalog.list(TENANT_A, cursor=cursor),
                )

    def test_every_one_character_change_is_refused(self, seeded: Seeded) -> None:
        """Changing any single character of a valid cursor makes it invalid."""
        cursor = self._cursor(seeded)
        seeded.catalog.list(TENANT_A, limit=1, cursor=cursor)  # the original is fine
        accepted = []
        for changed in one_char_changes(cursor):
            try:
                seeded.catalog.list(TENANT_A, limit=1, cursor=changed)
            except InvalidCursor:
                continue
            accepted.append(changed)
        assert accepted == [], f"{len(accepted)} altered cursors accepted, e.g. {accepted[:3]}"

    def test_truncated_and_extended(self, seeded: Seeded) -> None:
        """A cursor with characters cut off or appended raises InvalidCursor."""
        cursor = self._cursor(seeded)
        for changed in (
            cursor[:-1],
            cursor[:-4],
            cursor[1:],
            cursor + "A",
            cursor + "=",
            " " + cursor,
        ):
            rejects(
                seeded.catalog,
                InvalidCursor,
                lambda changed=changed: seeded.catalog.list(TENANT_A, limit=1, cursor=changed),
            )

    @pytest.mark.parametrize(
        ("made_with", "used_with"),
        [
            ({}, {"asset_type": "image"}),
            ({"asset_type": "image"}, {}),
            ({"asset_type": "image"}, {"asset_type": "file"}),
            ({"conversation_id": "conv-1"}, {"conversation_id": "conv-2"}),
            ({"mime_prefix": "image/"}, {"mime_prefix": "image/p"}),
            ({}, {"created_after": START}),
        ],
    )
    def test_cursor_from_other_filters(
        self, seeded: Seeded, made_with: dict[str, Any], used_with: dict[str, Any]
    ) -> None:
        """A cursor is bound to the filters it was made for."""
        cursor = self._cursor(seeded, **made_with)
        rejects(
            seeded.catalog,
            InvalidCursor,
            lambda: seeded.catalog.list(TENANT_A, limit=1, cursor=cursor, **used_with),
            field="cursor",
        )

    def test_cursor_from_other_tenant(self, seeded: Seeded) -> None:
        """Tenant A's cursor is refused for tenant B."""
        cursor = self._cursor(seeded)
        rejects(
            seeded.catalog,
            InvalidCursor,
            lambda: seeded.catalog.list(TENANT_B, limit=1, cursor=cursor),
            field="cursor",
        )

    def test_cursor_with_limit_change_is_fine(self, seeded: Seeded) -> None:
        """The page size is not part of the scope: a cursor may be reused with another limit."""
        cursor = self._cursor(seeded)
        assert len(seeded.catalog.list(TENANT_A, limit=10, cursor=cursor).items) == 2

    def test_download_token_is_not_a_cursor(self, seeded: Seeded) -> None:
        """A signed download token is refused as a cursor (purposes are separated)."""
        token = token_of(seeded.catalog.presign(TENANT_A, seeded.image.id).url)
        rejects(
            seeded.catalog,
            InvalidCursor,
            lambda: seeded.catalog.list(TENANT_A, cursor=token),
            field="cursor",
        )

    def test_cursor_with_foreign_secret(self, seeded: Seeded) -> None:
        """A cursor signed with another secret (same key id) is refused."""
        payload = token_payload(self._cursor(seeded))
        forged = UrlSigner("another-secret-with-enough-bytes").sign("cursor", payload)
        rejects(
            seeded.catalog,
            InvalidCursor,
            lambda: seeded.catalog.list(TENANT_A, cursor=forged),
            field="cursor",
        )

    def test_cursor_with_edited_payload(self, seeded: Seeded) -> None:
        """Editing the payload of a real cursor (keeping its MAC) is refused."""
        cursor = self._cursor(seeded)
        for changes in ({"t": 0}, {"i": "ffffffff-ffff-7fff-bfff-ffffffffffff"}, {"s": "x"}):
            forged = with_payload(cursor, **changes)
            rejects(
                seeded.catalog,
                InvalidCursor,
                lambda forged=forged: seeded.catalog.list(TENANT_A, cursor=forged),
            )

    def test_genuinely_signed_but_malformed_payload(self, seeded: Seeded) -> None:
        """Even a correctly signed cursor with wrongly typed or out-of-range fields is
        InvalidCursor (defence in depth: forging one needs the secret)."""
        scope = token_payload(self._cursor(seeded))["s"]
        signer = UrlSigner(SECRET)
        for payload in (
            {"s": scope, "t": "x", "i": "a"},
            {"s": scope, "t": 1, "i": 2},
            {"s": scope},
            {"s": scope, "t": 10**30, "i": "a"},
            {"s": scope, "t": -(10**30), "i": "a"},
        ):
            forged = signer.sign("cursor", payload)
            rejects(
                seeded.catalog,
                InvalidCursor,
                lambda forged=forged: seeded.catalog.list(TENANT_A, cursor=forged),
            )


class TestMimePrefixIsLiteral:
    """``%`` and ``_`` in ``mime_prefix`` match themselves, not any character."""

    @pytest.fixture
    def typed(self, catalog: AssetCatalog) -> dict[str, Asset]:
        catalog.clock = TickingClock(START)
        blob = b"\x00\x01\x02binary\xff"
        return {
            "png": catalog.ingest_image(TENANT_A, PNG),
            "csv": ingest_csv(catalog, file_id="f-csv"),
            "underscore": ingest_csv(
                catalog, blob, file_id="f-u", filename="a.dat", mime_type="application/x_custom"
            ),
            "letter": ingest_csv(
                catalog, blob, file_id="f-l", filename="b.dat", mime_type="application/xzcustom"
            ),
        }

    def test_declared_types_were_recorded(self, typed: dict[str, Asset]) -> None:
        """The fixture's unknown-binary files carry their declared types."""
        assert typed["underscore"].mime_type == "application/x_custom"
        assert typed["letter"].mime_type == "application/xzcustom"

    @pytest.mark.parametrize(
        ("prefix", "expected"),
        [
            ("%", set()),
            ("_", set()),
            ("%/%", set()),
            ("image%", set()),
            ("image_", set()),
            ("_mage/", set()),
            ("text/%", set()),
            ("%png", set()),
            ("application/x_", {"underscore"}),
            ("application/x%", set()),
            ("application/x", {"underscore", "letter"}),
            ("image/", {"png"}),
            ("IMAGE/", {"png"}),
            ("text/", {"csv"}),
        ],
    )
    def test_prefix(
        self, catalog: AssetCatalog, typed: dict[str, Asset], prefix: str, expected: set[str]
    ) -> None:
        """Only assets whose type literally starts with the prefix are listed."""
        items = catalog.list(TENANT_A, mime_prefix=prefix).items
        by_id = {asset.id: name for name, asset in typed.items()}
        assert {by_id[item.id] for item in items} == expected


# -- tenant isolation ----------------------------------------------------------------------------


class TestOtherTenantsAssets:
    """Another tenant's asset id behaves exactly like an unknown id, on every call."""

    def test_get(self, seeded: Seeded) -> None:
        """``get`` raises AssetNotFound."""
        rejects(
            seeded.catalog, AssetNotFound, lambda: seeded.catalog.get(TENANT_B, seeded.image.id)
        )

    def test_presign(self, seeded: Seeded) -> None:
        """``presign`` raises AssetNotFound and audits nothing."""
        rejects(
            seeded.catalog, AssetNotFound, lambda: seeded.catalog.presign(TENANT_B, seeded.image.id)
        )

    def test_presign_many(self, seeded: Seeded) -> None:
        """``presign_many`` reports the id missing, issues nothing for it and audits nothing."""
        before = snapshot(seeded.catalog)
        batch = seeded.catalog.presign_many(TENANT_B, [seeded.image.id, seeded.csv.id])
        assert batch.urls == {}
        assert batch.missing == (seeded.image.id, seeded.csv.id)
        assert snapshot(seeded.catalog) == before

    def test_presign_many_mixed(self, seeded: Seeded) -> None:
        """Only the caller's own asset gets a URL in a mixed batch."""
        batch = seeded.catalog.presign_many(TENANT_B, [seeded.image.id, seeded.other.id])
        assert set(batch.urls) == {seeded.other.id}
        assert batch.missing == (seeded.image.id,)
        assert [e.event for e in seeded.catalog.events(TENANT_A, seeded.image.id)] == ["created"]

    def test_delete(self, seeded: Seeded) -> None:
        """``delete`` raises AssetNotFound and the asset and its blob survive."""
        rejects(
            seeded.catalog, AssetNotFound, lambda: seeded.catalog.delete(TENANT_B, seeded.image.id)
        )
        assert seeded.catalog.get(TENANT_A, seeded.image.id) == seeded.image

    def test_delete_conversation(self, seeded: Seeded) -> None:
        """Deleting tenant B's conversation of the same name touches nothing of tenant A."""
        before = snapshot(seeded.catalog)
        assert seeded.catalog.delete_conversation(TENANT_B, "conv-1") == 0
        assert snapshot(seeded.catalog) == before

    def test_link_message(self, seeded: Seeded) -> None:
        """``link_message`` by id raises AssetNotFound and links nothing."""
        rejects(
            seeded.catalog,
            AssetNotFound,
            lambda: seeded.catalog.link_message(TENANT_B, "msg-b", asset_ids=[seeded.image.id]),
        )

    def test_link_message_mixed_batch(self, seeded: Seeded) -> None:
        """A batch with one foreign id links none of the caller's own ids either."""
        rejects(
            seeded.catalog,
            AssetNotFound,
            lambda: seeded.catalog.link_message(
                TENANT_B, "msg-b", asset_ids=[seeded.other.id, seeded.image.id]
            ),
        )

    def test_link_by_tool_call_or_response(self, seeded: Seeded) -> None:
        """Linking by tenant A's tool call id from tenant B links nothing."""
        before = snapshot(seeded.catalog)
        assert seeded.catalog.link_message(TENANT_B, "msg-b", tool_call_ids=["call-1"]) == 0
        assert snapshot(seeded.catalog) == before

    def test_events(self, seeded: Seeded) -> None:
        """``events`` of another tenant's asset is empty."""
        assert seeded.catalog.events(TENANT_B, seeded.image.id) == ()

    def test_list(self, seeded: Seeded) -> None:
        """Tenant B's list holds only its own asset, whatever the filters."""
        assert [a.id for a in seeded.catalog.list(TENANT_B).items] == [seeded.other.id]
        assert seeded.catalog.list(TENANT_B, conversation_id="conv-1").items == ()


# -- download tokens -----------------------------------------------------------------------------


class TestHostileTokens:
    """``open_signed`` refuses any token it did not issue, unchanged and unexpired."""

    def _token(self, seeded: Seeded, asset: Asset | None = None, **kw: Any) -> str:
        asset = asset or seeded.image
        return token_of(seeded.catalog.presign(asset.tenant_id, asset.id, **kw).url)

    def test_genuine_token_works(self, seeded: Seeded) -> None:
        """The untouched token serves the asset's bytes (sanity check for the rest)."""
        asset, stream, headers = seeded.catalog.open_signed(self._token(seeded))
        with stream:
            assert stream.read() == PNG
        assert asset == seeded.image
        assert headers["Content-Type"] == "image/png"

    def test_tenant_bound(self, seeded: Seeded) -> None:
        """A token whose payload is edited to name tenant B is a BadSignature."""
        token = self._token(seeded)
        assert token_payload(token)["t"] == TENANT_A
        rejects(
            seeded.catalog,
            BadSignature,
            lambda: seeded.catalog.open_signed(with_payload(token, t=TENANT_B)),
        )

    @pytest.mark.parametrize(
        "changes",
        [{"a": "other-id"}, {"exp": 2**40}, {"d": "inline"}, {"extra": 1}],
        ids=["asset", "expiry", "disposition", "extra"],
    )
    def test_edited_payload(self, seeded: Seeded, changes: dict[str, Any]) -> None:
        """Any edit of the payload with the original MAC is a BadSignature."""
        token = self._token(seeded, disposition="attachment")
        rejects(
            seeded.catalog,
            BadSignature,
            lambda: seeded.catalog.open_signed(with_payload(token, **changes)),
        )

    def test_every_one_character_change_is_refused(self, seeded: Seeded) -> None:
        """Changing any single character of a download token makes it a BadSignature."""
        token = self._token(seeded)
        accepted = []
        for changed in one_char_changes(token):
            try:
                _asset, stream, _headers = seeded.catalog.open_signed(changed)
            except BadSignature:
                continue
            stream.close()
            accepted.append(changed)
        assert accepted == [], f"{len(accepted)} altered tokens accepted, e.g. {accepted[:3]}"

    @pytest.mark.parametrize(
        "token",
        ["", "garbage", "a.b.c", "k0..", "k0.e30.", "x" * 5000, None, 12, b"k0.e30.e30"],
        ids=_short,
    )
    def test_malformed(self, seeded: Seeded, token: object) -> None:
        """A malformed token is a BadSignature."""
        rejects(seeded.catalog, BadSignature, lambda: seeded.catalog.open_signed(token))  # type: ignore[arg-type]

    def test_foreign_secret(self, seeded: Seeded) -> None:
        """A token signed with another secret under the same key id is a BadSignature."""
        payload = token_payload(self._token(seeded))
        forged = UrlSigner("another-secret-with-enough-bytes").sign("download", payload)
        rejects(seeded.catalog, BadSignature, lambda: seeded.catalog.open_signed(forged))

    def test_unknown_key_id(self, seeded: Seeded) -> None:
        """A token signed under an unknown key id is a BadSignature."""
        payload = token_payload(self._token(seeded))
        forged = UrlSigner({"k9": SECRET}).sign("download", payload)
        rejects(seeded.catalog, BadSignature, lambda: seeded.catalog.open_signed(forged))

    def test_cursor_is_not_a_download_token(self, seeded: Seeded) -> None:
        """A list cursor is refused as a download token (purposes are separated)."""
        cursor = seeded.catalog.list(TENANT_A, limit=1).next_cursor
        assert cursor is not None
        rejects(seeded.catalog, BadSignature, lambda: seeded.catalog.open_signed(cursor))

    def test_expired(self, seeded: Seeded) -> None:
        """A token is served until its expiry second and refused from then on."""
        catalog = seeded.catalog
        catalog.clock = lambda: START
        token = self._token(seeded, expires_in=60)
        catalog.clock = lambda: START + dt.timedelta(seconds=59, microseconds=999_000)
        catalog.open_signed(token).stream.close()
        catalog.clock = lambda: START + dt.timedelta(seconds=60)
        rejects(catalog, SignatureExpired, lambda: catalog.open_signed(token))
        catalog.clock = lambda: START + dt.timedelta(days=365)
        rejects(catalog, SignatureExpired, lambda: catalog.open_signed(token))

    def test_expired_check_needs_a_valid_signature(self, seeded: Seeded) -> None:
        """An expired *and* tampered token is a BadSignature, not SignatureExpired."""
        catalog = seeded.catalog
        catalog.clock = lambda: START
        token = self._token(seeded, expires_in=60)
        catalog.clock = lambda: START + dt.timedelta(days=1)
        rejects(catalog, BadSignature, lambda: catalog.open_signed(with_payload(token, exp=1)))

    def test_signed_but_malformed_payload(self, seeded: Seeded) -> None:
        """A correctly signed token with wrongly typed fields is InvalidInput naming ``token``."""
        signer = UrlSigner(SECRET)
        exp = int(START.timestamp()) + 3600
        for payload in (
            {"t": 1, "a": seeded.image.id, "exp": exp, "d": "inline"},
            {"t": TENANT_A, "a": None, "exp": exp, "d": "inline"},
            {"t": TENANT_A, "a": seeded.image.id, "exp": exp, "d": "evil"},
        ):
            forged = signer.sign("download", payload)
            rejects(
                seeded.catalog,
                InvalidInput,
                lambda forged=forged: seeded.catalog.open_signed(forged),
                field="token",
            )

    def test_token_for_deleted_asset(self, seeded: Seeded) -> None:
        """A genuine token for an asset deleted since is AssetNotFound."""
        token = self._token(seeded)
        seeded.catalog.delete(TENANT_A, seeded.image.id)
        rejects(seeded.catalog, AssetNotFound, lambda: seeded.catalog.open_signed(token))

    def test_bad_actor(self, seeded: Seeded) -> None:
        """A control character in ``actor`` is refused before the download is audited."""
        token = self._token(seeded)
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.open_signed(token, actor="a\x00"),
            field="actor",
        )


# -- metadata, expiry, disposition ---------------------------------------------------------------


BAD_METADATA = [
    pytest.param({"tags": {"a", "b"}}, id="set"),
    pytest.param({"score": float("nan")}, id="nan"),
    pytest.param({"score": float("inf")}, id="inf"),
    pytest.param({"when": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, id="datetime"),
    pytest.param({"blob": b"bytes"}, id="bytes"),
    pytest.param({"nested": {"deep": [1, {2, 3}]}}, id="nested-set"),
    pytest.param({("tuple", "key"): 1}, id="tuple-key"),
    pytest.param({"big": "x" * 70_000}, id="over-64k"),
    pytest.param({"huge": 10**5000}, id="huge-int"),
    pytest.param(circular_mapping(), id="circular"),
    pytest.param(deep_mapping(10_000), id="nested-10000-deep"),
    pytest.param(["not", "a", "mapping"], id="list"),
    pytest.param("text", id="str"),
]


class TestHostileArguments:
    """Metadata, expiry and disposition are validated and named."""

    @pytest.mark.parametrize("metadata", BAD_METADATA)
    def test_metadata_on_image(self, seeded: Seeded, metadata: Any) -> None:
        """Metadata that is not a small JSON object is InvalidInput naming ``metadata``."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: seeded.catalog.ingest_image(TENANT_A, PNG, metadata=metadata),
            field="metadata",
        )

    @pytest.mark.parametrize("metadata", BAD_METADATA)
    def test_metadata_on_container_file(self, seeded: Seeded, metadata: Any) -> None:
        """The same for container files."""
        rejects(
            seeded.catalog,
            InvalidInput,
            lambda: ingest_csv(seeded.catalog, metadata=metadata),
            field="metadata",
        )

    @pytest.mark.parametrize("expires_in", [0, -1, 10**9, True, False, 1.5, "60", None], ids=_short)
    def test_expires_in(self, seeded: Seeded, expires_in: Any) -> None:
        """``expires_in`` must be whole seconds from 1 to a week, for one or many ids."""
        catalog, asset_id = seeded.catalog, seeded.image.id
        rejects(
            catalog,
            InvalidInput,
            lambda: catalog.presign(TENANT_A, asset_id, expires_in=expires_in),
            field="expires_in",
        )
        rejects(
            catalog,
            InvalidInput,
            lambda: catalog.presign_many(TENANT_A, [asset_id], expires_in=expires_in),
            field="expires_in",
        )

    @pytest.mark.parametrize(
        "disposition", ["evil", "INLINE", "inline\r\nSet-Cookie: a=b", "", 1], ids=_short
    )
    def test_disposition(self, seeded: Seeded, disposition: Any) -> None:
        """``disposition`` must be ``inline`` or ``attachment``."""
        catalog, asset_id = seeded.catalog, seeded.image.id
        rejects(
            catalog,
            InvalidInput,
            lambda: catalog.presign(TENANT_A, asset_id, disposition=disposition),
            field="disposition",
        )
        rejects(
            catalog,
            InvalidInput,
            lambda: catalog.presign_many(TENANT_A, [asset_id], disposition=disposition),
            field="disposition",
        )

    def test_expiry_bounds_are_accepted(self, seeded: Seeded) -> None:
        """One second and one week are both accepted."""
        for seconds in (1, 7 * 24 * 3600):
            url = seeded.catalog.presign(TENANT_A, seeded.image.id, expires_in=seconds)
            assert token_payload(token_of(url.url))["exp"] - int(
                seeded.catalog.clock().timestamp()
            ) in {seconds, seconds - 1}


# -- content-type lies ---------------------------------------------------------------------------


def _served(catalog: AssetCatalog, asset: Asset, **kw: Any) -> dict[str, str]:
    url = catalog.presign(asset.tenant_id, asset.id, **kw)
    _asset, stream, headers = catalog.open_signed(token_of(url.url))
    stream.close()
    return headers


class TestContentTypeLies:
    """The recorded type comes from the bytes, and active content is never served inline."""

    def test_zip_named_csv(self, seeded: Seeded) -> None:
        """A ZIP archive named ``report.csv`` (declared text/csv) is application/zip."""
        asset = ingest_csv(seeded.catalog, zip_bytes(), filename="report.csv", mime_type="text/csv")
        assert asset.mime_type == "application/zip"
        assert asset.asset_type is AssetType.FILE
        assert asset.filename == "report.csv"
        assert _served(seeded.catalog, asset)["Content-Type"] == "application/zip"

    @pytest.mark.parametrize("name", ["chart.svg", "chart.png", "chart.csv"])
    def test_svg_with_script(self, seeded: Seeded, name: str) -> None:
        """An SVG with a script is image/svg+xml, a ``file`` asset, always an attachment."""
        asset = ingest_csv(seeded.catalog, SVG, filename=name, mime_type="image/png")
        assert asset.mime_type == "image/svg+xml"
        assert asset.asset_type is AssetType.FILE
        assert (asset.width, asset.height) == (None, None)
        assert asset.id not in {
            a.id for a in seeded.catalog.list(TENANT_A, asset_type="image").items
        }
        url = seeded.catalog.presign(TENANT_A, asset.id, disposition="inline")
        assert token_payload(token_of(url.url))["d"] == "attachment"
        headers = _served(seeded.catalog, asset, disposition="inline")
        assert headers["Content-Type"] == "image/svg+xml"
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["X-Content-Type-Options"] == "nosniff"
        batch = seeded.catalog.presign_many(TENANT_A, [asset.id], disposition="inline")
        assert token_payload(token_of(batch.urls[asset.id].url))["d"] == "attachment"

    def test_html_named_png(self, seeded: Seeded) -> None:
        """An HTML page named ``photo.png`` is text/html, served as an attachment."""
        asset = ingest_csv(seeded.catalog, HTML, filename="photo.png")
        assert asset.mime_type == "text/html"
        assert asset.asset_type is AssetType.FILE
        assert _served(seeded.catalog, asset, disposition="inline")[
            "Content-Disposition"
        ].startswith("attachment;")

    def test_png_named_txt(self, seeded: Seeded) -> None:
        """A PNG named ``notes.txt`` is an image/png ``image`` asset with its dimensions."""
        asset = ingest_csv(seeded.catalog, PNG, filename="notes.txt", mime_type="text/plain")
        assert asset.mime_type == "image/png"
        assert asset.asset_type is AssetType.IMAGE
        assert (asset.width, asset.height) == (4, 3)

    def test_declared_mime_cannot_inject_headers(self, seeded: Seeded) -> None:
        """A declared type with CR/LF is ignored, never copied into a header."""
        blob = b"\x00\x01\x02\xff unknown binary"
        asset = ingest_csv(
            seeded.catalog, blob, filename="a.dat", mime_type="application/x-a\r\nSet-Cookie: a=b"
        )
        assert asset.mime_type == "application/octet-stream"
        headers = _served(seeded.catalog, asset)
        assert all("\r" not in v and "\n" not in v for v in headers.values())

    def test_filename_cannot_inject_headers(self, seeded: Seeded) -> None:
        """Quotes and semicolons in a filename stay inside one quoted, escaped parameter."""
        name = 'evil"; filename="x.html'
        asset = ingest_csv(seeded.catalog, filename=name)
        assert asset.filename == name
        value = _served(seeded.catalog, asset)["Content-Disposition"]
        assert value.startswith('attachment; filename="evil__ filename=_x.html"')
        assert value.count('"') == 2
        assert not set(value) & {"\r", "\n", "\0"}


class TestExtremeButValidIds:
    """Host ids at their limits work the same on every database."""

    def test_longest_unicode_container_ids_are_idempotent(self, catalog: AssetCatalog) -> None:
        """Two 255-character ids of 4-byte characters still make one idempotent asset."""
        container, file_id = "\U0001f600" * 255, "\U0001f680" * 255
        first = ingest_csv(catalog, container_id=container, file_id=file_id)
        again = ingest_csv(catalog, container_id=container, file_id=file_id)
        assert again.id == first.id
        assert (first.container_id, first.openai_file_id) == (container, file_id)

    @pytest.mark.parametrize("prefix", ["\ud800", "imäge/", "image/\x00", "text/\n"])
    def test_unencodable_mime_prefix_is_invalid_input(
        self, catalog: AssetCatalog, prefix: str
    ) -> None:
        """A mime_prefix that no MIME type could start with is refused as invalid input."""
        rejects(catalog, InvalidInput, lambda: catalog.list(TENANT_A, mime_prefix=prefix),
                field="mime_prefix")  # fmt: skip
