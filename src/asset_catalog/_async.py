"""The awaitable facade: every call of :class:`AssetCatalog`, run off the event loop.

There is no second copy of any step. Each call of :class:`AsyncAssetCatalog` runs the very
same call of the sync catalog in a worker thread, so the protocols (ingest, delete, the life
cycle) are written once. What is async about it:

* the event loop never waits on the database, the storage or a long CPU step: the worker
  thread does, and the catalog's own CPU steps are cut short (base64 is decoded 256 KiB at a
  time, sha256 releases the GIL), so the loop stays responsive;
* content may be an async iterator of bytes, or an object with an async ``read`` (an upload
  of a web framework): the worker pulls each chunk from the event loop, one at a time, so a
  large upload or a provider download streams through without being held whole;
* a cancelled call stops pulling content, lets the protocol clean up (the pending row and the
  partial blob go, exactly as for any failed ingest), and only then raises
  :class:`asyncio.CancelledError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Coroutine, Iterator
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

from ._catalog import AssetCatalog
from ._inputs import CHUNK
from ._open import open_catalog
from .exceptions import InvalidInput

__all__ = ["AsyncAssetCatalog", "open_async_catalog"]

P = ParamSpec("P")
R = TypeVar("R")


class _Pull:
    """A sync iterator, for the worker thread, over an async source on the event loop.

    Each ``next()`` schedules one ``__anext__`` on the loop and waits for it; nothing is read
    ahead. :meth:`cancel` makes the next pull (and the one in flight) raise
    :class:`asyncio.CancelledError`, so the protocol running in the worker cleans up.
    """

    def __init__(self, source: AsyncIterator[Any], loop: asyncio.AbstractEventLoop) -> None:
        self._source = source
        self._loop = loop
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._pending: concurrent.futures.Future[Any] | None = None
        self.finished = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        with self._lock:
            if self._cancelled.is_set():
                raise asyncio.CancelledError("the awaiting call was cancelled")
            self._pending = asyncio.run_coroutine_threadsafe(self._next(), self._loop)
            pending = self._pending
        try:
            return pending.result()
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError("the awaiting call was cancelled") from None
        except StopAsyncIteration:
            self.finished = True
            raise StopIteration from None

    async def _next(self) -> Any:
        return await self._source.__anext__()

    def cancel(self) -> None:
        with self._lock:
            self._cancelled.set()
            if self._pending is not None:
                self._pending.cancel()

    async def close(self) -> None:
        """Close the source if it is an async generator left half-read."""
        close = getattr(self._source, "aclose", None)
        if not self.finished and close is not None:
            await close()


async def _read_chunks(reader: Any) -> AsyncIterator[bytes]:
    """Chunks of an object with an async ``read(size)`` (a web framework's upload)."""
    while True:
        chunk = await reader.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _async_source(value: object) -> AsyncIterator[Any] | None:
    """An async iterator for content given as one, else None (sync content passes as is)."""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return None
    if isinstance(value, AsyncIterable):
        return aiter(value)
    read = getattr(value, "read", None)
    if read is not None and inspect.iscoroutinefunction(read):
        return _read_chunks(value)
    return None


def _awaitable(
    method: Callable[Concatenate[AssetCatalog, P], R],
) -> Callable[Concatenate[AsyncAssetCatalog, P], Coroutine[Any, Any, R]]:
    """The awaitable twin of one call of the sync facade: same arguments, same result."""

    @functools.wraps(method)
    async def call(self: AsyncAssetCatalog, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await self._run(method, args, kwargs)

    return call


class AsyncAssetCatalog:
    """Every call of :class:`AssetCatalog`, awaitable, for async web frameworks and agent
    runs. Build one with :func:`open_async_catalog`, or wrap a catalog you have::

        catalog = AsyncAssetCatalog(open_catalog("sqlite:///assets.db", "file://./blobs",
                                                 secret=SECRET))
        asset = await catalog.ingest_image("tenant-a", b64_png, tool_call_id="ig_1")

    Arguments, results and errors are exactly the sync catalog's; content may also be an
    async iterator of bytes or an object with an async ``read``. Calls run in a pool of
    ``max_workers`` threads of this catalog's own (8 by default: more concurrent calls than
    that wait their turn instead of crowding the database's connection pool);
    ``verify(progress=...)`` calls ``progress`` from a worker thread. Close it with
    ``await catalog.aclose()`` or ``async with``.
    """

    def __init__(self, catalog: AssetCatalog, *, max_workers: int = 8) -> None:
        if not isinstance(catalog, AssetCatalog):
            raise InvalidInput("catalog", f"must be an AssetCatalog, not {type(catalog).__name__}")
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise InvalidInput("max_workers", "must be a whole number, 1 or more")
        self._catalog = catalog
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=max_workers, thread_name_prefix="asset-catalog"
        )

    @property
    def sync(self) -> AssetCatalog:
        """The sync catalog every call runs on (its repository, storage, clock ...)."""
        return self._catalog

    async def aclose(self) -> None:
        """Wait for running calls, stop the worker threads and release the connections."""
        await asyncio.get_running_loop().run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        self._catalog.close()

    async def __aenter__(self) -> AsyncAssetCatalog:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def _run(
        self, method: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> R:
        loop = asyncio.get_running_loop()
        pulls: list[_Pull] = []

        def bridged(value: Any) -> Any:
            source = _async_source(value)
            if source is None:
                return value
            pull = _Pull(source, loop)
            pulls.append(pull)
            return pull

        args = tuple(bridged(a) for a in args)
        kwargs = {name: bridged(value) for name, value in kwargs.items()}
        work = loop.run_in_executor(
            self._executor, functools.partial(method, self._catalog, *args, **kwargs)
        )
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            # Stop feeding the worker, let the protocol clean up, then report the cancel.
            for pull in pulls:
                pull.cancel()
            await asyncio.wait([work])
            raise
        finally:
            for pull in pulls:
                await pull.close()

    async def aiter_bytes(self, stream: IO[bytes], chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """The bytes of a stream (``open_signed``'s), read in the worker threads; the stream
        is closed at the end, or when the iteration stops early."""
        loop = asyncio.get_running_loop()
        try:
            while chunk := await loop.run_in_executor(self._executor, stream.read, chunk_size):
                yield chunk
        finally:
            await loop.run_in_executor(self._executor, stream.close)

    ingest_image = _awaitable(AssetCatalog.ingest_image)
    ingest_container_file = _awaitable(AssetCatalog.ingest_container_file)
    ingest_upload = _awaitable(AssetCatalog.ingest_upload)
    link_message = _awaitable(AssetCatalog.link_message)
    get = _awaitable(AssetCatalog.get)
    list = _awaitable(AssetCatalog.list)
    events = _awaitable(AssetCatalog.events)
    find = _awaitable(AssetCatalog.find)
    delete = _awaitable(AssetCatalog.delete)
    delete_conversation = _awaitable(AssetCatalog.delete_conversation)
    presign = _awaitable(AssetCatalog.presign)
    presign_many = _awaitable(AssetCatalog.presign_many)
    open_signed = _awaitable(AssetCatalog.open_signed)
    reconcile = _awaitable(AssetCatalog.reconcile)
    verify = _awaitable(AssetCatalog.verify)
    purge = _awaitable(AssetCatalog.purge)


def _opening(
    opener: Callable[P, AssetCatalog],
) -> Callable[P, Coroutine[Any, Any, AsyncAssetCatalog]]:
    async def open_async(*args: P.args, **kwargs: P.kwargs) -> AsyncAssetCatalog:
        catalog = await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(opener, *args, **kwargs)
        )
        return AsyncAssetCatalog(catalog)

    open_async.__wrapped__ = opener  # type: ignore[attr-defined] # inspect.signature shows its
    return open_async


open_async_catalog = _opening(open_catalog)
open_async_catalog.__name__ = open_async_catalog.__qualname__ = "open_async_catalog"
open_async_catalog.__doc__ = """Build an :class:`AsyncAssetCatalog` from URLs, without blocking
the event loop (the schema is created in a worker thread). Same arguments as
:func:`open_catalog`::

    catalog = await open_async_catalog("sqlite:///assets.db", "file://./asset-blobs",
                                       secret=SECRET)
"""
