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
* a cancelled call stops pulling content (the pull in flight is cancelled, and a source
  that cleans up on cancellation finishes doing so), lets the protocol clean up (the pending
  row and the partial blob go, exactly as for any failed ingest), and only then raises
  :class:`asyncio.CancelledError` -- however often it is cancelled meanwhile. An ingest
  whose worker had already pulled the end of its content publishes: the asset is complete,
  and a retry with the same idempotency key returns it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import inspect
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
)
from typing import IO, Any, Concatenate, ParamSpec, TypeVar

from ._catalog import AssetCatalog
from ._inputs import CHUNK
from ._open import open_catalog
from .exceptions import InvalidInput

__all__ = ["AsyncAssetCatalog", "LoopBridge", "open_async_catalog"]

P = ParamSpec("P")
R = TypeVar("R")


class LoopBridge:
    """What code in a worker thread needs of the event loop that awaits it: pull an async
    iterator chunk by chunk (:meth:`pull`), or await one coroutine (:meth:`call`).

    Nothing is read ahead. :meth:`cancel` (the awaiting call was cancelled) cancels the wait
    in flight on the loop and refuses every later one: the worker's wait raises
    :class:`asyncio.CancelledError` once the awaitable in flight has stopped (a source that
    cleans up on cancellation has finished doing so), and the protocol running in the
    worker then cleans up as after any failure.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._cancelled = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sources: list[_Source] = []

    def call(self, awaitable: Awaitable[R], *, always: bool = False) -> R:
        """Await ``awaitable`` on the loop from the worker thread, and return its result.

        ``always``: run it even after a cancellation, and let no cancellation stop it (for
        clean-up, such as closing a download).
        """
        if always:
            return asyncio.run_coroutine_threadsafe(_await(awaitable), self._loop).result()
        outcome: concurrent.futures.Future[R] = concurrent.futures.Future()
        with self._lock:
            if self._cancelled:
                _discard(awaitable)
                raise asyncio.CancelledError("the awaiting call was cancelled")
            self._loop.call_soon_threadsafe(self._start, awaitable, outcome)
        try:
            return outcome.result()
        except concurrent.futures.CancelledError:
            raise asyncio.CancelledError("the awaiting call was cancelled") from None

    def _start(self, awaitable: Awaitable[R], outcome: concurrent.futures.Future[R]) -> None:
        """On the loop: run one awaitable of :meth:`call` as a task this bridge can cancel."""
        with self._lock:
            if self._cancelled:  # cancelled after call() scheduled this: never start it
                _discard(awaitable)
                outcome.cancel()
                return
            task = self._loop.create_task(_await(awaitable))
            self._tasks.add(task)
        task.add_done_callback(functools.partial(self._finished, outcome))

    def _finished(self, outcome: concurrent.futures.Future[Any], task: asyncio.Task[Any]) -> None:
        """On the loop: hand a finished task's outcome to the waiting worker."""
        with self._lock:
            self._tasks.discard(task)
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            if task.cancelled():
                outcome.cancel()
            elif (error := task.exception()) is not None:
                outcome.set_exception(error)
            else:
                outcome.set_result(task.result())

    def pull(self, source: AsyncIterator[Any]) -> Iterator[Any]:
        """A sync iterator over ``source``, for the worker thread."""
        wrapped = _Source(self, source)
        self._sources.append(wrapped)
        return wrapped

    def cancel(self) -> None:
        """Cancel the wait in flight and refuse every later one (from any thread)."""
        with self._lock:
            self._cancelled = True
            tasks = list(self._tasks)
        for task in tasks:
            self._loop.call_soon_threadsafe(task.cancel)

    async def aclose(self) -> None:
        """Close the async generators left half-read (on the loop, where they live), once
        every wait in flight has finished. A cancellation meanwhile does not stop it: it is
        raised when the sources are closed."""
        closing = asyncio.ensure_future(self._close_sources())
        if await _finish_through_cancellation([closing]):
            if not closing.cancelled():
                closing.exception()  # the cancellation is what the caller sees
            raise asyncio.CancelledError("the awaiting call was cancelled")
        closing.result()

    async def _close_sources(self) -> None:
        with self._lock:
            tasks = list(self._tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        for source in self._sources:
            await source.aclose()


async def _await(awaitable: Awaitable[R]) -> R:
    return await awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close an awaitable that will never be awaited (no "never awaited" warning)."""
    if inspect.iscoroutine(awaitable):
        awaitable.close()


async def _finish_through_cancellation(futures: Iterable[asyncio.Future[Any]]) -> bool:
    """Wait until every future is done, even if the waiting task is cancelled meanwhile
    (clean-up that must not be cut short); return whether it was."""
    pending = set(futures)
    cancelled = False
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


class _Source:
    """One async iterator, pulled from the worker thread through a :class:`LoopBridge`."""

    def __init__(self, bridge: LoopBridge, source: AsyncIterator[Any]) -> None:
        self._bridge = bridge
        self._source = source
        self._finished = False

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        try:
            return self._bridge.call(self._source.__anext__())
        except StopAsyncIteration:
            self._finished = True
            raise StopIteration from None

    async def aclose(self) -> None:
        close = getattr(self._source, "aclose", None)
        if not self._finished and close is not None:
            await close()


class _Reader:
    """An object with an async ``read(size)`` (a web framework's upload), read from the
    worker thread through a :class:`LoopBridge`: to the ingest it is a binary stream like
    any other (``None`` is "no data yet", text is refused), read one call at a time."""

    def __init__(self, bridge: LoopBridge, reader: Any) -> None:
        self._bridge = bridge
        self._reader = reader

    def read(self, size: int = -1) -> Any:
        return self._bridge.call(self._reader.read(size))


def _is_async_reader(value: object) -> bool:
    read = getattr(value, "read", None)
    return read is not None and (
        inspect.iscoroutinefunction(read)
        or inspect.iscoroutinefunction(getattr(read, "__call__", None))  # noqa: B004
    )


def _bridged(bridge: LoopBridge, value: Any) -> Any:
    """Content for the worker: an async iterator or async reader bridged to the loop; any
    other value as it is."""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return value
    if isinstance(value, AsyncIterable):
        return bridge.pull(aiter(value))
    if _is_async_reader(value):
        return _Reader(bridge, value)
    return value


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
        """``method(sync_catalog, *args, **kwargs)`` in a worker, async content bridged."""

        def work(bridge: LoopBridge) -> R:
            return method(
                self._catalog,
                *(_bridged(bridge, a) for a in args),
                **{name: _bridged(bridge, value) for name, value in kwargs.items()},
            )

        return await self.run_in_worker(work)

    async def run_in_worker(self, work: Callable[[LoopBridge], R]) -> R:
        """Run ``work(bridge)`` in one of this catalog's worker threads and await its result.

        For integrations that run several catalog calls as one step (an OpenAI capture):
        ``work`` calls the sync catalog (:attr:`sync`) directly, and reaches back to the
        event loop through ``bridge`` (to pull an async download, say). If the awaiting task
        is cancelled, the bridge stops feeding the worker and this waits for ``work`` to
        finish its clean-up before it raises :class:`asyncio.CancelledError`.
        """
        loop = asyncio.get_running_loop()
        bridge = LoopBridge(loop)
        running = loop.run_in_executor(self._executor, work, bridge)
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            bridge.cancel()
            # However often it is cancelled again, the call only ends with its worker.
            await _finish_through_cancellation([running])
            if not running.cancelled():
                running.exception()  # the worker's own end (its CancelledError) is not news
            raise
        finally:
            await bridge.aclose()

    async def aiter_bytes(
        self,
        stream: IO[bytes],
        chunk_size: int = CHUNK,
        *,
        start: int = 0,
        length: int | None = None,
    ) -> AsyncIterator[bytes]:
        """The bytes of a stream (``open_signed``'s), read in the worker threads, from
        ``start`` for ``length`` bytes (a range; None: to the end); the stream is closed at
        the end, or when the iteration stops early (a client that went away)."""
        loop = asyncio.get_running_loop()
        left = length
        try:
            if start:
                await loop.run_in_executor(self._executor, stream.seek, start)
            while left is None or left > 0:
                size = chunk_size if left is None else min(chunk_size, left)
                chunk = await loop.run_in_executor(self._executor, stream.read, size)
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk
        finally:
            await loop.run_in_executor(self._executor, stream.close)

    ingest_image = _awaitable(AssetCatalog.ingest_image)
    ingest_container_file = _awaitable(AssetCatalog.ingest_container_file)
    ingest_upload = _awaitable(AssetCatalog.ingest_upload)
    link_message = _awaitable(AssetCatalog.link_message)
    get = _awaitable(AssetCatalog.get)
    lineage = _awaitable(AssetCatalog.lineage)
    list = _awaitable(AssetCatalog.list)
    events = _awaitable(AssetCatalog.events)
    find = _awaitable(AssetCatalog.find)
    usage = _awaitable(AssetCatalog.usage)
    usage_by_tenant = _awaitable(AssetCatalog.usage_by_tenant)
    export = _awaitable(AssetCatalog.export)
    erase = _awaitable(AssetCatalog.erase)
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
