"""Property tests: pagination against a plain Python model, filename hygiene, and ingest of
arbitrary bytes and garbage.

Function-scoped fixtures are not reset between Hypothesis examples, so every example builds
its own catalog with :func:`fresh_catalog` (SQLite in a temporary directory, a private root in
the memory filesystem) and closes it at the end.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import fsspec
import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from asset_catalog import Asset, AssetCatalog, AssetCatalogError, InvalidInput, UrlSigner
from asset_catalog._content.filenames import (
    MAX_FILENAME_BYTES,
    ORIGINAL_FILENAME_KEY,
    safe_filename,
)
from asset_catalog._content.images import inspect_image
from asset_catalog.sql import SqliteRepository
from asset_catalog.storage import FsspecStorage

from .clocks import ManualClock
from .images import png_bytes
from .snapshots import snapshot
from .strategies import (
    BASE_TIME,
    AssetSpec,
    asset_specs,
    hostile_filenames,
    image_garbage,
    list_filters,
    tenant_ids,
    valid_filenames,
)

pytestmark = pytest.mark.slow

T = TypeVar("T")

SECRET = "property-secret-0123456789"
CSV = b"a,b\n1,2\n"
PNG = png_bytes(3, 2)
KEY_SHAPE = re.compile(r"t[0-9a-f]{24}/\d{4}/\d{2}/\d{2}/[0-9a-f-]{36}\.[a-z0-9]{1,8}")
"""Every storage key: the tenant's hash, the day, the object id and an extension."""
GENERATED_FILE = re.compile(r"file-[0-9a-f]{8}-[0-9a-f]{4}\.[a-z0-9]+")
GENERATED_IMAGE = re.compile(r"image-[0-9a-f]{8}-[0-9a-f]{4}\.[a-z0-9]+")


@contextmanager
def fresh_catalog(max_bytes: int | None = None) -> Iterator[AssetCatalog]:
    """A brand-new catalog on SQLite (temporary directory) and a private memory-fs root."""
    with tempfile.TemporaryDirectory() as directory:
        repository = SqliteRepository(f"sqlite:///{directory}/catalog.db")
        repository.create_schema()
        fs = fsspec.filesystem("memory")
        root = f"/prop-{uuid.uuid4().hex}"
        options: dict[str, Any] = {} if max_bytes is None else {"max_bytes": max_bytes}
        catalog = AssetCatalog(
            repository=repository,
            storage=FsspecStorage(fs, root),
            signer=UrlSigner(SECRET),
            **options,
        )
        try:
            yield catalog
        finally:
            catalog.close()
            if fs.exists(root):
                fs.rm(root, recursive=True)


def ingest(catalog: AssetCatalog, tenant: str, spec: AssetSpec, serial: int) -> Asset:
    """Ingest one asset as ``spec`` says, linking it to its message afterwards."""
    ids = {"conversation_id": spec.conversation_id, "agent_key": spec.agent_key}
    if spec.kind == "generated_png":
        asset = catalog.ingest_image(tenant, PNG, tool_call_id=f"call-{serial}", **ids)
    else:
        content, name = (PNG, "plot.png") if spec.kind == "container_png" else (CSV, "data.csv")
        asset = catalog.ingest_container_file(
            tenant, content, container_id="cntr", file_id=f"file-{serial}", filename=name, **ids
        )
    if spec.message_id is not None:
        assert catalog.link_message(tenant, spec.message_id, asset_ids=[asset.id]) == 1
        asset = catalog.get(tenant, asset.id)
        assert asset.message_id == spec.message_id
    return asset


def matches(asset: Asset, filters: dict[str, Any]) -> bool:
    """The plain-Python meaning of ``list``'s filters."""
    checks = {
        "asset_type": lambda v: asset.asset_type.value == v,
        "source_tool": lambda v: asset.source_tool.value == v,
        "conversation_id": lambda v: asset.conversation_id == v,
        "message_id": lambda v: asset.message_id == v,
        "agent_key": lambda v: asset.agent_key == v,
        "mime_prefix": lambda v: asset.mime_type.startswith(v.lower()),
        "created_after": lambda v: asset.created_at > v,
        "created_before": lambda v: asset.created_at < v,
    }
    return all(checks[name](value) for name, value in filters.items())


