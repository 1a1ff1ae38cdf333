"""Concurrency tests on SQLite and PostgreSQL with local file storage, using real threads.

Every racing call waits on a :class:`threading.Barrier` first, so the calls really start
together; each scenario runs several rounds to make the interleavings likely.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetNotFound,
    ObjectStatus,
    Quota,
    QuotaExceeded,
    StorageError,
    UrlSigner,
)
from asset_catalog.protocols import AssetRepository, BlobStorage

from .images import png_bytes

pytestmark = pytest.mark.slow

TENANT = "tenant-c"
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
IMAGE = png_bytes(3, 2)
CSV = b"region,revenue\nnorth,10\nsouth,20\n"
SAME_KEY_THREADS = 16
SAME_KEY_ROUNDS = 5
BULK_THREADS = 8
BULK_PER_THREAD = 200
RACE_ROUNDS = 30
TIMEOUT = 60  # seconds a barrier or a future may wait before the test fails instead of hanging


@pytest.fixture
def threaded_catalog(
    any_repository: AssetRepository, local_storage: BlobStorage, signer: UrlSigner
) -> AssetCatalog:
    """A catalog on each database with local file storage, shared by all threads."""
    return AssetCatalog(repository=any_repository, storage=local_storage, signer=signer)


# -- helpers --------------------------------------------------------------------------------


class Outcome:
    """What one racing call did: its return value or the exception it raised."""

    def __init__(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value = value
        self.error = error


def race(pool: ThreadPoolExecutor, calls: Sequence[Callable[[], Any]]) -> list[Outcome]:
    """Run ``calls`` on the pool, released together by a barrier; collect every outcome."""
    barrier = threading.Barrier(len(calls), timeout=TIMEOUT)

    def run(call: Callable[[], Any]) -> Outcome:
        barrier.wait()
        try:
            return Outcome(value=call())
        except Exception as exc:
            return Outcome(error=exc)

    futures = [pool.submit(run, call) for call in calls]
    return [future.result(timeout=TIMEOUT) for future in futures]


def blob_files(storage: BlobStorage) -> list[str]:
    """Every file under the local storage root, found by walking the directory tree."""
    root = storage.root  # type: ignore[attr-defined]
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, _dirs, names in os.walk(root)
        for name in names
    )


def objects_by_status(repository: AssetRepository) -> dict[ObjectStatus, list[str]]:
    """Storage object ids grouped by status (the database holds only this test's rows)."""
    return {
        status: [o.id for o in repository.objects_in_status(status, FAR_FUTURE, 100_000)]
        for status in ObjectStatus
    }


def all_listed(catalog: AssetCatalog, tenant: str = TENANT) -> list[Asset]:
    """Every live asset of the tenant, read page by page."""
    items: list[Asset] = []
    cursor: str | None = None
    while True:
        page = catalog.list(tenant, limit=500, cursor=cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items


def unwrap(outcomes: Sequence[Outcome]) -> list[Any]:
    """The return values, failing the test with the first exception any call raised."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise AssertionError(f"a concurrent call raised {outcome.error!r}") from outcome.error
    return [outcome.value for outcome in outcomes]


# -- tests ----------------------------------------------------------------------------------


class TestSameKeyIngest:
    def _check_one_winner(
        self, catalog: AssetCatalog, storage: BlobStorage, results: list[list[Asset]]
    ) -> None:
        winners = [{asset.id for asset in round_results} for round_results in results]
        assert all(len(ids) == 1 for ids in winners), winners
        listed = all_listed(catalog)
        assert sorted(a.id for a in listed) == sorted(ids.pop() for ids in winners)
        objects = objects_by_status(catalog.repository)
        assert sorted(objects[ObjectStatus.STORED]) == sorted(a.storage_object_id for a in listed)
        assert objects[ObjectStatus.PENDING] == []
        assert objects[ObjectStatus.DELETING] == []
        assert objects[ObjectStatus.DELETED] == []
        # Every loser that got as far as a pending row ended `failed`, with its blob removed.
        assert len(objects[ObjectStatus.FAILED]) <= len(results) * (SAME_KEY_THREADS - 1)
        assert len(blob_files(storage)) == len(listed)
        # Informational (printed with -s): how many losers got as far as writing a blob.
        print(f"{len(objects[ObjectStatus.FAILED])} losing ingests rolled back")
        for asset in listed:
            events = catalog.events(TENANT, asset.id)
            assert [e.event for e in events] == ["created"]

    def test_same_tool_call_id_yields_one_asset(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage
    ) -> None:
        """Sixteen threads ingesting one image for one tool call id get one asset and one blob."""
        results: list[list[Asset]] = []
        with ThreadPoolExecutor(SAME_KEY_THREADS) as pool:
            for round_no in range(SAME_KEY_ROUNDS):
                call_id = f"call-same-{round_no}"
                results.append(
                    unwrap(
                        race(
                            pool,
                            [
                                partial(
                                    threaded_catalog.ingest_image,
                                    TENANT,
                                    IMAGE,
                                    tool_call_id=call_id,
                                )
                            ]
                            * SAME_KEY_THREADS,
                        )
                    )
                )
        assert all(a.tool_call_id == f"call-same-{n}" for n, r in enumerate(results) for a in r)
        self._check_one_winner(threaded_catalog, local_storage, results)

    def test_same_container_file_yields_one_asset(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage
    ) -> None:
        """Sixteen threads ingesting one container file id get one asset and one blob."""
        results: list[list[Asset]] = []
        with ThreadPoolExecutor(SAME_KEY_THREADS) as pool:
            for round_no in range(SAME_KEY_ROUNDS):
                file_id = f"cfile-{round_no}"
                results.append(
                    unwrap(
                        race(
                            pool,
                            [
                                partial(
                                    threaded_catalog.ingest_container_file,
                                    TENANT,
                                    CSV,
                                    container_id="cntr-1",
                                    file_id=file_id,
                                    filename="/mnt/data/revenue.csv",
                                )
                            ]
                            * SAME_KEY_THREADS,
                        )
                    )
                )
        assert all(
            a.openai_file_id == f"cfile-{n}" and a.container_id == "cntr-1"
            for n, r in enumerate(results)
            for a in r
        )
        self._check_one_winner(threaded_catalog, local_storage, results)


class TestManyDistinctIngests:
    def test_parallel_ingests_are_all_kept_once(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage
    ) -> None:
        """Eight threads x 200 distinct ingests keep every asset exactly once, without errors."""
        barrier = threading.Barrier(BULK_THREADS, timeout=TIMEOUT)

        def worker(thread_no: int) -> list[str]:
            barrier.wait()
            ids = []
            for n in range(BULK_PER_THREAD):
                image = png_bytes(1 + n % 7, 1 + thread_no)
                asset = threaded_catalog.ingest_image(
                    TENANT, image, tool_call_id=f"call-{thread_no}-{n}"
                )
                ids.append(asset.id)
            return ids

        with ThreadPoolExecutor(BULK_THREADS) as pool:
            futures = [pool.submit(worker, t) for t in range(BULK_THREADS)]
            # Any RepositoryError (e.g. SQLite's "database is locked") fails the test here.
            returned = [i for f in futures for i in f.result(timeout=TIMEOUT)]

        total = BULK_THREADS * BULK_PER_THREAD
        assert len(returned) == len(set(returned)) == total
        listed = all_listed(threaded_catalog)
        listed_ids = [a.id for a in listed]
        assert len(listed_ids) == len(set(listed_ids)) == total
        assert set(listed_ids) == set(returned)
        assert {a.tool_call_id for a in listed} == {
            f"call-{t}-{n}" for t in range(BULK_THREADS) for n in range(BULK_PER_THREAD)
        }
        objects = objects_by_status(threaded_catalog.repository)
        assert len(objects[ObjectStatus.STORED]) == total
        assert sum(len(ids) for ids in objects.values()) == total  # no failed or pending rows
        assert len(blob_files(local_storage)) == total


class TestQuotaRaces:
    """Concurrent ingests against a nearly full quota: the limit holds exactly."""

    @pytest.mark.parametrize("limit", ["assets", "bytes"])
    def test_sixteen_ingests_for_two_free_places(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage, limit: str
    ) -> None:
        """Three of five places taken, sixteen racers: two win, fourteen get QuotaExceeded
        naming the limit, and nothing of theirs is kept (no asset, no blob, no count)."""
        catalog = threaded_catalog
        size = 100
        quota = Quota(max_assets=5) if limit == "assets" else Quota(max_bytes=5 * size)
        catalog.quota = lambda tenant: quota if tenant == TENANT else None
        for n in range(3):
            catalog.ingest_upload(TENANT, bytes([n]) * size, filename=f"old-{n}.bin")
        catalog.ingest_upload("tenant-free", b"x" * 10 * size, filename="other.bin")  # no quota
        with ThreadPoolExecutor(16) as pool:
            outcomes = race(
                pool,
                [
                    partial(catalog.ingest_upload, TENANT, bytes([n]) * size, filename="new.bin")
                    for n in range(10, 26)
                ],
            )
        won = [o.value for o in outcomes if o.error is None]
        lost = [o.error for o in outcomes if o.error is not None]
        assert len(won) == 2
        assert len(lost) == 14
        assert all(isinstance(e, QuotaExceeded) and e.limit == limit for e in lost), lost
        usage = catalog.usage(TENANT)
        assert (usage.assets, usage.bytes) == (5, 5 * size)
        assert len(all_listed(catalog)) == 5
        catalog.reconcile(older_than=dt.timedelta(0))
        assert catalog.verify().ok
        assert len(blob_files(local_storage)) == 6  # five of the tenant's, one of the other

    def test_deleted_assets_stop_counting(self, threaded_catalog: AssetCatalog) -> None:
        """A full tenant deletes one asset: the next ingest fits."""
        catalog = threaded_catalog
        catalog.quota = lambda tenant: Quota(max_assets=1)
        first = catalog.ingest_upload(TENANT, b"one", filename="one.txt")
        with pytest.raises(QuotaExceeded):
            catalog.ingest_upload(TENANT, b"two", filename="two.txt")
        catalog.delete(TENANT, first.id)
        assert catalog.ingest_upload(TENANT, b"two", filename="two.txt").size_bytes == 3


class TestDeleteRaces:
    def _assert_gone(self, catalog: AssetCatalog, storage: BlobStorage, asset: Asset) -> None:
        with pytest.raises(AssetNotFound):
            catalog.get(TENANT, asset.id)
        with pytest.raises(AssetNotFound):
            catalog.presign(TENANT, asset.id)
        with pytest.raises(AssetNotFound):
            catalog.link_message(TENANT, "msg-after", asset_ids=[asset.id])
        obj = catalog.repository.get_object(asset.storage_object_id)
        assert obj is not None
        assert obj.status is ObjectStatus.DELETED
        assert not storage.exists(obj.key)

    def test_delete_racing_presign_link_and_download(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage
    ) -> None:
        """Delete racing presign, link_message and open_signed never resurrects or links late."""
        catalog = threaded_catalog
        contents = [png_bytes(2 + n, 3) for n in range(RACE_ROUNDS)]
        assets = [
            catalog.ingest_image(TENANT, content, tool_call_id=f"call-race-{n}")
            for n, content in enumerate(contents)
        ]
        tokens = [catalog.presign(TENANT, a.id).token for a in assets]
        first_sightings = {"link": 0, "presign": 0, "download": 0}

        def download(token: str) -> bytes:
            got = catalog.open_signed(token)
            with got.stream as stream:
                return stream.read()

        with ThreadPoolExecutor(4) as pool:
            for asset, content, token in zip(assets, contents, tokens, strict=True):
                assert token is not None
                deleted, presigned, linked, downloaded = race(
                    pool,
                    [
                        partial(catalog.delete, TENANT, asset.id),
                        partial(catalog.presign, TENANT, asset.id),
                        partial(
                            catalog.link_message, TENANT, f"msg-{asset.id}", asset_ids=[asset.id]
                        ),
                        partial(download, token),
                    ],
                )
                assert deleted.error is None
                assert deleted.value is True

                names = [e.event for e in catalog.events(TENANT, asset.id)]
                assert names.count("created") == 1, names
                assert names.count("deleted") == 1, names
                assert names[0] == "created", names
                after_delete = names[names.index("deleted") + 1 :]

                # link_message linked before the delete, or found nothing live to link.
                if linked.error is not None:
                    assert isinstance(linked.error, AssetNotFound), linked.error
                    assert "linked" not in names
                elif linked.value == 1:
                    assert names.count("linked") == 1, names
                    first_sightings["link"] += 1
                else:
                    assert linked.value == 0
                    assert "linked" not in names
                assert "linked" not in after_delete, names

                # presign found the asset live and issued a URL, or raised AssetNotFound.
                issued = names.count("url_issued")
                if presigned.error is not None:
                    assert isinstance(presigned.error, AssetNotFound), presigned.error
                    assert issued == 1, names  # only the token issued before the race
                else:
                    assert issued == 2, names
                    first_sightings["presign"] += 1
                    # The URL it issued does not bring the deleted asset back.
                    with pytest.raises(AssetNotFound):
                        catalog.open_signed(presigned.value.token)
                assert "url_issued" not in after_delete, names

                # open_signed streamed the whole, correct content, or refused.
                if downloaded.error is not None:
                    assert isinstance(downloaded.error, AssetNotFound | StorageError), (
                        downloaded.error
                    )
                    assert "downloaded" not in names, names
                else:
                    assert downloaded.value == content
                    assert names.count("downloaded") == 1, names
                    first_sightings["download"] += 1
                assert "downloaded" not in after_delete, names

                self._assert_gone(catalog, local_storage, asset)

        assert all_listed(catalog) == []
        assert blob_files(local_storage) == []
        # Informational: the interleavings this run saw (printed with -s).
        print(f"calls that won against delete in {RACE_ROUNDS} rounds: {first_sightings}")

    def test_delete_racing_presign_many(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage
    ) -> None:
        """presign_many racing a delete signs the asset before it or reports it missing."""
        catalog = threaded_catalog
        keeper = catalog.ingest_image(TENANT, IMAGE, tool_call_id="call-keeper")
        assets = [
            catalog.ingest_image(TENANT, png_bytes(2 + n, 4), tool_call_id=f"call-many-{n}")
            for n in range(RACE_ROUNDS)
        ]
        signed_first = 0
        with ThreadPoolExecutor(2) as pool:
            for asset in assets:
                deleted, batch = unwrap(
                    race(
                        pool,
                        [
                            partial(catalog.delete, TENANT, asset.id),
                            partial(catalog.presign_many, TENANT, [asset.id, keeper.id]),
                        ],
                    )
                )
                assert deleted is True
                assert keeper.id in batch.urls
                names = [e.event for e in catalog.events(TENANT, asset.id)]
                if asset.id in batch.urls:
                    assert batch.missing == ()
                    assert names == ["created", "url_issued", "deleted"]
                    signed_first += 1
                else:
                    assert batch.missing == (asset.id,)
                    assert names == ["created", "deleted"]
                self._assert_gone(catalog, local_storage, asset)
        assert [e.event for e in catalog.events(TENANT, keeper.id)] == ["created"] + [
            "url_issued"
        ] * RACE_ROUNDS
        print(f"presign_many signed before delete in {signed_first} of {RACE_ROUNDS} rounds")

    def test_two_deletes_one_wins(
        self, threaded_catalog: AssetCatalog, local_storage: BlobStorage
    ) -> None:
        """Two threads deleting one asset at once: one returns True, the other False."""
        catalog = threaded_catalog
        assets = [
            catalog.ingest_image(TENANT, IMAGE, tool_call_id=f"call-del-{n}")
            for n in range(RACE_ROUNDS)
        ]
        with ThreadPoolExecutor(2) as pool:
            for asset in assets:
                results = unwrap(race(pool, [partial(catalog.delete, TENANT, asset.id)] * 2))
                assert sorted(results) == [False, True]
                names = [e.event for e in catalog.events(TENANT, asset.id)]
                assert names == ["created", "deleted"]
                self._assert_gone(catalog, local_storage, asset)
        assert blob_files(local_storage) == []


class TestPurgeRaces:
    def test_parallel_purges_remove_each_asset_once(self, threaded_catalog: AssetCatalog) -> None:
        """Four threads purging the same 600 deleted assets at once: each asset is purged by
        exactly one of them, with exactly one ``purged`` event; nothing live is touched."""
        catalog = threaded_catalog
        doomed = [
            catalog.ingest_container_file(
                TENANT, CSV, container_id="c", file_id=f"p{n}", filename="r.csv"
            )
            for n in range(600)
        ]
        kept = catalog.ingest_image(TENANT, IMAGE, tool_call_id="call-kept")
        for asset in doomed:
            assert catalog.delete(TENANT, asset.id)
        later = catalog.clock() + dt.timedelta(days=2)
        purger = AssetCatalog(
            repository=catalog.repository,
            storage=catalog.storage,
            signer=UrlSigner("purge-race-secret-0123456789"),
            clock=lambda: later,
        )
        with ThreadPoolExecutor(4) as pool:
            reports = unwrap(race(pool, [partial(purger.purge, dt.timedelta(days=1))] * 4))
        assert sum(r.assets_purged for r in reports) == len(doomed)
        assert sum(r.objects_purged for r in reports) == len(doomed)
        for asset in doomed:
            names = [e.event for e in catalog.events(TENANT, asset.id)]
            assert names == ["created", "deleted", "purged"]
        assert catalog.get(TENANT, kept.id) == kept
        assert catalog.verify().ok
