"""Content sources: every kind of content the ingest calls take, on every storage.

The contract is docs/api.md#content-sources. Each good source must publish an asset of exactly
the source's size and sha256 whose blob holds exactly its bytes, and add nothing else (one
``stored`` object row, one asset, one ``created`` event, one blob). Each bad source must raise
the documented error and leave exactly what docs/reliability.md admits: nothing at all when the
problem shows before the pending row (in the first ``SNIFF_BYTES`` = 256 KiB, or up front),
one ``failed`` object row and nothing else when it shows later. Checked with byte-for-byte
snapshots (tests/snapshots.py).

The matrix runs on SQLite with memory, local files and S3 (moto on loopback), and on
PostgreSQL with memory; sync sources go through both the sync and the awaitable
facade, async sources through the awaitable one.
"""

from __future__ import annotations

import array
import asyncio
import hashlib
import io
import os
import random
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetCatalogError,
    AsyncAssetCatalog,
    InvalidContent,
    InvalidInput,
    PayloadTooLarge,
    UrlSigner,
)
from asset_catalog._content.sniff import SNIFF_BYTES
from asset_catalog._inputs import CHUNK
from asset_catalog.protocols import AssetRepository, BlobStorage
from asset_catalog.storage import FsspecStorage

from .backends import S3Server
from .figures import assert_verified
from .images import png_bytes
from .snapshots import Snapshot, added, snapshot

TENANT = "t-streams"


def _fit(data: bytes, multiple: int = 8) -> bytes:
    """``data`` padded with newlines to a multiple of ``multiple`` bytes (so it can be
    viewed as 32-bit words or 8-byte rows)."""
    return data + b"\n" * (-len(data) % multiple)


SMALL = _fit(b"".join(b"row-%04d,%d\n" % (i, i * 7) for i in range(400)))
"""About 5 KB of CSV: well under the sniffed head."""
BIG = random.Random(20261125).randbytes(2 * CHUNK + 12_344)
"""More than two of the library's 1 MiB chunks, so every path cuts and joins chunks."""
PNG = png_bytes(6, 5)
SMALL_IMAGE = _fit(PNG + b"\0" * 5_000)
BIG_IMAGE = _fit(PNG + BIG)


# -- backends ----------------------------------------------------------------------------------

BACKENDS = [
    pytest.param(("sqlite_repository", "memory_storage"), id="sqlite-memory"),
    pytest.param(("sqlite_repository", "local_storage"), id="sqlite-local"),
    pytest.param(("sqlite_repository", "shared_s3_storage"), id="sqlite-s3", marks=pytest.mark.s3),
    pytest.param(
        ("postgres_repository", "memory_storage"), id="postgres-memory", marks=pytest.mark.postgres
    ),
]


@pytest.fixture(scope="module")
def _s3_bucket(s3_server: S3Server) -> Iterator[tuple[Any, str]]:
    """One bucket for the module's S3 cases (a bucket per test costs most of a second)."""
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket(fs)
    yield fs, bucket
    if s3_server.running:
        fs.rm(bucket, recursive=True)


@pytest.fixture
def shared_s3_storage(_s3_bucket: tuple[Any, str]) -> FsspecStorage:
    """S3 storage under a root of this test's own, in the module's bucket."""
    fs, bucket = _s3_bucket
    return FsspecStorage(fs, f"{bucket}/{uuid.uuid4().hex}")


@pytest.fixture(params=BACKENDS)
def catalog(request: pytest.FixtureRequest, signer: UrlSigner) -> Iterator[AssetCatalog]:
    """A fresh catalog on one repository x storage; ``verify()`` is clean after the test."""
    repository_fixture, storage_fixture = request.param
    repository: AssetRepository = request.getfixturevalue(repository_fixture)
    storage: BlobStorage = request.getfixturevalue(storage_fixture)
    made = AssetCatalog(repository=repository, storage=storage, signer=signer)
    yield made
    assert_verified(made, "the content-source matrix")


# -- the two facades ---------------------------------------------------------------------------

