"""verify() finds every kind of damage and nothing else; purge() removes old deleted rows once."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from typing import IO, Any

import pytest
from sqlalchemy import update

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetNotFound,
    BlobStorage,
    FindingKind,
    InvalidInput,
    ObjectStatus,
    StorageError,
    UrlSigner,
    VerifyProgress,
    VerifyReport,
)
from asset_catalog._logic import verify as verify_module
from asset_catalog.sql import SqlRepository
from asset_catalog.storage import FsspecStorage
from asset_catalog.testing._builders import deleting

from .clocks import ManualClock
from .images import png_bytes

T0 = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


@pytest.fixture
def clock(catalog: AssetCatalog) -> ManualClock:
    c = ManualClock(T0)
    catalog.clock = c
    return c


def ingest(catalog: AssetCatalog, n: int, tenant: str = "t1") -> list[Asset]:
    return [
        catalog.ingest_container_file(
            tenant,
            f"row,{i}\n{uuid.uuid4()}\n".encode(),
            container_id="c",
            file_id=f"f-{uuid.uuid4()}",
            filename=f"data-{i}.csv",
            conversation_id="conv",
        )
        for i in range(n)
    ]


def key_of(catalog: AssetCatalog, asset: Asset) -> str:
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    return obj.key


def set_status(catalog: AssetCatalog, object_id: str, status: ObjectStatus) -> None:
    """Damage a row behind the catalog's back (what a bad manual fix would do)."""
    repo = catalog.repository
    assert isinstance(repo, SqlRepository)
    o = repo.tables.objects
    with repo.engine.begin() as conn:
        conn.execute(update(o).where(o.c.id == object_id).values(status=status.value))


def kinds(report: VerifyReport) -> dict[FindingKind, int]:
    return {kind: n for kind, n in report.counts.items() if n}


# -- verify ---------------------------------------------------------------------------------------


class TestVerifyHealthy:
    def test_clean_catalog_has_no_findings(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """Live, deleted and failed ingests together: everything checked, nothing found."""
        assets = [*ingest(catalog, 4), catalog.ingest_image("t2", png_bytes(3, 2))]
        catalog.delete("t1", assets[0].id)
        with pytest.raises(InvalidInput):
            catalog.ingest_image("t1", b"not an image")  # refused before any row
        fail_mid_stream(catalog)
        report = catalog.verify()
        assert report.ok, report.findings
        assert report.total == 0
        assert report.findings == ()
        assert report.objects_checked == 6
        assert report.blobs_checked == 4
        assert report.bytes_hashed == sum(a.size_bytes for a in assets[1:])
        assert report.in_flight == 0

    def test_empty_catalog(self, catalog: AssetCatalog) -> None:
        report = catalog.verify()
        assert (report.ok, report.objects_checked, report.blobs_checked) == (True, 0, 0)

    def test_in_flight_objects_are_counted_not_reported(
        self, catalog: AssetCatalog, clock: ManualClock
    ) -> None:
        """A pending ingest (row, maybe a blob) and an unfinished delete are reconcile's work."""
        asset = ingest(catalog, 1)[0]
        repo = catalog.repository
        repo.mark_deleted("t1", [asset.id], deleting("t1", clock()))  # blob not removed yet
        report = catalog.verify()
        assert report.ok, report.findings
        assert report.in_flight == 1
        assert report.blobs_checked == 1

    def test_progress_is_reported_per_batch(
        self, catalog: AssetCatalog, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """progress() gets rows then blobs, counts growing to the totals, batch by batch."""
        monkeypatch.setattr(verify_module, "BATCH", 3)
        ingest(catalog, 7)
        seen: list[VerifyProgress] = []
        report = catalog.verify(progress=seen.append)
        assert [(p.phase, p.done) for p in seen] == [
            ("rows", 3),
            ("rows", 6),
            ("rows", 7),
            ("blobs", 3),
            ("blobs", 6),
            ("blobs", 7),
        ]
        assert all(p.findings == 0 for p in seen)
        assert (report.objects_checked, report.blobs_checked) == (7, 7)

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"max_findings": -1}, "max_findings"),
            ({"max_findings": "10"}, "max_findings"),
            ({"max_findings": True}, "max_findings"),
            ({"progress": "print"}, "progress"),
        ],
    )
    def test_bad_arguments(
        self, catalog: AssetCatalog, kwargs: dict[str, object], field: str
    ) -> None:
        with pytest.raises(InvalidInput) as info:
            catalog.verify(**kwargs)  # type: ignore[arg-type]
        assert info.value.field == field