def newest_first(assets: list[Asset]) -> list[str]:
    return [a.id for a in sorted(assets, key=lambda a: (a.created_at, a.id), reverse=True)]


def all_pages(
    catalog: AssetCatalog, tenant: str, limit: int, filters: dict[str, Any]
) -> list[list[str]]:
    """Follow ``next_cursor`` to the end; return the ids page by page."""
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = catalog.list(tenant, limit=limit, cursor=cursor, **filters)
        pages.append([a.id for a in page.items])
        assert len(pages) <= 100, "pagination does not terminate"
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def populate(
    catalog: AssetCatalog, tenants: tuple[str, str], specs: list[AssetSpec], clock: ManualClock
) -> list[Asset]:
    """Ingest every spec at its tick; return the listed tenant's assets."""
    mine: list[Asset] = []
    for serial, spec in enumerate(specs):
        clock.now += dt.timedelta(microseconds=spec.tick)
        asset = ingest(catalog, tenants[spec.tenant], spec, serial)
        assert asset.created_at == clock.now
        if spec.tenant == 0:
            mine.append(asset)
    return mine


@st.composite
def two_tenants(draw: st.DrawFn) -> tuple[str, str]:
    first = draw(tenant_ids())
    second = draw(tenant_ids().filter(lambda t: t != first))
    return first, second


