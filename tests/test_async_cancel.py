"""Cancellation at every await point of an AsyncAssetCatalog ingest.

An ingest fed by an async iterator or an async reader is cancelled at each point in turn:
before it starts, while it waits for a worker, while the source is producing each of its
chunks (the k-th pull in flight on the loop, for every k, the end included), while the worker
holds each chunk it was given, and while the worker is in each protocol step (the pending
row, the blob, the publishing transaction). The points are reached deterministically: the
source waits on an event, or the worker thread is stopped at a gate until the cancellation
has reached the call's :class:`LoopBridge`.

What the code guarantees, and what is asserted after each point:

* the call always raises :class:`asyncio.CancelledError`, and only once its worker is done;
* if the worker had not yet pulled the end of the content, there is no asset: nothing at all
  when the cancellation came before the pending row (within the first 256 KiB), else one
  ``failed`` object row and nothing else (no blob, no event);
* if it had (the blob complete, or the publishing transaction under way), the ingest
  publishes: one complete, correct asset;
* either way ``reconcile(older_than=0)`` has nothing left to do, ``verify()`` finds nothing,
  and the retried ingest with the same idempotency key succeeds with exactly one asset (the
  published one, if there is one).

Run on SQLite + local files and PostgreSQL + memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import attrs
import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AsyncAssetCatalog,
    LoopBridge,
    ObjectStatus,
    ReconcileReport,
    UrlSigner,
)
from asset_catalog._content.sniff import SNIFF_BYTES
from asset_catalog.protocols import AssetRepository, BlobStorage

from .backends import SQLITE_LOCAL_AND_POSTGRES_MEMORY
from .figures import assert_verified
from .images import png_bytes
from .snapshots import Snapshot, added, snapshot

TENANT = "t-cancel"
PIECE = 100 * 1024
PIECES = 5
HEAD_PIECES = -(-SNIFF_BYTES // PIECE)
"""The pieces the catalog reads before its pending row (3: 300 KiB >= 256 KiB)."""
PULLS = PIECES + 1
"""Pulls the worker makes: every piece, then the end (StopAsyncIteration, or read() == b"")."""
CSV = b"".join(b"%08d,cancel\n" % i for i in range(PIECES * PIECE // 16))[: PIECES * PIECE]
IMAGE = png_bytes(4, 3) + b"\0" * (PIECES * PIECE - len(png_bytes(4, 3)))
FAR = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)
WAIT = 10.0
"""Seconds any wait of this suite may take before it fails (never reached when it passes)."""


# -- backends ----------------------------------------------------------------------------------


@pytest.fixture(params=SQLITE_LOCAL_AND_POSTGRES_MEMORY)
def plain(request: pytest.FixtureRequest, signer: UrlSigner) -> Iterator[AssetCatalog]:
    """The catalog without gates (for snapshots, reconcile, verify and the retry)."""
    repository: AssetRepository = request.getfixturevalue(request.param[0])
    storage: BlobStorage = request.getfixturevalue(request.param[1])
    catalog = AssetCatalog(repository=repository, storage=storage, signer=signer)
    yield catalog
    assert_verified(catalog, "the cancellation points")


# -- gates: where the worker thread stops until the test lets it go ----------------------------


class Gate:
    """One point in the worker thread: it stops there (once) until :meth:`release`."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._go = threading.Event()
        self._used = False

    def stop(self) -> None:
        if self._used:
            return
        self._used = True
        self.reached.set()
        assert self._go.wait(WAIT), "the test never released the gate"

    def release(self) -> None:
        self._go.set()


async def until(event: threading.Event | asyncio.Event, what: str) -> None:
    """Wait on the loop for an event of the worker thread (or of the loop)."""
    for _ in range(int(WAIT * 1000)):
        if event.is_set():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never reached: {what}")


@attrs.define
class Gates:
    """The gates of one run: after the worker's n-th pull through the bridge, and before or
    after a repository or storage call (``"before:complete_ingest"``)."""

    after_pull: dict[int, Gate] = attrs.Factory(dict)
    calls: dict[str, Gate] = attrs.Factory(dict)
    pulls: int = 0
    bridge_cancelled: threading.Event = attrs.Factory(threading.Event)

    def at_call(self, when: str, name: str) -> None:
        gate = self.calls.get(f"{when}:{name}")
        if gate is not None:
            gate.stop()