Call = Callable[[Any, Any], Any]
"""An ingest call on either facade: ``call(catalog_or_async_catalog, content)``."""


def upload(facade: Any, content: Any) -> Any:
    return facade.ingest_upload(TENANT, content, filename="data.csv", idempotency_key="req-1")


def container_file(facade: Any, content: Any) -> Any:
    return facade.ingest_container_file(
        TENANT, content, container_id="cntr-1", file_id="cfile-1", filename="/mnt/data/data.csv"
    )


def image(facade: Any, content: Any) -> Any:
    return facade.ingest_image(TENANT, content, tool_call_id="ig-1")


def ingest(catalog: AssetCatalog, facade: str, make: Callable[[], Any], call: Call = upload) -> Any:
    """Run ``call`` with the content ``make()`` builds, on the sync facade or awaited on an
    :class:`AsyncAssetCatalog` (the content is built inside the event loop)."""
    if facade == "sync":
        return call(catalog, make())

    async def main() -> Any:
        acatalog = AsyncAssetCatalog(catalog, max_workers=2)
        try:
            return await call(acatalog, make())
        finally:
            # Not aclose(): the repository belongs to the fixture.
            acatalog._executor.shutdown(wait=True)

    return asyncio.run(main())


# -- sources -----------------------------------------------------------------------------------