class TestPagination:
    """Keyset pagination returns exactly what a plain filter + sort returns."""

    @given(
        tenants=two_tenants(),
        specs=st.lists(asset_specs(), min_size=4, max_size=20),
        limit=st.integers(min_value=1, max_value=7),
        filters=list_filters(),
    )
    @example(tenants=("a", "b"), specs=[], limit=1, filters={})
    @example(tenants=("a", "b"), specs=[], limit=7, filters={"asset_type": "image"})
    def test_pages_equal_the_model(
        self,
        tenants: tuple[str, str],
        specs: list[AssetSpec],
        limit: int,
        filters: dict[str, Any],
    ) -> None:
        """Following next_cursor yields every matching asset once, newest first (id breaks
        ties), split into full pages, exactly as a Python filter and sort would."""
        with fresh_catalog() as catalog:
            clock = ManualClock(BASE_TIME)
            catalog.clock = clock
            mine = populate(catalog, tenants, specs, clock)

            pages = all_pages(catalog, tenants[0], limit, filters)
            listed = [asset_id for page in pages for asset_id in page]
            expected = newest_first([a for a in mine if matches(a, filters)])
            event(f"pages: {min(len(pages), 4)}{'+' if len(pages) >= 4 else ''}")
            event(f"matching: {min(len(expected), 5)}; specs: {min(len(specs), 5)}")
            event(f"timestamp ties: {len({a.created_at for a in mine}) < len(mine)}")
            assert listed == expected
            assert all(len(page) == limit for page in pages[:-1])
            assert len(pages[-1]) <= limit
            # Exactly ceil(n / limit) pages, except that an empty result is one empty page.
            assert len(pages) == max(1, -(-len(expected) // limit))

    @given(
        tenants=two_tenants(),
        specs=st.lists(asset_specs(), min_size=3, max_size=12),
        late=st.lists(asset_specs(), min_size=1, max_size=8),
        limit=st.integers(min_value=1, max_value=7),
        filters=list_filters(),
        data=st.data(),
    )
    def test_inserts_while_paging(
        self,
        tenants: tuple[str, str],
        specs: list[AssetSpec],
        late: list[AssetSpec],
        limit: int,
        filters: dict[str, Any],
        data: st.DataObject,
    ) -> None:
        """Newer assets inserted between page fetches neither repeat nor hide an item:
        the pages hold exactly the matching assets that existed at the start."""
        with fresh_catalog() as catalog:
            clock = ManualClock(BASE_TIME)
            catalog.clock = clock
            mine = populate(catalog, tenants, specs, clock)
            expected = newest_first([a for a in mine if matches(a, filters)])

            listed: list[str] = []
            pending = list(late)
            cursor: str | None = None
            serial = len(specs)
            for _ in range(100):
                page = catalog.list(tenants[0], limit=limit, cursor=cursor, **filters)
                listed.extend(a.id for a in page.items)
                # Between fetches, some strictly newer assets arrive (in either tenant).
                burst = data.draw(st.integers(min_value=0, max_value=len(pending)), label="burst")
                for spec in pending[:burst]:
                    clock.now += dt.timedelta(microseconds=max(spec.tick, 1))
                    ingest(catalog, tenants[spec.tenant], spec, serial)
                    serial += 1
                del pending[:burst]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
            else:
                raise AssertionError("pagination does not terminate")

            assert len(listed) == len(set(listed)), "an item was repeated"
            assert listed == expected


def _stored(original: str) -> str:
    """The original as recorded: last 4,096 characters, NUL and lone surrogates escaped."""
    text = original[-4096:]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _assert_safe(result: str) -> None:
    assert isinstance(result, str)
    assert result
    assert "/" not in result
    assert "\\" not in result
    categories = {unicodedata.category(ch) for ch in result}
    assert not categories & {"Cc", "Cf", "Cs", "Zl", "Zp"}
    assert len(result.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert result == result.strip()
    assert result.strip(".")
    assert result not in (".", "..")
    assert unicodedata.is_normalized("NFC", result)


_ANY_NAME = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec="utf-8")),
    st.text(alphabet=st.characters(categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs", "L"))),
    st.text(alphabet=st.sampled_from("./\\ \t\n.a\u202e\u200b\u0301e")),
    st.text(min_size=1, max_size=12).map(lambda s: s * 400),
    hostile_filenames().map(lambda case: case[0]),
    valid_filenames(),
)


class TestSafeFilename:
    """``safe_filename`` makes any text a safe display name (or ``""``: none), never raises
    for a str, and records the original exactly when it changed."""

    @given(name=_ANY_NAME)
    def test_safe_and_idempotent(self, name: str) -> None:
        """Arbitrary text gives a safe name or "", a fixed point (cleaning it again changes
        nothing), and the original (storable) exactly when the name changed."""
        result, original = safe_filename(name, field="the_name")
        if result:
            _assert_safe(result)
            assert safe_filename(result) == (result, None)
        if result and result == name:
            assert original is None
        else:
            assert original == _stored(name)
            assert "\x00" not in original
            original.encode("utf-8")  # storable: no lone surrogate

    @given(name=valid_filenames())
    def test_valid_names_are_kept(self, name: str) -> None:
        """A name that is already safe comes back unchanged, with no original."""
        assert safe_filename(name) == (name, None)

    @given(case=hostile_filenames())
    def test_hostile_names_are_made_safe(self, case: tuple[str, str]) -> None:
        """Traversal, control, invisible, bidi and over-long names give exactly the expected
        safe name (the extension kept when there was one, the last real segment of a path);
        the original is recorded whenever the name changed."""
        name, expected = case
        result, original = safe_filename(name)
        assert result == expected
        if result:
            _assert_safe(result)
        assert original == (None if result and result == name else _stored(name))
        extension = "." + name.rsplit(".", 1)[1] if "." in name else ""
        if result and extension[1:].isascii() and extension[1:].isalnum():
            assert result.endswith(extension)  # the extension is kept

    @given(name=st.one_of(st.none(), st.integers(), st.binary(), st.lists(st.text())))
    def test_non_str_is_invalid_input(self, name: object) -> None:
        """A filename that is not a str is InvalidInput naming the field."""
        result, error = attempt(lambda: safe_filename(cast(Any, name), field="the_name"))
        assert result is None
        assert type(error) is InvalidInput
        assert error.field == "the_name"


class TestIngestHostileFilenames:
    """Every ingest stores a safe name, records the original when it changed, and writes
    nothing named after it."""

    @given(name=_ANY_NAME)
    def test_ingests_record_safe_names(self, name: str) -> None:
        """The row and the header carry the safe name; the key never contains it."""
        with fresh_catalog() as catalog:
            upload = catalog.ingest_upload("tenant", CSV, filename=name, metadata={"k": 1})
            image = catalog.ingest_image("tenant", PNG, filename=name)
            expected, original = safe_filename(name)
            for asset, generated in ((upload, GENERATED_FILE), (image, GENERATED_IMAGE)):
                if expected:
                    assert asset.filename == expected
                else:
                    assert generated.fullmatch(asset.filename), asset.filename
                if original is None:
                    assert ORIGINAL_FILENAME_KEY not in asset.metadata
                else:
                    assert asset.metadata[ORIGINAL_FILENAME_KEY] == original
                assert catalog.get("tenant", asset.id).metadata == asset.metadata
            assert upload.metadata["k"] == 1
            for key in catalog.storage.iter_keys():
                assert KEY_SHAPE.fullmatch(key), key
            for asset in (upload, image):
                url = catalog.presign("tenant", asset.id, disposition="attachment")
                download = catalog.open_signed(url.token)
                download.stream.close()
                header = download.headers["Content-Disposition"]
                assert header.isascii()
                assert not {"\r", "\n", "\x00"} & set(header)


def attempt(call: Callable[[], T]) -> tuple[T | None, AssetCatalogError | None]:
    """Run ``call``; return its result, or the AssetCatalogError it raised (any other
    exception propagates and fails the test)."""
    try:
        return call(), None
    except AssetCatalogError as exc:
        return None, exc


def _nothing_written(catalog: AssetCatalog) -> None:
    state = snapshot(catalog)
    assert state.blobs == {}
    assert state.assets == []
    assert state.events == []
    assert state.objects == []


class TestIngestArbitraryBytes:
    """Arbitrary content either round-trips exactly or is refused without a trace."""

    @given(
        chunks=st.lists(st.binary(max_size=300), max_size=5),
        as_stream=st.booleans(),
        max_bytes=st.one_of(st.none(), st.integers(min_value=1, max_value=600)),
        filename=valid_filenames(),
    )
    def test_round_trip_or_clean_refusal(
        self, chunks: list[bytes], as_stream: bool, max_bytes: int | None, filename: str
    ) -> None:
        """The stored blob equals the input (size and sha256 too), or an AssetCatalogError
        is raised and storage and tables are untouched."""
        data = b"".join(chunks)
        content: Any = iter(chunks)
        if as_stream:
            content = _BytesStream(data)
        with fresh_catalog(max_bytes) as catalog:
            asset, error = attempt(
                lambda: catalog.ingest_container_file(
                    "tenant", content, container_id="c", file_id="f", filename=filename
                )
            )
            if error is not None:
                assert isinstance(error, InvalidInput)
                assert error.field == "content"
                assert not data or (max_bytes is not None and len(data) > max_bytes)
                _nothing_written(catalog)
                return
            assert isinstance(asset, Asset)
            assert data
            assert max_bytes is None or len(data) <= max_bytes
            assert asset.size_bytes == len(data)
            assert asset.sha256 == hashlib.sha256(data).hexdigest()
            assert asset.filename == filename
            state = snapshot(catalog)
            assert list(state.blobs.values()) == [data]
            assert [row["status"] for row in state.objects] == ["stored"]
            assert (inspect_image(data) is not None) == (asset.asset_type.value == "image")


class _BytesStream:
    """A minimal binary file object that hands out at most 7 bytes per read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._pos + min(size, 7)
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk


def _decoded(image: object) -> bytes | None:
    """What the catalog should see as the image's bytes, when the input is content at all."""
    if isinstance(image, bytes | bytearray):
        return bytes(image)
    if isinstance(image, list | tuple) and all(isinstance(c, bytes) for c in image):
        return b"".join(image)
    if isinstance(image, str):
        text = image.strip()
        if text.lower().startswith("data:") and ";base64," in text:
            text = text.split(",", 1)[1]
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


class TestIngestImageGarbage:
    """Anything thrown at ``ingest_image`` is refused with an InvalidInput subclass only."""

    @given(image=image_garbage())
    def test_only_invalid_input(self, image: Any) -> None:
        """Garbage raises InvalidInput (or a subclass) naming ``image`` and writes nothing;
        only bytes that really are an image may be accepted."""
        decoded = _decoded(image)
        with fresh_catalog() as catalog:
            asset, error = attempt(lambda: catalog.ingest_image("tenant", image))
            if error is not None:
                assert isinstance(error, InvalidInput), f"{type(error).__name__}: {error}"
                assert error.field == "image"
                _nothing_written(catalog)
                return
            assert isinstance(asset, Asset)
            # Random bytes can form a valid header (a GIF needs just 13 bytes): then the
            # image is genuine and must be stored exactly.
            assert decoded is not None, f"accepted a non-content value {image!r}"
            assert inspect_image(decoded) is not None
            assert asset.sha256 == hashlib.sha256(decoded).hexdigest()
            assert list(snapshot(catalog).blobs.values()) == [decoded]