class Gated:
    """A repository or storage whose calls pass the gates."""

    def __init__(self, inner: Any, gates: Gates) -> None:
        self._inner = inner
        self._gates = gates

    @property
    def can_sign(self) -> bool:
        return bool(self._inner.can_sign)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            self._gates.at_call("before", name)
            result = target(*args, **kwargs)
            self._gates.at_call("after", name)
            return result

        return call


@pytest.fixture
def gates(monkeypatch: pytest.MonkeyPatch) -> Gates:
    """Count the worker's pulls through every bridge, stop at the chosen one, and signal when
    a cancellation reaches a bridge."""
    made = Gates()
    call, cancel = LoopBridge.call, LoopBridge.cancel

    def counted_call(self: LoopBridge, awaitable: Any, *, always: bool = False) -> Any:
        if always:
            return call(self, awaitable, always=True)
        try:
            return call(self, awaitable)
        finally:
            made.pulls += 1
            gate = made.after_pull.get(made.pulls)
            if gate is not None:
                gate.stop()

    def signalled_cancel(self: LoopBridge) -> None:
        cancel(self)
        made.bridge_cancelled.set()

    monkeypatch.setattr(LoopBridge, "call", counted_call)
    monkeypatch.setattr(LoopBridge, "cancel", signalled_cancel)
    return made


# -- sources -----------------------------------------------------------------------------------


class Held:
    """Where a source stops: before producing its k-th piece (k = PULLS: before the end)."""

    def __init__(self, at: int | None) -> None:
        self.at = at
        self.waiting = asyncio.Event()
        self.cleaning = asyncio.Event()
        self.cleaned = asyncio.Event()
        self.cleanup_gate: asyncio.Event | None = None

    async def before(self, pull: int) -> None:
        if pull == self.at:
            self.waiting.set()
            await asyncio.Event().wait()  # until cancelled


async def chunks(data: bytes, held: Held) -> AsyncIterator[bytes]:
    """An async generator (a provider download); with ``held.cleanup_gate``, it cleans up
    asynchronously when it is cancelled (an HTTP response closing)."""
    try:
        for pull in range(1, PULLS + 1):
            await held.before(pull)
            if pull <= PIECES:
                yield data[(pull - 1) * PIECE : pull * PIECE]
    finally:
        if held.cleanup_gate is not None:
            held.cleaning.set()
            await held.cleanup_gate.wait()
        held.cleaned.set()


class Reader:
    """An upload with ``await read(size)``: one piece per read, then b""."""

    def __init__(self, data: bytes, held: Held) -> None:
        self._data = data
        self._held = held
        self._reads = 0

    async def read(self, size: int = -1) -> bytes:
        self._reads += 1
        await self._held.before(self._reads)
        start = (self._reads - 1) * PIECE
        return self._data[start : start + PIECE]


@attrs.frozen
class Case:
    """An ingest call with the source that feeds it."""

    name: str
    data: bytes
    source: Callable[[bytes, Held], Any]
    call: Callable[[Any, Any], Any]


CASES = [
    Case(
        "iterator-container-file",
        CSV,
        chunks,
        lambda c, src: c.ingest_container_file(
            TENANT, src, container_id="cntr-1", file_id="cfile-1", filename="x.csv"
        ),
    ),
    Case(
        "iterator-image",
        IMAGE,
        chunks,
        lambda c, src: c.ingest_image(TENANT, src, tool_call_id="ig-1"),
    ),
    Case(
        "reader-upload",
        CSV,
        Reader,
        lambda c, src: c.ingest_upload(TENANT, src, filename="x.csv", idempotency_key="req-1"),
    ),
]  # fmt: skip


# -- the points --------------------------------------------------------------------------------


@attrs.frozen
class Point:
    """Where the cancellation lands, and what it leaves: ``nothing``, ``failed`` (one failed
    object row) or ``published`` (the whole asset)."""

    name: str
    outcome: str
    held: int | None = None
    """The source waits before producing this pull."""
    after_pull: int | None = None
    """The worker stops right after this pull returned."""
    call: str | None = None
    """The worker stops at this repository or storage call (``before:add_pending_object``)."""


