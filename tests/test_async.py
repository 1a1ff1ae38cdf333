"""AsyncAssetCatalog: every call awaitable, the same steps as the sync catalog, async content,
cancellation that leaves nothing behind."""

from __future__ import annotations

import asyncio
import base64
import inspect
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from asset_catalog import (
    AssetCatalog,
    AssetNotFound,
    AsyncAssetCatalog,
    InvalidContent,
    InvalidInput,
    ObjectStatus,
    open_async_catalog,
)

from .images import png_bytes

T = TypeVar("T")
FAR = 10**9
PUBLIC = sorted(
    name
    for name, value in vars(AssetCatalog).items()
    if not name.startswith("_") and callable(value) and name != "close"
)


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


class AsyncReader:
    """An upload as web frameworks give it: ``await read(size)``."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.reads = 0

    async def read(self, size: int = -1) -> bytes:
        self.reads += 1
        size = len(self._data) if size < 0 else size
        chunk, self._data = self._data[:size], self._data[size:]
        return chunk


@pytest.fixture
def acatalog(catalog: AssetCatalog) -> AsyncAssetCatalog:
    """The awaitable facade over every repository x storage combination (not closed: the
    sync catalog's repository belongs to the fixture)."""
    return AsyncAssetCatalog(catalog)


class TestSurface:
    """The awaitable facade offers every call of the sync one, with the same arguments."""

    @pytest.mark.parametrize("name", PUBLIC)
    def test_every_call_has_an_awaitable_twin(self, name: str) -> None:
        """Same name, same signature, and a coroutine function."""
        twin = getattr(AsyncAssetCatalog, name)
        assert inspect.iscoroutinefunction(twin)
        assert inspect.signature(twin) == inspect.signature(getattr(AssetCatalog, name))

    def test_open_async_catalog_takes_open_catalogs_arguments(self) -> None:
        """open_async_catalog has open_catalog's signature."""
        from asset_catalog import open_catalog

        assert inspect.signature(open_async_catalog) == inspect.signature(open_catalog)

    def test_bad_construction_is_invalid_input(self, catalog: AssetCatalog) -> None:
        """A non-catalog or a worker count below 1 is refused, naming the argument."""
        with pytest.raises(InvalidInput, match="catalog"):
            AsyncAssetCatalog(object())  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="max_workers"):
            AsyncAssetCatalog(catalog, max_workers=0)


class TestCalls:
    """Awaited calls give what the sync calls give."""

    def test_ingest_list_presign_download_delete(self, acatalog: AsyncAssetCatalog) -> None:
        """The walkthrough of the sync catalog, awaited."""

        async def walk() -> None:
            image = await acatalog.ingest_image(
                "t1", base64.b64encode(png_bytes(4, 3)).decode(), tool_call_id="ig_1"
            )
            assert (image.width, image.height) == (4, 3)
            assert await acatalog.find("t1", tool_call_id="ig_1") == image
            doc = await acatalog.ingest_container_file(
                "t1", chunks(b"a,b\n", b"1,2\n"), container_id="c", file_id="f", filename="x.csv"
            )
            assert (doc.mime_type, doc.size_bytes) == ("text/csv", 8)
            assert await acatalog.link_message("t1", "m1", asset_ids=[image.id, doc.id]) == 2
            page = await acatalog.list("t1")
            assert [a.id for a in page.items] == [doc.id, image.id]
            url = await acatalog.presign("t1", doc.id)
            download = await acatalog.open_signed(url.token)
            body = b"".join([c async for c in acatalog.aiter_bytes(download.stream, 3)])
            assert body == b"a,b\n1,2\n"
            assert await acatalog.delete("t1", doc.id) is True
            with pytest.raises(AssetNotFound):
                await acatalog.get("t1", doc.id)
            kinds = [e.event for e in await acatalog.events("t1", doc.id)]
            assert kinds == ["created", "linked", "url_issued", "downloaded", "deleted"]
            assert (await acatalog.verify()).ok

        run(walk)

    def test_aiter_bytes_closes_the_stream_even_when_stopped_early(
        self, acatalog: AsyncAssetCatalog
    ) -> None:
        """The stream is closed at the end and when the consumer stops after one chunk."""

        async def main() -> None:
            whole = io.BytesIO(b"abcdef")
            assert b"".join([c async for c in acatalog.aiter_bytes(whole, 2)]) == b"abcdef"
            assert whole.closed
            early = io.BytesIO(b"abcdef")
            chunks_seen = acatalog.aiter_bytes(early, 2)
            assert await anext(chunks_seen) == b"ab"
            await chunks_seen.aclose()
            assert early.closed

        run(main)

    def test_an_async_reader_streams_through(self, acatalog: AsyncAssetCatalog) -> None:
        """An object with an async read() (an upload) is read chunk by chunk."""
        data = b"x,y\n" * 400_000  # 1.6 MB: more than one read
        reader = AsyncReader(data)
        asset = run(lambda: acatalog.ingest_upload("t1", reader, filename="big.csv"))
        assert asset.size_bytes == len(data)
        assert reader.reads >= 3

    def test_errors_are_the_sync_catalogs(self, acatalog: AsyncAssetCatalog) -> None:
        """A refused call raises the same typed error, and writes nothing."""
        with pytest.raises(InvalidContent) as info:
            run(lambda: acatalog.ingest_image("t1", chunks(b"not an image at all")))
        assert info.value.field == "image"
        with pytest.raises(InvalidInput) as bad:
            run(lambda: acatalog.list("t1", limit=0))
        assert bad.value.field == "limit"
        assert acatalog.sync.repository.objects_in_status(ObjectStatus.PENDING, _far(), 10) == []

    def test_a_failing_async_source_leaves_nothing(self, acatalog: AsyncAssetCatalog) -> None:
        """A source that fails halfway (a provider download cut off) is a failed ingest:
        no asset, no blob, no pending row; the retry succeeds."""

        async def broken() -> AsyncIterator[bytes]:
            yield b"a,b\n" * 100_000
            raise ConnectionResetError("peer went away")

        with pytest.raises(ConnectionResetError):
            run(
                lambda: acatalog.ingest_container_file(
                    "t1", broken(), container_id="c", file_id="f", filename="x.csv"
                )
            )
        _assert_clean(acatalog.sync)
        retried = run(
            lambda: acatalog.ingest_container_file(
                "t1", chunks(b"a,b\n"), container_id="c", file_id="f", filename="x.csv"
            )
        )
        assert retried.size_bytes == 4

    def test_the_loop_runs_while_a_call_works(self, acatalog: AsyncAssetCatalog) -> None:
        """Other coroutines run between the chunks of a long ingest (nothing blocks)."""
        ticks: list[int] = []

        async def ticker(stop: asyncio.Event) -> None:
            while not stop.is_set():
                ticks.append(1)
                await asyncio.sleep(0)

        async def main() -> int:
            stop = asyncio.Event()
            task = asyncio.create_task(ticker(stop))
            parts = [b"a,b\n" * 16_384] * 64
            seen_during: list[int] = []

            async def source() -> AsyncIterator[bytes]:
                for part in parts:
                    seen_during.append(len(ticks))
                    yield part

            await acatalog.ingest_upload("t1", source(), filename="x.csv")
            stop.set()
            await task
            return seen_during[-1] - seen_during[0]

        assert run(main) > 0


