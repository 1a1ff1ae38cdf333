"""Crash simulation: ingests and deletes that die mid-way, then ``reconcile()`` repairs them."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetCatalogError,
    AssetNotFound,
    ObjectStatus,
    ReconcileReport,
    StorageError,
    StorageObject,
    UrlSigner,
)

from .clocks import ManualClock
from .images import png_bytes

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
NOW = dt.timedelta(0)
CSV = b"a,b\n1,2\n"
# More than the 256 KiB the catalog buffers to sniff, so the blob is being written.
BIG_CHUNK = b"a,b,c\n" * 11_000


class SimulatedCrash(BaseException):
    """The process died at this point (nothing after it runs, not even cleanup)."""


class CrashingRepository:
    """Delegates to a repository, except that the named methods die with SimulatedCrash."""

    def __init__(self, inner: Any, *crash_on: str) -> None:
        self._inner = inner
        self._crash_on = set(crash_on)

    def __getattr__(self, name: str) -> Any:
        if name in self._crash_on:

            def crash(*_args: Any, **_kwargs: Any) -> Any:
                raise SimulatedCrash(f"repository.{name}")

            return crash
        return getattr(self._inner, name)


class FaultyStorage:
    """Delegates to a storage; ``delete`` fails on the listed call numbers (1-based).

    ``fail_on=None`` fails every call.
    """

    def __init__(
        self,
        inner: Any,
        error: Callable[[str], BaseException],
        fail_on: set[int] | None = None,
    ) -> None:
        self._inner = inner
        self._error = error
        self._fail_on = fail_on
        self.delete_calls = 0

    def delete(self, key: str) -> None:
        self.delete_calls += 1
        if self._fail_on is None or self.delete_calls in self._fail_on:
            raise self._error(f"storage.delete({key!r})")
        self._inner.delete(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def wrapped(
    catalog: AssetCatalog, signer: UrlSigner, *, repository: Any = None, storage: Any = None
) -> AssetCatalog:
    """A catalog on the same backends (optionally wrapped) sharing the clock."""
    return AssetCatalog(
        repository=repository if repository is not None else catalog.repository,
        storage=storage if storage is not None else catalog.storage,
        signer=signer,
        clock=catalog.clock,
    )


def dying_ingest_catalog(catalog: AssetCatalog, signer: UrlSigner, *crash_on: str) -> AssetCatalog:
    """A catalog whose process 'dies' at ``crash_on`` and cannot clean up afterwards."""
    return wrapped(
        catalog,
        signer,
        repository=CrashingRepository(catalog.repository, *crash_on, "mark_objects_failed"),
        storage=FaultyStorage(catalog.storage, SimulatedCrash),
    )


def objects_in(catalog: AssetCatalog, status: ObjectStatus) -> list[StorageObject]:
    """Every storage object row in ``status``."""
    return catalog.repository.objects_in_status(status, FAR_FUTURE, 1000)


def obj(catalog: AssetCatalog, object_id: str) -> StorageObject:
    """A storage object row by id."""
    found = catalog.repository.get_object(object_id)
    assert found is not None
    return found


def add_leftover(
    catalog: AssetCatalog, *, created_at: dt.datetime, write_blob: bool = True
) -> StorageObject:
    """Emulate a crashed ingest directly: a pending row and (optionally) its blob."""
    object_id = str(uuid.uuid4())
    leftover = StorageObject(
        id=object_id,
        tenant_id="t1",
        key=f"tcrashed/{created_at:%Y/%m/%d}/{object_id}.png",
        filename="lost.png",
        mime_type="image/png",
        status=ObjectStatus.PENDING,
        created_at=created_at,
    )
    catalog.repository.add_pending_object(leftover)
    if write_blob:
        catalog.storage.write(leftover.key, iter([png_bytes(2, 2)]))
    return leftover


@pytest.fixture
def clock(catalog: AssetCatalog) -> ManualClock:
    """Install a controllable clock on the catalog."""
    c = ManualClock(T0)
    catalog.clock = c
    return c


# -- ingests that died ----------------------------------------------------------------------


class TestCrashedIngest:
    """A pending row left by a dead ingest loses its blob and becomes ``failed``."""

    def test_died_before_complete_ingest(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """Blob written, process died before the final transaction: reconcile cleans up."""
        dying = dying_ingest_catalog(catalog, signer, "complete_ingest")
        with pytest.raises(SimulatedCrash):
            dying.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")

        (pending,) = objects_in(catalog, ObjectStatus.PENDING)
        assert catalog.storage.exists(pending.key)
        assert catalog.list("t1").items == ()

        clock.tick()
        report = catalog.reconcile(older_than=NOW)

        assert report == ReconcileReport(pending_failed=1, deletes_finished=0)
        assert not catalog.storage.exists(pending.key)
        assert list(catalog.storage.iter_keys()) == []
        assert obj(catalog, pending.id).status is ObjectStatus.FAILED
        assert objects_in(catalog, ObjectStatus.PENDING) == []

    def test_retry_after_reconcile_succeeds(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """After reconcile the same tool call ingests normally, leaving exactly one blob."""
        dying = dying_ingest_catalog(catalog, signer, "complete_ingest")
        with pytest.raises(SimulatedCrash):
            dying.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        clock.tick()
        catalog.reconcile(older_than=NOW)

        asset = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        key = obj(catalog, asset.storage_object_id).key
        assert list(catalog.storage.iter_keys()) == [key]
        assert catalog.get("t1", asset.id) == asset
        assert catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1").id == asset.id

    def test_retry_before_reconcile_succeeds(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """A retry before reconcile also succeeds; reconcile then removes only the leftover."""
        dying = dying_ingest_catalog(catalog, signer, "complete_ingest")
        with pytest.raises(SimulatedCrash):
            dying.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        (leftover,) = objects_in(catalog, ObjectStatus.PENDING)
        asset = catalog.ingest_image("t1", png_bytes(4, 4), tool_call_id="call-1")
        clock.tick()
        report = catalog.reconcile(older_than=NOW)
        assert report.pending_failed == 1
        assert not catalog.storage.exists(leftover.key)
        live_key = obj(catalog, asset.storage_object_id).key
        assert list(catalog.storage.iter_keys()) == [live_key]
        assert obj(catalog, asset.storage_object_id).status is ObjectStatus.STORED

    def test_died_mid_write(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """A process that died while streaming leaves no partial blob after reconcile."""

        def source() -> Iterator[bytes]:
            yield from [BIG_CHUNK] * 5
            raise SimulatedCrash("died while uploading")

        dying = dying_ingest_catalog(catalog, signer)
        with pytest.raises(SimulatedCrash):
            dying.ingest_container_file(
                "t1", source(), container_id="c", file_id="f", filename="big.csv"
            )
        (pending,) = objects_in(catalog, ObjectStatus.PENDING)
        clock.tick()
        report = catalog.reconcile(older_than=NOW)
        assert report.pending_failed == 1
        assert report.errors == ()
        assert list(catalog.storage.iter_keys()) == []
        assert obj(catalog, pending.id).status is ObjectStatus.FAILED

    def test_emulated_leftover_row_and_blob(
        self, catalog: AssetCatalog, clock: ManualClock
    ) -> None:
        """A pending row and blob written directly are removed and marked failed."""
        leftover = add_leftover(catalog, created_at=T0)
        clock.tick(5)
        report = catalog.reconcile(older_than=NOW)
        assert report.pending_failed == 1
        assert report.pending_failed + report.deletes_finished == 1  # blobs removed
        assert not catalog.storage.exists(leftover.key)
        assert obj(catalog, leftover.id).status is ObjectStatus.FAILED
        assert obj(catalog, leftover.id).deleted_at is not None

    def test_pending_row_without_blob(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """A pending row whose blob was never written becomes failed without errors."""
        leftover = add_leftover(catalog, created_at=T0, write_blob=False)
        clock.tick(5)
        report = catalog.reconcile(older_than=NOW)
        assert report.pending_failed == 1
        assert report.errors == ()
        assert obj(catalog, leftover.id).status is ObjectStatus.FAILED

    def test_many_leftovers(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """Every pending leftover is repaired in one run."""
        leftovers = [add_leftover(catalog, created_at=T0) for _ in range(5)]
        clock.tick(5)
        assert catalog.reconcile(older_than=NOW).pending_failed == 5
        assert list(catalog.storage.iter_keys()) == []
        for leftover in leftovers:
            assert obj(catalog, leftover.id).status is ObjectStatus.FAILED


# -- deletes that died ----------------------------------------------------------------------


class TestCrashedDelete:
    """An object left ``deleting`` by a dead delete loses its blob and becomes ``deleted``."""

    def test_died_before_blob_removal(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """The asset is already invisible; reconcile removes the blob and marks it deleted."""
        asset = catalog.ingest_image("t1", png_bytes(3, 3))
        key = obj(catalog, asset.storage_object_id).key
        dying = wrapped(
            catalog, signer, storage=FaultyStorage(catalog.storage, SimulatedCrash, {1})
        )
        with pytest.raises(SimulatedCrash):
            dying.delete("t1", asset.id, actor="admin")

        with pytest.raises(AssetNotFound):
            catalog.get("t1", asset.id)
        assert catalog.list("t1").items == ()
        assert obj(catalog, asset.storage_object_id).status is ObjectStatus.DELETING
        assert catalog.storage.exists(key)
        assert [e.event for e in catalog.repository.events_for("t1", asset.id)] == [
            "created",
            "deleted",
        ]

        clock.tick()
        report = catalog.reconcile(older_than=NOW)
        assert report == ReconcileReport(pending_failed=0, deletes_finished=1)
        assert not catalog.storage.exists(key)
        row = obj(catalog, asset.storage_object_id)
        assert row.status is ObjectStatus.DELETED
        assert row.deleted_at is not None

    def test_deleting_objects_need_no_age(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """A ``deleting`` object is finished even with a large older_than."""
        asset = catalog.ingest_image("t1", png_bytes(3, 3))
        dying = wrapped(
            catalog, signer, storage=FaultyStorage(catalog.storage, SimulatedCrash, {1})
        )
        with pytest.raises(SimulatedCrash):
            dying.delete("t1", asset.id)
        clock.tick()
        report = catalog.reconcile(older_than=dt.timedelta(days=30))
        assert report.deletes_finished == 1
        assert obj(catalog, asset.storage_object_id).status is ObjectStatus.DELETED

    def test_retried_delete_finishes_the_job(
        self, catalog: AssetCatalog, signer: UrlSigner
    ) -> None:
        """Calling delete again after the crash removes the blob (and returns False)."""
        asset = catalog.ingest_image("t1", png_bytes(3, 3))
        key = obj(catalog, asset.storage_object_id).key
        flaky = FaultyStorage(catalog.storage, SimulatedCrash, {1})
        dying = wrapped(catalog, signer, storage=flaky)
        with pytest.raises(SimulatedCrash):
            dying.delete("t1", asset.id)
        assert dying.delete("t1", asset.id) is False
        assert not catalog.storage.exists(key)
        assert obj(catalog, asset.storage_object_id).status is ObjectStatus.DELETED

    def test_conversation_delete_died_part_way(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """A conversation delete that died after one blob leaves the rest to reconcile."""
        assets = [
            catalog.ingest_upload("t1", CSV, filename=f"{n}.csv", conversation_id="conv")
            for n in range(3)
        ]
        dying = wrapped(
            catalog, signer, storage=FaultyStorage(catalog.storage, SimulatedCrash, {2})
        )
        with pytest.raises(SimulatedCrash):
            dying.delete_conversation("t1", "conv")
        statuses = [obj(catalog, a.storage_object_id).status for a in assets]
        assert statuses.count(ObjectStatus.DELETED) == 1
        assert statuses.count(ObjectStatus.DELETING) == 2
        assert catalog.list("t1").items == ()

        clock.tick()
        report = catalog.reconcile(older_than=NOW)
        assert report.deletes_finished == 2
        assert list(catalog.storage.iter_keys()) == []
        for a in assets:
            assert obj(catalog, a.storage_object_id).status is ObjectStatus.DELETED


# -- what reconcile leaves alone ------------------------------------------------------------


class TestReconcileScope:
    """reconcile touches only leftovers, reports what it did, and can run any time."""

    def test_nothing_to_do(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """On an empty catalog, and with only live and cleanly deleted assets, the report is
        all zeros."""
        assert catalog.reconcile(older_than=NOW) == ReconcileReport()
        live = catalog.ingest_image("t1", png_bytes(3, 3))
        gone = catalog.ingest_upload("t1", CSV, filename="x.csv")
        catalog.delete("t1", gone.id)
        clock.tick()
        assert catalog.reconcile(older_than=NOW) == ReconcileReport(
            pending_failed=0, deletes_finished=0, errors=()
        )
        assert catalog.get("t1", live.id) == live
        assert catalog.storage.exists(obj(catalog, live.storage_object_id).key)

    def test_recent_pending_left_alone(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """A pending object newer than older_than keeps its row and blob until it is old."""
        leftover = add_leftover(catalog, created_at=T0)
        clock.tick(10 * 60)
        report = catalog.reconcile(older_than=dt.timedelta(hours=1))
        assert report == ReconcileReport()
        assert obj(catalog, leftover.id).status is ObjectStatus.PENDING
        assert catalog.storage.exists(leftover.key)

        clock.tick(60 * 60)
        assert catalog.reconcile(older_than=dt.timedelta(hours=1)).pending_failed == 1
        assert obj(catalog, leftover.id).status is ObjectStatus.FAILED
        assert not catalog.storage.exists(leftover.key)

    def test_second_run_reports_zeros(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """Running reconcile again after a repair finds nothing left to do."""
        add_leftover(catalog, created_at=T0)
        clock.tick()
        assert catalog.reconcile(older_than=NOW).pending_failed == 1
        assert catalog.reconcile(older_than=NOW) == ReconcileReport()

    def test_live_assets_untouched(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """Stored objects of live assets keep their blobs and stay downloadable."""
        asset = catalog.ingest_image("t1", png_bytes(5, 5))
        add_leftover(catalog, created_at=T0)
        clock.tick()
        catalog.reconcile(older_than=NOW)
        assert obj(catalog, asset.storage_object_id).status is ObjectStatus.STORED
        token = catalog.presign("t1", asset.id).url.rsplit("/", 1)[1]
        _, stream, _ = catalog.open_signed(token)
        with stream:
            assert stream.read() == png_bytes(5, 5)

    def test_storage_error_reported_and_retried(
        self, catalog: AssetCatalog, signer: UrlSigner, clock: ManualClock
    ) -> None:
        """A blob that cannot be removed is reported in errors and repaired on a later run."""
        leftover = add_leftover(catalog, created_at=T0)
        clock.tick()
        broken = wrapped(catalog, signer, storage=FaultyStorage(catalog.storage, StorageError))
        report = broken.reconcile(older_than=NOW)
        assert report.pending_failed == 0
        assert len(report.errors) == 1
        assert leftover.id in report.errors[0]
        assert obj(catalog, leftover.id).status is ObjectStatus.PENDING

        assert catalog.reconcile(older_than=NOW).pending_failed == 1
        assert obj(catalog, leftover.id).status is ObjectStatus.FAILED

    def test_slow_ingest_overtaken_by_reconcile(
        self, catalog: AssetCatalog, clock: ManualClock
    ) -> None:
        """An ingest whose pending row was reconciled away meanwhile leaves no asset without
        a blob: either it fails, or its asset's blob exists and holds the content."""

        def source() -> Iterator[bytes]:
            yield from [BIG_CHUNK] * 5  # past the sniffing window: the blob is being written
            clock.tick(3600)
            catalog.reconcile(older_than=NOW)  # sees the in-flight object as a leftover
            yield BIG_CHUNK

        result: Asset | None
        try:
            result = catalog.ingest_container_file(
                "t1", source(), container_id="c", file_id="f", filename="big.csv"
            )
        except AssetCatalogError:  # refusing the ingest is an acceptable outcome
            result = None
        if result is None:
            assert catalog.list("t1").items == ()
            assert list(catalog.storage.iter_keys()) == []
        else:
            row = obj(catalog, result.storage_object_id)
            assert row.status is ObjectStatus.STORED
            assert catalog.storage.exists(row.key), "asset recorded but its blob was removed"
            with catalog.storage.open(row.key) as stream:
                assert stream.read() == BIG_CHUNK * 6