POINTS = [
    Point("before-it-starts", "nothing"),
    Point("waiting-for-a-worker", "nothing"),
    *(
        Point(f"source-producing-{k}", "nothing" if k <= HEAD_PIECES else "failed", held=k)
        for k in range(1, PIECES + 1)
    ),
    Point("source-producing-the-end", "failed", held=PULLS),
    *(
        Point(f"worker-holding-{k}", "nothing" if k < HEAD_PIECES else "failed", after_pull=k)
        for k in range(1, PIECES + 1)
    ),
    Point("worker-got-the-end", "published", after_pull=PULLS),
    Point("before-the-pending-row", "failed", call="before:add_pending_object"),
    Point("after-the-pending-row", "failed", call="after:add_pending_object"),
    Point("blob-written", "published", call="after:write"),
    Point("before-the-publishing-commit", "published", call="before:complete_ingest"),
    Point("after-the-publishing-commit", "published", call="after:complete_ingest"),
]


# -- running one case --------------------------------------------------------------------------


def run(main: Callable[[], Any]) -> Any:
    """``asyncio.run(main())``, failing on anything the loop reports (a task's exception
    never retrieved, a callback that raised)."""
    reported: list[dict[str, Any]] = []

    async def wrapped() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: reported.append(ctx))
        return await main()

    result = asyncio.run(wrapped())
    gc.collect()  # "exception was never retrieved" is reported when a future is collected
    assert reported == [], [ctx.get("message") for ctx in reported]
    return result


def gated(plain: AssetCatalog, gates: Gates) -> AssetCatalog:
    return AssetCatalog(
        repository=Gated(plain.repository, gates),  # type: ignore[arg-type]
        storage=Gated(plain.storage, gates),  # type: ignore[arg-type]
        signer=plain.signer,
    )


def shutdown(acatalog: AsyncAssetCatalog) -> None:
    # Not aclose(): the repository belongs to the fixture.
    acatalog._executor.shutdown(wait=True)


async def cancel_at(
    acatalog: AsyncAssetCatalog, gates: Gates, case: Case, point: Point
) -> asyncio.Task[Any]:
    """Start the ingest, cancel it at ``point``, and return the task (cancelled, not awaited)."""
    held = Held(point.held)
    gate = Gate()
    if point.after_pull is not None:
        gates.after_pull[point.after_pull] = gate
    if point.call is not None:
        gates.calls[point.call] = gate
    blocker = threading.Event()
    if point.name == "waiting-for-a-worker":  # the only worker is busy
        busy = threading.Event()
        occupied = asyncio.ensure_future(
            acatalog.run_in_worker(lambda _: (busy.set(), blocker.wait(WAIT)))
        )
        await until(busy, "the worker is busy")
    task = asyncio.ensure_future(case.call(acatalog, case.source(case.data, held)))
    if point.name == "before-it-starts":
        task.cancel()
    elif point.name == "waiting-for-a-worker":
        while not acatalog._executor._work_queue.qsize():  # the ingest is queued
            await asyncio.sleep(0.001)
        task.cancel()
        await until(gates.bridge_cancelled, "the cancellation reached the bridge")
        blocker.set()
        await occupied
    elif point.held is not None:
        await until(held.waiting, f"the source producing pull {point.held}")
        task.cancel()
    else:
        await until(gate.reached, point.name)
        task.cancel()
        await until(gates.bridge_cancelled, "the cancellation reached the bridge")
        gate.release()
    return task


def assert_published(plain: AssetCatalog, before: Snapshot, data: bytes) -> Asset:
    """Exactly one new asset, complete: its blob, its stored row, its created event."""
    new = added(before, snapshot(plain))
    digest = hashlib.sha256(data).hexdigest()
    assert list(new.blobs.values()) == [data]
    assert [(r["status"], r["sha256"]) for r in new.objects] == [("stored", digest)]
    assert [(r["size_bytes"], r["sha256"]) for r in new.assets] == [(len(data), digest)]
    assert [r["event"] for r in new.events] == ["created"]
    asset = plain.get(TENANT, new.assets[0]["id"])
    assert (asset.size_bytes, asset.sha256) == (len(data), digest)
    return asset


def assert_outcome(plain: AssetCatalog, before: Snapshot, outcome: str, data: bytes) -> Any:
    """What the cancelled ingest left: exactly ``outcome``; the published asset, if any."""
    after = snapshot(plain)
    if outcome == "nothing":
        assert after == before, added(before, after)
        return None
    if outcome == "failed":
        new = added(before, after)
        assert (new.blobs, new.paths, new.assets, new.events) == ({}, (), [], [])
        assert [r["status"] for r in new.objects] == ["failed"]
        return None
    return assert_published(plain, before, data)