class TestCancellation:
    """A cancelled call cleans up before it reports the cancellation."""

    def test_cancelled_mid_stream_leaves_nothing_and_the_retry_works(
        self, acatalog: AsyncAssetCatalog
    ) -> None:
        """Cancel while the source waits for its next chunk: CancelledError, no asset, no
        blob, no pending row (verify and reconcile find nothing); then the retry ingests."""

        async def main() -> None:
            started, never = asyncio.Event(), asyncio.Event()

            async def stalled() -> AsyncIterator[bytes]:
                yield b"a,b\n" * 70_000  # past the sniffed head: the pending row exists
                started.set()
                await never.wait()
                yield b"never"

            task = asyncio.create_task(
                acatalog.ingest_container_file(
                    "t1", stalled(), container_id="c", file_id="f", filename="x.csv"
                )
            )
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        run(main)
        _assert_clean(acatalog.sync)
        # The pending row had been written, and the cancelled ingest marked it failed itself.
        failed = acatalog.sync.repository.objects_in_status(ObjectStatus.FAILED, _far(), 10)
        assert len(failed) == 1
        assert acatalog.sync.reconcile(older_than=_zero()).pending_failed == 0
        retried = run(
            lambda: acatalog.ingest_container_file(
                "t1", chunks(b"a,b\n"), container_id="c", file_id="f", filename="x.csv"
            )
        )
        assert retried.size_bytes == 4


class TestOpen:
    """open_async_catalog builds the catalog without blocking the loop."""

    def test_open_ingest_close(self, tmp_path: Path) -> None:
        """Open, ingest, close; async with closes too."""

        async def main() -> None:
            catalog = await open_async_catalog(
                f"sqlite:///{tmp_path / 'a.db'}",
                f"file://{tmp_path / 'blobs'}",
                secret="a-long-random-secret-for-tests",
            )
            async with catalog:
                asset = await catalog.ingest_image("t", png_bytes(2, 2), tool_call_id="c")
                assert (await catalog.get("t", asset.id)).id == asset.id

        run(main)


def _far() -> Any:
    import datetime as dt

    return dt.datetime(2999, 1, 1, tzinfo=dt.UTC)


def _zero() -> Any:
    import datetime as dt

    return dt.timedelta(0)


def _assert_clean(catalog: AssetCatalog) -> None:
    """No pending or stored object, no blob, verify clean."""
    repo = catalog.repository
    assert repo.objects_in_status(ObjectStatus.PENDING, _far(), 10) == []
    assert repo.objects_in_status(ObjectStatus.STORED, _far(), 10) == []
    assert list(catalog.storage.iter_keys()) == []
    assert catalog.verify().ok