def pieces(data: bytes, count: int = 7) -> list[bytes]:
    """``data`` cut into ``count`` pieces (the last one shorter)."""
    size = max(1, -(-len(data) // count))
    return [data[i : i + size] for i in range(0, len(data), size)]


def strided(data: bytes) -> memoryview:
    """A non-contiguous view whose bytes are ``data`` (every other byte of a buffer)."""
    buffer = bytearray(2 * len(data))
    buffer[::2] = data
    return memoryview(buffer)[::2]


def strided_words(data: bytes) -> memoryview:
    """A non-contiguous view of 32-bit words whose bytes are ``data``."""
    words = memoryview(data).cast("I")
    buffer = array.array("I", bytes(8 * len(words)))
    view = memoryview(buffer)[::2]
    view[:] = words
    return view


class ShortReads(io.RawIOBase):
    """A blocking binary stream that returns at most ``most`` bytes per read (a socket)."""

    def __init__(self, data: bytes, most: int) -> None:
        self._data = io.BytesIO(data)
        self._most = most

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(self._most if size < 0 else min(size, self._most))


class NonBlockingRead(io.RawIOBase):
    """A non-blocking stream: ``read()`` returns None ("no data yet") before every piece."""

    def __init__(self, data: bytes, kind: type = bytes) -> None:
        self._pieces = pieces(data)
        self._ready = False
        self._kind = kind
        self.nones = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> Any:
        if not self._pieces:
            return b""
        if not self._ready:
            self._ready = True
            self.nones += 1
            return None
        self._ready = False
        return self._kind(self._pieces.pop(0))


class NonBlockingReadinto(io.RawIOBase):
    """A raw non-blocking stream with only ``readinto`` (``read`` is RawIOBase's): None
    before every piece, and each piece copied into the caller's buffer as far as it fits."""

    def __init__(self, data: bytes) -> None:
        self._pieces = pieces(data)
        self._ready = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        if not self._pieces:
            return 0
        if not self._ready:
            self._ready = True
            return None
        self._ready = False
        piece = self._pieces.pop(0)
        size = min(len(buffer), len(piece))
        buffer[:size] = piece[:size]
        if size < len(piece):
            self._pieces.insert(0, piece[size:])
        return size


class ViewReads(io.RawIOBase):
    """A stream whose reads are memoryviews and bytearrays, by turns."""

    def __init__(self, data: bytes) -> None:
        self._pieces = pieces(data)
        self._turn = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> Any:
        if not self._pieces:
            return memoryview(b"")
        self._turn += 1
        piece = self._pieces.pop(0)
        return memoryview(piece) if self._turn % 2 else bytearray(piece)


def reused_buffer(data: bytes) -> Iterator[bytearray]:
    """One bytearray, refilled for every chunk (as a ``readinto`` loop does): the catalog
    must copy each chunk before it asks for the next."""
    buffer = bytearray()
    for piece in pieces(data):
        buffer[:] = piece
        yield buffer
    buffer[:] = b"garbage!"


def with_empties(data: bytes) -> Iterator[bytes]:
    yield b""
    for piece in pieces(data):
        yield piece
        yield b""


class Context:
    """What some sources need: a directory for real files, and things to close after."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.opened: list[Any] = []
        self.threads: list[threading.Thread] = []

    def file(self, data: bytes, mode: str = "rb", **options: Any) -> Any:
        path = self.tmp_path / f"source-{len(self.opened)}.bin"
        path.write_bytes(data)
        handle = open(path, mode, **options)  # noqa: SIM115 - closed by close()
        self.opened.append(handle)
        return handle

    def pipe(self, data: bytes) -> Any:
        """The read end of a non-blocking pipe a thread writes ``data`` into, in pieces with
        pauses: ``read()`` returns None whenever the pipe is empty."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        reader = open(read_fd, "rb")  # noqa: SIM115 - closed by close()
        self.opened.append(reader)

        def write() -> None:
            with open(write_fd, "wb", buffering=0) as writer:
                for piece in pieces(data, 5):
                    time.sleep(0.002)
                    view = memoryview(piece)
                    while view:
                        view = view[writer.write(view) :]

        thread = threading.Thread(target=write, daemon=True)
        thread.start()
        self.threads.append(thread)
        return reader

    def close(self) -> None:
        for thread in self.threads:
            thread.join(5)
        for handle in self.opened:
            handle.close()


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    made = Context(tmp_path)
    yield made
    made.close()


Make = Callable[[bytes, Context], Any]

SYNC_SOURCES: dict[str, Make] = {
    "bytes": lambda d, _: d,
    "bytearray": lambda d, _: bytearray(d),
    "memoryview": lambda d, _: memoryview(d),
    "memoryview-slice": lambda d, _: memoryview(b"<<" + d + b">>")[2:-2],
    "memoryview-strided": lambda d, _: strided(d),
    "memoryview-2d": lambda d, _: memoryview(d).cast("B", (len(d) // 8, 8)),
    "memoryview-uint32": lambda d, _: memoryview(d).cast("I"),
    "memoryview-uint32-strided": lambda d, _: strided_words(d),
    "bytesio": lambda d, _: io.BytesIO(d),
    "file": lambda d, c: c.file(d),
    "file-unbuffered": lambda d, c: c.file(d, buffering=0),
    "short-reads": lambda d, _: ShortReads(d, max(1, len(d) // 9)),
    "one-byte-reads": lambda d, _: ShortReads(d, 1),
    "nonblocking-read": lambda d, _: NonBlockingRead(d),
    "nonblocking-readinto": lambda d, _: NonBlockingReadinto(d),
    "nonblocking-buffered": lambda d, _: io.BufferedReader(NonBlockingReadinto(d)),
    "nonblocking-pipe": lambda d, c: c.pipe(d),
    "view-reads": lambda d, _: ViewReads(d),
    "list": lambda d, _: pieces(d),
    "tuple-of-one": lambda d, _: (d,),
    "generator": lambda d, _: (p for p in pieces(d)),
    "empty-chunks-between": lambda d, _: with_empties(d),
    "memoryview-chunks": lambda d, _: [memoryview(p) for p in pieces(d)],
    "strided-memoryview-chunks": lambda d, _: [strided(p) for p in pieces(d)],
    "bytearray-chunks": lambda d, _: [bytearray(p) for p in pieces(d)],
    "reused-bytearray-chunks": lambda d, _: reused_buffer(d),
    "one-byte-chunks": lambda d, _: (d[i : i + 1] for i in range(len(d))),
}


async def agen(parts: list[Any]) -> AsyncIterator[Any]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


class AsyncChunks:
    """An async iterator that is not a generator (``__aiter__``/``__anext__``)."""

    def __init__(self, data: bytes) -> None:
        self._pieces = pieces(data)

    def __aiter__(self) -> AsyncChunks:
        return self

    async def __anext__(self) -> bytes:
        if not self._pieces:
            raise StopAsyncIteration
        await asyncio.sleep(0)
        return self._pieces.pop(0)


class AsyncReader:
    """An upload as web frameworks give it: ``await read(size)``. ``most`` caps each read;
    ``none_first`` returns None ("no data yet") before every piece; ``kinds`` are the types
    its reads return, by turns."""

    def __init__(
        self,
        data: bytes,
        most: int | None = None,
        *,
        none_first: bool = False,
        kinds: tuple[type, ...] = (bytes,),
    ) -> None:
        self._data = data
        self._most = most
        self._none_first = none_first
        self._ready = False
        self._kinds = kinds
        self.reads = 0

    async def read(self, size: int = -1) -> Any:
        await asyncio.sleep(0)
        if self._none_first and self._data and not self._ready:
            self._ready = True
            return None
        self._ready = False
        size = len(self._data) if size < 0 else size
        if self._most is not None:
            size = min(size, self._most)
        chunk, self._data = self._data[:size], self._data[size:]
        self.reads += 1
        return self._kinds[self.reads % len(self._kinds)](chunk)


ASYNC_SOURCES: dict[str, Make] = {
    "async-generator": lambda d, _: agen(pieces(d)),
    "async-generator-mixed": lambda d, _: agen(
        [
            b"",
            *[k(p) for k, p in zip([memoryview, bytearray, bytes] * 3, pieces(d), strict=False)],
            b"",
        ]
    ),
    "async-iterator-class": lambda d, _: AsyncChunks(d),
    "async-reader": lambda d, _: AsyncReader(d),
    "async-reader-short": lambda d, _: AsyncReader(d, max(1, len(d) // 9)),
    "async-reader-none": lambda d, _: AsyncReader(d, max(1, len(d) // 5), none_first=True),
    "async-reader-views": lambda d, _: AsyncReader(
        d, max(1, len(d) // 5), kinds=(memoryview, bytearray, bytes)
    ),
}


def matrix(cases: list[tuple[Any, bool]]) -> list[Any]:
    """Every case on every backend, except on S3 the cases marked as a sync source through
    the awaitable facade: that facade runs the same code in a worker thread, so those cases
    differ by the facade, not the storage (they run on memory and local files)."""
    return [
        pytest.param(
            backend.values[0],
            *case.values,
            id=f"{backend.id}-{case.id}",
            marks=[*backend.marks, *case.marks],
        )
        for backend in BACKENDS
        for case, facade_only in cases
        if not (facade_only and "s3" in str(backend.id))
    ]


GOOD = matrix(
    [
        *((pytest.param(name, make, facade, id=f"{name}-{facade}"), facade == "async")
          for name, make in SYNC_SOURCES.items() for facade in ("sync", "async")),
        *((pytest.param(name, make, "async", id=name), False)
          for name, make in ASYNC_SOURCES.items()),
    ]
)  # fmt: skip

BIG_KINDS = [
    "bytes",
    "memoryview-strided",
    "bytesio",
    "file",
    "short-reads",
    "nonblocking-read",
    "generator",
    "async-generator",
    "async-reader-short",
]


def _maker(name: str) -> Make:
    return {**SYNC_SOURCES, **ASYNC_SOURCES}[name]


def _facade(name: str) -> str:
    return "async" if name in ASYNC_SOURCES else "sync"


# -- checks ------------------------------------------------------------------------------------


def _blob(catalog: AssetCatalog, asset: Asset) -> bytes:
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    with catalog.storage.open(obj.key) as handle:
        data: bytes = handle.read()
    return data


def assert_published(catalog: AssetCatalog, before: Snapshot, asset: Asset, data: bytes) -> None:
    """``asset`` holds exactly ``data``, and the ingest added exactly its rows and blob."""
    digest = hashlib.sha256(data).hexdigest()
    assert (asset.size_bytes, asset.sha256) == (len(data), digest)
    new = added(before, snapshot(catalog))
    assert list(new.blobs.values()) == [data]
    assert [(r["status"], r["size_bytes"], r["sha256"]) for r in new.objects] == [
        ("stored", len(data), digest)
    ]
    assert [(r["id"], r["size_bytes"], r["sha256"]) for r in new.assets] == [
        (asset.id, len(data), digest)
    ]
    assert [(r["asset_id"], r["event"]) for r in new.events] == [(asset.id, "created")]
    assert _blob(catalog, asset) == data


def assert_left(before: Snapshot, after: Snapshot, leftover: str) -> None:
    """``nothing``: the catalog is byte for byte as it was. ``failed``: one new ``failed``
    object row, and nothing else (no blob, no path, no asset, no event)."""
    if leftover == "nothing":
        assert after == before, f"a refused source changed the catalog: {added(before, after)}"
        return
    new = added(before, after)
    assert (new.blobs, new.paths, new.assets, new.events) == ({}, (), [], [])
    assert [r["status"] for r in new.objects] == ["failed"]


# -- good sources ------------------------------------------------------------------------------


class TestEverySource:
    """Every kind of source publishes exactly its bytes, on every storage."""

    @pytest.mark.parametrize(("catalog", "name", "make", "facade"), GOOD, indirect=["catalog"])
    def test_small(
        self, catalog: AssetCatalog, ctx: Context, name: str, make: Make, facade: str
    ) -> None:
        """About 5 KB through each source kind: size, sha256 and the blob's bytes exact."""
        before = snapshot(catalog)
        asset = ingest(catalog, facade, lambda: make(SMALL, ctx))
        assert asset.mime_type == "text/csv"
        assert_published(catalog, before, asset, SMALL)

    @pytest.mark.parametrize("name", BIG_KINDS)
    def test_larger_than_a_chunk(self, catalog: AssetCatalog, ctx: Context, name: str) -> None:
        """More than two 1 MiB chunks, read back through a download URL: the catalog's own
        token (open_signed) or, on S3, the storage's native presigned URL."""
        before = snapshot(catalog)
        make = _maker(name)
        asset = ingest(catalog, _facade(name), lambda: make(BIG, ctx))
        assert_published(catalog, before, asset, BIG)
        url = catalog.presign(TENANT, asset.id)
        if url.kind == "native":
            with urllib.request.urlopen(url.url, timeout=10) as response:
                body = response.read()
        else:
            with catalog.open_signed(url.token).stream as stream:
                body = stream.read()
        assert body == BIG

    @pytest.mark.parametrize(
        ("name", "size"),
        [
            *((name, "small") for name in ["bytes", "bytesio", "generator", "async-generator"]),
            ("bytes", "big"),
            ("async-reader-short", "big"),
        ],
    )
    @pytest.mark.parametrize("call", [image, container_file, upload])
    def test_every_ingest_call(
        self, catalog: AssetCatalog, ctx: Context, call: Call, name: str, size: str
    ) -> None:
        """ingest_image, ingest_container_file and ingest_upload read sources alike; a retry
        with the same idempotency key returns the asset without reading its source at all."""
        data = {
            (image, "small"): SMALL_IMAGE,
            (image, "big"): BIG_IMAGE,
        }.get((call, size), SMALL if size == "small" else BIG)
        make = _maker(name)
        before = snapshot(catalog)
        asset = ingest(catalog, _facade(name), lambda: make(data, ctx), call)
        assert_published(catalog, before, asset, data)
        if call is image:
            assert (asset.asset_type, asset.width, asset.height) == ("image", 6, 5)
        after = snapshot(catalog)
        touched: list[str] = []

        def untouchable() -> Iterator[bytes]:
            touched.append("read")
            raise AssertionError("a known key's source is not read")
            yield b""

        again = ingest(catalog, _facade(name), untouchable, call)
        assert again == asset
        assert touched == []
        assert snapshot(catalog) == after


# -- bad sources -------------------------------------------------------------------------------


class SourceBroke(Exception):
    """The source's own failure (a connection reset, a disk error): it propagates as it is."""


HEAD = b"h" * (SNIFF_BYTES + 1000)
"""More than the sniffed head: whatever follows is found after the pending row."""


def broken(after: list[bytes]) -> Iterator[bytes]:
    yield from after
    raise SourceBroke("the source failed")


async def abroken(after: list[bytes]) -> AsyncIterator[bytes]:
    for part in after:
        yield part
    raise SourceBroke("the source failed")


class BrokenStream(io.RawIOBase):
    """Reads ``parts`` in turn; then fails (``SourceBroke``), or returns ``then`` for ever."""

    def __init__(self, parts: list[Any], then: Any = SourceBroke) -> None:
        self._parts = list(parts)
        self._then = then

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> Any:
        if self._parts:
            return self._parts.pop(0)
        if self._then is SourceBroke:
            raise SourceBroke("the stream failed")
        return self._then


class AsyncBrokenReader:
    """``await read()`` gives ``parts`` in turn, then fails or returns ``then`` for ever."""

    def __init__(self, parts: list[Any], then: Any = SourceBroke) -> None:
        self._parts = list(parts)
        self._then = then

    async def read(self, size: int = -1) -> Any:
        await asyncio.sleep(0)
        if self._parts:
            return self._parts.pop(0)
        if self._then is SourceBroke:
            raise SourceBroke("the reader failed")
        return self._then


def released() -> memoryview:
    view = memoryview(b"a,b\n1,2\n")
    view.release()
    return view


def empty_generator() -> Iterator[bytes]:
    yield from ()


BadMake = Callable[[Context], Any]

# (name, make, error, leftover, facades)
BAD_SOURCES: list[tuple[str, BadMake, type[BaseException], str, tuple[str, ...]]] = [
    # Refused up front: nothing written.
    ("str", lambda _: "a,b\n1,2\n", InvalidInput, "nothing", ("sync", "async")),
    ("int", lambda _: 42, InvalidInput, "nothing", ("sync", "async")),
    ("none", lambda _: None, InvalidInput, "nothing", ("sync", "async")),
    ("object", lambda _: object(), InvalidInput, "nothing", ("sync", "async")),
    ("array-of-ints", lambda _: array.array("B", b"a,b\n"), InvalidInput, "nothing", ("sync",)),
    ("released-memoryview", lambda _: released(), InvalidInput, "nothing", ("sync", "async")),
    ("async-generator-on-sync", lambda _: agen([b"a,b\n"]), InvalidInput, "nothing", ("sync",)),
    ("async-reader-on-sync", lambda _: AsyncReader(b"a,b\n"), InvalidInput, "nothing", ("sync",)),
    # Empty: InvalidContent, nothing written.
    ("empty-bytes", lambda _: b"", InvalidContent, "nothing", ("sync", "async")),
    ("empty-bytearray", lambda _: bytearray(), InvalidContent, "nothing", ("sync",)),
    ("empty-memoryview", lambda _: memoryview(b""), InvalidContent, "nothing", ("sync",)),
    ("empty-slice", lambda _: memoryview(b"abc")[3:], InvalidContent, "nothing", ("sync",)),
    ("empty-bytesio", lambda _: io.BytesIO(), InvalidContent, "nothing", ("sync", "async")),
    ("empty-file", lambda c: c.file(b""), InvalidContent, "nothing", ("sync",)),
    (
        "nonblocking-then-empty",
        lambda _: BrokenStream([None, None], then=b""),
        InvalidContent,
        "nothing",
        ("sync",),
    ),
    ("empty-list", lambda _: [], InvalidContent, "nothing", ("sync", "async")),
    (
        "only-empty-chunks",
        lambda _: [b"", bytearray(), memoryview(b"")],
        InvalidContent,
        "nothing",
        ("sync",),
    ),
    ("empty-generator", lambda _: empty_generator(), InvalidContent, "nothing", ("sync",)),
    ("empty-async-generator", lambda _: agen([]), InvalidContent, "nothing", ("async",)),
    ("empty-async-reader", lambda _: AsyncReader(b""), InvalidContent, "nothing", ("async",)),
    # Text instead of bytes, in the head: nothing written.
    ("text-stringio", lambda _: io.StringIO("a,b\n"), InvalidInput, "nothing", ("sync", "async")),
    ("text-file", lambda c: c.file(b"a,b\n", "r"), InvalidInput, "nothing", ("sync", "async")),
    (
        "str-chunk-in-head",
        lambda _: [b"a,b\n", "1,2\n"],
        InvalidInput,
        "nothing",
        ("sync", "async"),
    ),
    ("int-chunk", lambda _: [b"a,b\n", 12], InvalidInput, "nothing", ("sync",)),
    ("none-chunk", lambda _: [None], InvalidInput, "nothing", ("sync",)),
    ("released-chunk", lambda _: [b"a,b\n", released()], InvalidInput, "nothing", ("sync",)),
    (
        "async-str-chunk",
        lambda _: agen([b"a,b\n", "1,2\n"]),
        InvalidInput,
        "nothing",
        ("async",),
    ),
    (
        "async-text-reader",
        lambda _: AsyncBrokenReader(["a,b\n"], then=""),
        InvalidInput,
        "nothing",
        ("async",),
    ),
    # The source fails within the head: its own error, nothing written.
    ("raises-in-head", lambda _: broken([b"a,b\n"]), SourceBroke, "nothing", ("sync", "async")),
    (
        "stream-raises-in-head",
        lambda _: BrokenStream([b"a,b\n"]),
        SourceBroke,
        "nothing",
        ("sync",),
    ),
    ("async-raises-in-head", lambda _: abroken([b"a,b\n"]), SourceBroke, "nothing", ("async",)),
    # Found after the pending row: one failed object row, nothing else.
    (
        "str-chunk-after-head",
        lambda _: [HEAD, b"x", "text"],
        InvalidInput,
        "failed",
        ("sync", "async"),
    ),
    (
        "stream-text-after-head",
        lambda _: BrokenStream([HEAD], then="text"),
        InvalidInput,
        "failed",
        ("sync", "async"),
    ),
    (
        "released-chunk-after-head",
        lambda _: [HEAD, released()],
        InvalidInput,
        "failed",
        ("sync",),
    ),
    (
        "raises-after-head",
        lambda _: broken([HEAD, b"x"]),
        SourceBroke,
        "failed",
        ("sync", "async"),
    ),
    (
        "stream-raises-after-head",
        lambda _: BrokenStream([HEAD]),
        SourceBroke,
        "failed",
        ("sync", "async"),
    ),
    (
        "async-raises-after-head",
        lambda _: abroken([HEAD, b"x"]),
        SourceBroke,
        "failed",
        ("async",),
    ),
    (
        "async-reader-raises-after-head",
        lambda _: AsyncBrokenReader([HEAD]),
        SourceBroke,
        "failed",
        ("async",),
    ),
    (
        "async-str-chunk-after-head",
        lambda _: agen([HEAD, "text"]),
        InvalidInput,
        "failed",
        ("async",),
    ),
    (
        "stream-stalls-after-head",
        lambda _: BrokenStream([HEAD], then=None),
        InvalidInput,
        "failed",
        ("sync", "async"),
    ),
    (
        "async-reader-stalls-after-head",
        lambda _: AsyncBrokenReader([HEAD], then=None),
        InvalidInput,
        "failed",
        ("async",),
    ),
]

BAD = matrix(
    [
        (
            pytest.param(make, error, leftover, facade, id=f"{name}-{facade}"),
            facade == "async" and "sync" in facades,
        )
        for name, make, error, leftover, facades in BAD_SOURCES
        for facade in facades
    ]
)


class TestBadSources:
    """A bad source is refused with its documented error, and leaves exactly what the
    reliability guarantees admit."""

    @pytest.mark.parametrize(
        ("catalog", "make", "error", "leftover", "facade"), BAD, indirect=["catalog"]
    )
    def test_refused(
        self,
        catalog: AssetCatalog,
        ctx: Context,
        monkeypatch: pytest.MonkeyPatch,
        make: BadMake,
        error: type[BaseException],
        leftover: str,
        facade: str,
    ) -> None:
        """The exact error (naming ``content`` if it is the catalog's) and the exact
        leftovers: nothing, or one failed object row."""
        from asset_catalog import _inputs

        monkeypatch.setattr(_inputs, "NOT_READY_WAIT", 0.05)  # a stalled stream fails fast
        before = snapshot(catalog)
        with pytest.raises(BaseException) as info:  # checked exactly below
            ingest(catalog, facade, lambda: make(ctx))
        assert type(info.value) is error, repr(info.value)
        if issubclass(error, AssetCatalogError):
            assert isinstance(info.value, InvalidInput)
            assert info.value.field == "content"
        assert_left(before, snapshot(catalog), leftover)
        # The idempotency key is free: the retry publishes.
        asset = ingest(catalog, facade, lambda: SMALL)
        assert asset.size_bytes == len(SMALL)

    @pytest.mark.parametrize(
        ("kind", "facade"),
        [("bytes", "sync"), ("chunks", "sync"), ("chunks", "async"), ("async-chunks", "async")],
    )
    def test_over_the_limit(
        self, catalog: AssetCatalog, signer: UrlSigner, kind: str, facade: str
    ) -> None:
        """``max_bytes`` is checked as the content flows: a known length is refused before
        the pending row, a stream of unknown length when it runs over (one failed row)."""
        limit = len(HEAD)
        small = AssetCatalog(
            repository=catalog.repository, storage=catalog.storage, signer=signer, max_bytes=limit
        )
        data = HEAD + b"x"
        make: Callable[[], Any] = {
            "bytes": lambda: data,
            "chunks": lambda: iter([HEAD, b"x"]),  # over the limit after the head
            "async-chunks": lambda: agen([HEAD, b"x"]),
        }[kind]
        before = snapshot(small)
        with pytest.raises(PayloadTooLarge) as info:
            ingest(small, facade, make)
        assert (info.value.field, info.value.limit) == ("content", limit)
        assert_left(before, snapshot(small), "nothing" if kind == "bytes" else "failed")
        exact = ingest(small, facade, lambda: data[:-1], container_file)
        assert exact.size_bytes == limit


class TestDefectsFixed:
    """Defects this matrix found, each pinned by its own case."""

    def test_an_async_reader_saying_none_mid_stream_is_not_the_end(
        self, local_catalog: AssetCatalog
    ) -> None:
        """``await read()`` returning None after the head used to end the content: the asset
        was published truncated. None now means "no data yet", as for a sync stream."""

        class Pausing:
            def __init__(self) -> None:
                self._reads: list[bytes | None] = [HEAD, None, None, b"tail", b""]

            async def read(self, size: int = -1) -> bytes | None:
                return self._reads.pop(0)

        asset = ingest(local_catalog, "async", Pausing)
        assert asset.size_bytes == len(HEAD) + 4
        assert _blob(local_catalog, asset) == HEAD + b"tail"

    @pytest.mark.parametrize("where", ["content", "chunk", "stream"])
    def test_a_released_memoryview_is_invalid_input(
        self, local_catalog: AssetCatalog, where: str
    ) -> None:
        """A released memoryview used to escape as ValueError; it is InvalidInput naming the
        content, with nothing written."""
        make = {
            "content": released,
            "chunk": lambda: [released()],
            "stream": lambda: BrokenStream([released()]),
        }[where]
        before = snapshot(local_catalog)
        with pytest.raises(InvalidInput, match="released memoryview") as info:
            ingest(local_catalog, "sync", make)
        assert info.value.field == "content"
        assert snapshot(local_catalog) == before

    def test_an_async_source_on_the_sync_facade_is_refused_before_any_read(
        self, local_catalog: AssetCatalog
    ) -> None:
        """An async reader given to the sync catalog used to be called, leaving a coroutine
        never awaited (a RuntimeWarning) behind a misleading "binary mode" error; async
        sources are refused by name, and nothing is called."""

        class Reader:
            calls = 0

            async def read(self, size: int = -1) -> bytes:
                Reader.calls += 1
                return b""

        with pytest.raises(InvalidInput, match="AsyncAssetCatalog"):
            upload(local_catalog, Reader())
        assert Reader.calls == 0