def assert_recovers(plain: AssetCatalog, case: Case, published: Asset | None) -> None:
    """Nothing for reconcile to do, nothing for verify to find, and the retry with the same
    idempotency key makes (or returns) exactly one asset."""
    assert plain.reconcile(older_than=dt.timedelta(0)) == ReconcileReport()
    report = plain.verify()
    assert report.ok, report.findings

    async def retry() -> Asset:
        acatalog = AsyncAssetCatalog(plain)
        try:
            result: Asset = await case.call(acatalog, case.source(case.data, Held(None)))
            return result
        finally:
            shutdown(acatalog)

    before = snapshot(plain)
    asset = run(retry)
    if published is not None:
        assert asset == published
        assert snapshot(plain) == before
    else:
        assert_published(plain, before, case.data)
    assert [a.id for a in plain.list(TENANT).items] == [asset.id]


# -- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("point", POINTS, ids=lambda p: p.name)
def test_cancelled_at(plain: AssetCatalog, gates: Gates, case: Case, point: Point) -> None:
    """Cancelled at ``point``: CancelledError, exactly the point's outcome, then reconcile,
    verify and the retry."""
    acatalog = AsyncAssetCatalog(gated(plain, gates), max_workers=1)
    before = snapshot(plain)

    async def main() -> None:
        task = await cancel_at(acatalog, gates, case, point)
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run(main)
    finally:
        shutdown(acatalog)
    published = assert_outcome(plain, before, point.outcome, case.data)
    assert_recovers(plain, case, published)


def test_the_points_cover_every_pull() -> None:
    """Every pull of the worker is a point twice: while the source produces it, and while
    the worker holds it; 256 KiB of head means the first three pulls come before the row."""
    assert HEAD_PIECES == 3
    assert sorted(p.held for p in POINTS if p.held) == list(range(1, PULLS + 1))
    assert sorted(p.after_pull for p in POINTS if p.after_pull) == list(range(1, PULLS + 1))


@pytest.mark.parametrize("case", CASES[::2], ids=lambda c: c.name)
def test_cancelled_again_during_the_clean_up(plain: AssetCatalog, gates: Gates, case: Case) -> None:
    """A second (and third) cancellation while the worker removes the partial blob does not
    cut the call short: it ends only when the clean-up has, with CancelledError and one
    failed row. (It used to return at once, leaving the clean-up running behind it.)"""
    acatalog = AsyncAssetCatalog(gated(plain, gates), max_workers=1)
    cleanup = gates.calls["before:mark_objects_failed"] = Gate()
    before = snapshot(plain)

    async def main() -> None:
        held = Held(PIECES)
        task = asyncio.ensure_future(case.call(acatalog, case.source(case.data, held)))
        await until(held.waiting, "the source producing the last piece")
        task.cancel()
        await until(cleanup.reached, "the clean-up")
        for _ in range(2):
            task.cancel()
            for _ in range(20):
                await asyncio.sleep(0)
            assert not task.done(), "the call returned while its clean-up was still running"
        cleanup.release()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        run(main)
    finally:
        shutdown(acatalog)
    assert_outcome(plain, before, "failed", case.data)
    assert_recovers(plain, case, None)


@pytest.mark.parametrize("again", [False, True], ids=["once", "cancelled-again"])
def test_a_source_that_cleans_up_when_cancelled(
    plain: AssetCatalog, gates: Gates, again: bool
) -> None:
    """A source whose clean-up awaits (an HTTP response closing) finishes it before the
    worker cleans up, and the call then raises CancelledError. (It used to raise
    RuntimeError: the generator was closed while it was still running.)"""
    case = CASES[0]
    acatalog = AsyncAssetCatalog(gated(plain, gates), max_workers=1)
    before = snapshot(plain)

    async def main() -> None:
        held = Held(PIECES)
        held.cleanup_gate = asyncio.Event()
        task = asyncio.ensure_future(case.call(acatalog, case.source(case.data, held)))
        await until(held.waiting, "the source producing the last piece")
        task.cancel()
        await until(held.cleaning, "the source cleaning up")
        if again:
            task.cancel()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not task.done()
        pending = plain.repository.objects_in_status(ObjectStatus.PENDING, FAR, 10)
        assert len(pending) == 1, "the worker cleaned up before its source had stopped"
        held.cleanup_gate.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert held.cleaned.is_set()

    try:
        run(main)
    finally:
        shutdown(acatalog)
    assert_outcome(plain, before, "failed", case.data)
    assert_recovers(plain, case, None)