class TestVerifyFindsDamage:
    def test_missing_blob(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        a, _b = ingest(catalog, 2)
        catalog.storage.delete(key_of(catalog, a))
        report = catalog.verify()
        assert kinds(report) == {FindingKind.MISSING_BLOB: 1}
        (finding,) = report.findings
        assert (finding.key, finding.object_id) == (key_of(catalog, a), a.storage_object_id)

    def test_size_and_checksum_mismatch(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """A truncated blob is a size mismatch; same size, other bytes, a checksum mismatch
        (found only when checksums are on)."""
        short, flipped, _fine = ingest(catalog, 3)
        data = catalog.storage.open(key_of(catalog, flipped)).read()
        catalog.storage.write(key_of(catalog, short), [b"row"])
        catalog.storage.write(key_of(catalog, flipped), [bytes([data[0] ^ 1]) + data[1:]])
        report = catalog.verify()
        assert kinds(report) == {FindingKind.SIZE_MISMATCH: 1, FindingKind.CHECKSUM_MISMATCH: 1}
        by_kind = {f.kind: f for f in report.findings}
        assert by_kind[FindingKind.SIZE_MISMATCH].object_id == short.storage_object_id
        assert by_kind[FindingKind.CHECKSUM_MISMATCH].object_id == flipped.storage_object_id
        assert kinds(catalog.verify(checksums=False)) == {FindingKind.SIZE_MISMATCH: 1}
        assert catalog.verify(checksums=False).bytes_hashed == 0

    def test_orphan_blobs(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """A blob no row claims, a foreign file, and a blob brought back after its delete."""
        gone, _kept = ingest(catalog, 2)
        gone_key = key_of(catalog, gone)
        catalog.delete("t1", gone.id)
        catalog.storage.write(gone_key, [b"resurrected"])
        stray = f"t{'0' * 24}/2026/03/01/{uuid.uuid4()}.png"
        catalog.storage.write(stray, [b"x"])
        catalog.storage.write("notes/readme.txt", [b"not ours"])
        report = catalog.verify()
        assert kinds(report) == {FindingKind.ORPHAN_BLOB: 3}
        found = {f.key: f for f in report.findings}
        assert set(found) == {gone_key, stray, "notes/readme.txt"}
        assert found[gone_key].object_id == gone.storage_object_id
        assert "deleted" in found[gone_key].detail
        assert found[stray].object_id is None

    def test_a_stray_file_whose_name_is_not_utf8(self, local_catalog: AssetCatalog) -> None:
        """A file named with bytes that are not UTF-8 (a lone surrogate once decoded) is an
        orphan finding, not a driver's UnicodeEncodeError."""
        storage = local_catalog.storage
        root = storage.root  # type: ignore[attr-defined]
        directory = os.path.join(os.fsencode(root), b"t" + b"0" * 24, b"2026", b"03", b"01")
        os.makedirs(directory)
        with open(os.path.join(directory, b"\xff\xfe-not-utf8.png"), "wb") as stray:
            stray.write(b"x")
        report = local_catalog.verify()
        assert report.counts == {FindingKind.ORPHAN_BLOB: 1}
        (finding,) = report.findings
        assert finding.object_id is None
        assert finding.key.endswith("-not-utf8.png")

    def test_stray_files_with_names_the_catalog_never_writes(self, catalog: AssetCatalog) -> None:
        """Dotfiles, spaces and non-ASCII names in the store are reported, not a crash."""
        storage = catalog.storage
        assert isinstance(storage, FsspecStorage)
        strays = [".hidden", "weird dir/über file.txt", "t/2026/01/01/x y.png"]
        for name in strays:
            path = f"{storage.root}/{name}"
            storage.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            storage.fs.pipe_file(path, b"not ours")
        report = catalog.verify()
        assert kinds(report) == {FindingKind.ORPHAN_BLOB: 3}
        assert sorted(f.key for f in report.findings) == sorted(strays)

    def test_broken_rows(self, catalog: AssetCatalog, clock: ManualClock) -> None:
        """A live asset whose object row is not stored, and a stored object of a deleted
        asset, are both reported."""
        live_broken, deleted_broken = ingest(catalog, 2)
        set_status(catalog, live_broken.storage_object_id, ObjectStatus.FAILED)
        catalog.delete("t1", deleted_broken.id)
        set_status(catalog, deleted_broken.storage_object_id, ObjectStatus.STORED)
        report = catalog.verify()
        counts = kinds(report)
        assert counts[FindingKind.BROKEN_ROW] == 2
        # The failed row no longer claims its (present) blob; the stored one's blob is gone.
        assert counts[FindingKind.ORPHAN_BLOB] == 1
        assert counts[FindingKind.MISSING_BLOB] == 1

    def test_findings_are_capped_counts_are_not(self, catalog: AssetCatalog) -> None:
        for _ in range(5):
            catalog.storage.write(f"stray/{uuid.uuid4()}.bin", [b"x"])
        report = catalog.verify(max_findings=2)
        assert report.counts[FindingKind.ORPHAN_BLOB] == 5
        assert report.total == 5
        assert len(report.findings) == 2
        assert not report.ok

    def test_unreadable_storage_is_an_error_not_a_finding(
        self, catalog: AssetCatalog, signer: UrlSigner
    ) -> None:
        """When blobs that exist cannot be read, verify raises StorageError."""
        ingest(catalog, 1)

        class Unreadable:
            def __init__(self, inner: BlobStorage) -> None:
                self._inner = inner

            def open(self, key: str) -> IO[bytes]:
                raise StorageError("disk on fire")

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

        broken = AssetCatalog(
            repository=catalog.repository, storage=Unreadable(catalog.storage), signer=signer
        )
        with pytest.raises(StorageError, match="disk on fire"):
            broken.verify()


# -- purge ----------------------------------------------------------------------------------------


class TestPurge:
    def test_purges_old_deletes_once_and_keeps_the_trail(
        self, catalog: AssetCatalog, clock: ManualClock
    ) -> None:
        old, recent, live = ingest(catalog, 3)
        catalog.delete("t1", old.id, actor="user:1")
        clock.now += 10 * DAY
        catalog.delete("t1", recent.id)
        fail_mid_stream(catalog)
        clock.now += 25 * DAY

        report = catalog.purge(dt.timedelta(days=30), actor="retention-job")
        assert (report.assets_purged, report.objects_purged) == (1, 1)
        assert catalog.repository.get_object(old.storage_object_id) is None
        trail = catalog.events("t1", old.id)
        assert [e.event for e in trail] == ["created", "deleted", "purged"]
        assert trail[-1].actor == "retention-job"
        assert trail[-1].details["sha256"] == old.sha256
        with pytest.raises(AssetNotFound):
            catalog.delete("t1", old.id)
        assert catalog.get("t1", live.id) == live
        assert catalog.repository.get_object(recent.storage_object_id) is not None

        again = catalog.purge(dt.timedelta(days=30))
        assert (again.assets_purged, again.objects_purged) == (0, 0)
        assert catalog.verify().ok

        clock.now += 30 * DAY  # now the second delete (and the failed ingest) are old too
        later = catalog.purge(dt.timedelta(days=30))
        assert later.assets_purged == 1
        assert later.objects_purged == 2  # the deleted asset's and the failed ingest's
        assert catalog.verify().ok
        assert [a.id for a in catalog.list("t1").items] == [live.id]

    def test_unfinished_delete_waits_for_reconcile(
        self, catalog: AssetCatalog, clock: ManualClock
    ) -> None:
        """An asset whose blob removal has not happened (object `deleting`) is not purged."""
        asset = ingest(catalog, 1)[0]
        catalog.repository.mark_deleted("t1", [asset.id], deleting("t1", clock()))
        clock.now += 100 * DAY
        assert catalog.purge(dt.timedelta(days=1)).assets_purged == 0
        assert catalog.reconcile().deletes_finished == 1
        clock.now += 2 * DAY
        assert catalog.purge(dt.timedelta(days=1)).assets_purged == 1
        assert not list(catalog.storage.iter_keys())

    def test_zero_retention_purges_everything_deleted(
        self, catalog: AssetCatalog, clock: ManualClock
    ) -> None:
        assets = ingest(catalog, 3)
        assert catalog.delete_conversation("t1", "conv") == 3
        clock.now += dt.timedelta(microseconds=1)
        assert catalog.purge(dt.timedelta(0)).assets_purged == 3
        for asset in assets:
            assert [e.event for e in catalog.events("t1", asset.id)][-1] == "purged"

    @pytest.mark.parametrize("value", [-DAY, 30, "30d", None])
    def test_bad_retention(self, catalog: AssetCatalog, value: object) -> None:
        with pytest.raises(InvalidInput) as info:
            catalog.purge(value)  # type: ignore[arg-type]
        assert info.value.field == "older_than"


def fail_mid_stream(catalog: AssetCatalog) -> None:
    """An ingest refused after its pending row: leaves one `failed` object row, no asset."""
    with pytest.raises(InvalidInput):
        catalog.ingest_container_file(
            "t1", iter([b"a" * 300_000, 12]), container_id="c", file_id="bad", filename="x.csv"
        )
