"""Fault injection at every step of ingest, delete, link and download, then ``reconcile()``.

For each scenario the calls the catalog makes to its repository and storage are recorded once;
then, for every call and every mode of :mod:`faults` (fail before / after it takes effect, the
process dies before / after / in the middle of a write, an outage from that call on), the
scenario is run with that fault. After each fault the process "restarts" (a new catalog on
the same database and storage), runs ``reconcile()``, and must find:

* no ``pending`` or ``deleting`` rows left, and ``verify()`` without findings (no orphan blob,
  no row without its blob, sizes and checksums right, no live asset on a dead object);
* the retried call succeeding, with the outcome the scenario asked for;
* an error seen by the caller always typed (``AssetCatalogError``) unless the process died.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetCatalogError,
    AssetNotFound,
    AssetRepository,
    BlobStorage,
    ObjectStatus,
    UrlSigner,
)

from .clocks import TickingClock
from .faults import FaultPlan, FaultyRepository, FaultyStorage, ProcessDeath, fault_points
from .figures import FAULT_POINTS, record_verify
from .images import png_bytes

pytestmark = pytest.mark.slow

T0 = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)
FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
PNG = png_bytes(5, 4)
# Six 64 KiB chunks: the catalog reads 256 KiB to sniff, so the write itself streams chunks.
CSV_CHUNKS = [(f"chunk,{n}\n".encode() * 9000)[: 64 * 1024] for n in range(6)]


@attrs.define
class Scenario:
    """``prepare`` runs without faults and returns what ``run`` needs; ``run`` is the call
    under test (run faulted, then retried); ``check`` asserts the retried outcome."""

    name: str
    prepare: Callable[[AssetCatalog, str], Any]
    run: Callable[[AssetCatalog, str, Any], Any]
    check: Callable[[AssetCatalog, str, Any, Any], None]


def _live(catalog: AssetCatalog, tenant: str) -> list[Asset]:
    return list(catalog.list(tenant, limit=500).items)


def _blob(catalog: AssetCatalog, asset: Asset) -> bytes:
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    assert obj.status is ObjectStatus.STORED
    with catalog.storage.open(obj.key) as stream:
        return stream.read()


# -- ingest ---------------------------------------------------------------------------------------


def _ingest_image(catalog: AssetCatalog, tenant: str, _: Any) -> Asset:
    return catalog.ingest_image(tenant, PNG, tool_call_id="call-1", conversation_id="conv")


def _check_one_image(catalog: AssetCatalog, tenant: str, _: Any, result: Asset) -> None:
    (only,) = _live(catalog, tenant)
    assert only == result
    assert _blob(catalog, only) == PNG


def _ingest_file(catalog: AssetCatalog, tenant: str, _: Any) -> Asset:
    return catalog.ingest_container_file(
        tenant,
        iter(CSV_CHUNKS),
        container_id="cntr",
        file_id="file-1",
        filename="/mnt/data/report.csv",
        conversation_id="conv",
    )


def _check_one_file(catalog: AssetCatalog, tenant: str, _: Any, result: Asset) -> None:
    (only,) = _live(catalog, tenant)
    assert only == result
    assert (only.filename, only.size_bytes) == ("report.csv", 6 * 64 * 1024)
    assert _blob(catalog, only) == b"".join(CSV_CHUNKS)


def _upload_without_key(catalog: AssetCatalog, tenant: str, _: Any) -> Asset:
    return catalog.ingest_upload(tenant, io.BytesIO(b"a,b\n1,2\n"), filename="up.csv")


def _check_uploads(catalog: AssetCatalog, tenant: str, _: Any, result: Asset) -> None:
    # Without an idempotency key a retry after a commit whose reply was lost makes a second
    # asset: both are whole, none is half-made.
    live = _live(catalog, tenant)
    assert result in live
    assert 1 <= len(live) <= 2
    for asset in live:
        assert _blob(catalog, asset) == b"a,b\n1,2\n"


def _prepare_image(catalog: AssetCatalog, tenant: str) -> Asset:
    return _ingest_image(catalog, tenant, None)


def _check_same_image(catalog: AssetCatalog, tenant: str, first: Asset, result: Asset) -> None:
    assert result == first
    _check_one_image(catalog, tenant, None, result)


# -- delete ---------------------------------------------------------------------------------------


def _prepare_two(catalog: AssetCatalog, tenant: str) -> list[Asset]:
    return [
        catalog.ingest_image(
            tenant, png_bytes(2 + n, 2), tool_call_id=f"call-{n}", conversation_id="conv"
        )
        for n in range(2)
    ]


def _delete_first(catalog: AssetCatalog, tenant: str, assets: list[Asset]) -> bool:
    return catalog.delete(tenant, assets[0].id, actor="user:1")


def _check_first_deleted(
    catalog: AssetCatalog, tenant: str, assets: list[Asset], _result: Any
) -> None:
    with pytest.raises(AssetNotFound):
        catalog.get(tenant, assets[0].id)
    assert [a.id for a in _live(catalog, tenant)] == [assets[1].id]
    events = [e.event for e in catalog.events(tenant, assets[0].id)]
    assert events == ["created", "deleted"]


def _delete_conversation(catalog: AssetCatalog, tenant: str, _: Any) -> int:
    return catalog.delete_conversation(tenant, "conv")


def _check_conversation_gone(
    catalog: AssetCatalog, tenant: str, assets: list[Asset], _result: Any
) -> None:
    assert _live(catalog, tenant) == []
    for asset in assets:
        assert [e.event for e in catalog.events(tenant, asset.id)] == ["created", "deleted"]


# -- link -----------------------------------------------------------------------------------------


def _link_ids(catalog: AssetCatalog, tenant: str, assets: list[Asset]) -> int:
    return catalog.link_message(tenant, "msg-1", asset_ids=[a.id for a in assets])


def _link_tool_calls(catalog: AssetCatalog, tenant: str, _: Any) -> int:
    return catalog.link_message(tenant, "msg-1", tool_call_ids=["call-0", "call-1"])


def _check_linked(catalog: AssetCatalog, tenant: str, assets: list[Asset], _result: Any) -> None:
    for asset in assets:
        assert catalog.get(tenant, asset.id).message_id == "msg-1"
        assert [e.event for e in catalog.events(tenant, asset.id)] == ["created", "linked"]


# -- downloads ------------------------------------------------------------------------------------


def _presign(catalog: AssetCatalog, tenant: str, asset: Asset) -> str:
    return catalog.presign(tenant, asset.id).url


def _check_presigned(catalog: AssetCatalog, tenant: str, asset: Asset, url: str) -> None:
    assert url
    events = [e.event for e in catalog.events(tenant, asset.id)]
    assert events[0] == "created"
    assert set(events[1:]) == {"url_issued"}


def _prepare_token(catalog: AssetCatalog, tenant: str) -> tuple[Asset, str]:
    asset = _prepare_image(catalog, tenant)
    token = catalog.presign(tenant, asset.id).token
    assert token is not None
    return asset, token


def _open_signed(catalog: AssetCatalog, _tenant: str, prepared: tuple[Asset, str]) -> bytes:
    download = catalog.open_signed(prepared[1])
    with download.stream as stream:
        return stream.read()


def _check_opened(
    catalog: AssetCatalog, tenant: str, prepared: tuple[Asset, str], data: bytes
) -> None:
    assert data == PNG
    events = [e.event for e in catalog.events(tenant, prepared[0].id)]
    assert events[:2] == ["created", "url_issued"]
    assert "downloaded" in events[2:]


def _nothing(_catalog: AssetCatalog, _tenant: str) -> None:
    return None


SCENARIOS = [
    Scenario("ingest_image", _nothing, _ingest_image, _check_one_image),
    Scenario("ingest_container_file (streamed)", _nothing, _ingest_file, _check_one_file),
    Scenario("ingest_upload (no idempotency key)", _nothing, _upload_without_key, _check_uploads),
    Scenario("ingest_image again (known key)", _prepare_image, _ingest_image, _check_same_image),
    Scenario("delete", _prepare_two, _delete_first, _check_first_deleted),
    Scenario("delete_conversation", _prepare_two, _delete_conversation, _check_conversation_gone),
    Scenario("link_message (asset ids)", _prepare_two, _link_ids, _check_linked),
    Scenario("link_message (tool call ids)", _prepare_two, _link_tool_calls, _check_linked),
    Scenario("presign", _prepare_image, _presign, _check_presigned),
    Scenario("open_signed", _prepare_token, _open_signed, _check_opened),
]


# -- the harness ----------------------------------------------------------------------------------


def assert_consistent(catalog: AssetCatalog, where: str) -> None:
    for status in (ObjectStatus.PENDING, ObjectStatus.DELETING):
        left = catalog.repository.objects_in_status(status, FAR_FUTURE, 10)
        assert left == [], f"{where}: {status.value} rows left: {left}"
    report = catalog.verify()
    record_verify("fault injection", report)
    assert report.ok, f"{where}: verify found {report.findings}"
    assert report.in_flight == 0, where


def clean_up(catalog: AssetCatalog, tenant: str) -> None:
    """Delete and purge the case's assets, so each case starts from an empty catalog."""
    while ids := [a.id for a in _live(catalog, tenant)]:
        for asset_id in ids:
            catalog.delete(tenant, asset_id)
    catalog.purge(dt.timedelta(0))
    assert list(catalog.storage.iter_keys()) == []


def survive_every_fault(
    scenario: Scenario, repository: AssetRepository, storage: BlobStorage, signer: UrlSigner
) -> int:
    """Inject every fault point of ``scenario``; return how many were survived."""
    clock = TickingClock(T0)

    def catalog_with(plan: FaultPlan | None) -> AssetCatalog:
        if plan is None:
            return AssetCatalog(repository=repository, storage=storage, signer=signer, clock=clock)
        return AssetCatalog(
            repository=FaultyRepository(repository, plan),
            storage=FaultyStorage(storage, plan),
            signer=signer,
            clock=clock,
        )

    healthy = catalog_with(None)

    # Record the calls of a fault-free run: each is a fault point.
    recorder = FaultPlan()
    tenant = f"rec-{uuid.uuid4().hex[:8]}"
    prepared = scenario.prepare(healthy, tenant)
    scenario.check(
        healthy, tenant, prepared, scenario.run(catalog_with(recorder), tenant, prepared)
    )
    clean_up(healthy, tenant)
    points = fault_points(recorder.calls)
    assert points, "the scenario makes no call to fault"

    for at, mode in points:
        where = f"{scenario.name}: {mode} at call {at} ({recorder.calls[at]})"
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        prepared = scenario.prepare(healthy, tenant)
        plan = FaultPlan(at, mode)
        try:
            scenario.run(catalog_with(plan), tenant, prepared)
        except ProcessDeath:
            assert mode.startswith("die"), where
        except AssetCatalogError:
            assert not mode.startswith("die"), where
        assert plan.fired, f"{where}: the fault point was not reached"
        assert plan.calls[at] == recorder.calls[at], f"{where}: calls differ: {plan.calls}"

        # Restart: a new process on the same database and storage.
        restarted = catalog_with(None)
        report = restarted.reconcile(older_than=dt.timedelta(0))
        assert report.errors == (), where
        assert_consistent(restarted, f"{where}, after reconcile")
        result = scenario.run(restarted, tenant, prepared)
        scenario.check(restarted, tenant, prepared, result)
        assert_consistent(restarted, f"{where}, after the retry")
        clean_up(restarted, tenant)
    return len(points)


def _count(backend: str, points: int) -> None:
    FAULT_POINTS[backend] += points


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_every_fault_point_is_survived(
    scenario: Scenario,
    any_repository: AssetRepository,
    any_storage: BlobStorage,
    signer: UrlSigner,
    request: pytest.FixtureRequest,
) -> None:
    params = request.node.callspec.params
    backend = f"{params['any_repository']} + {params['any_storage']}"
    backend = backend.replace("_repository", "").replace("_storage", "")
    _count(backend, survive_every_fault(scenario, any_repository, any_storage, signer))


# S3 signs natively, so there is no catalog token for open_signed to serve.
ON_S3 = [s for s in SCENARIOS if s.name != "open_signed"]


@pytest.mark.parametrize("scenario", ON_S3, ids=lambda s: s.name)
def test_fault_points_on_s3(
    scenario: Scenario,
    sqlite_repository: AssetRepository,
    s3_storage: BlobStorage,
    signer: UrlSigner,
) -> None:
    """The same on a real S3 API server (moto on loopback), where presign signs natively."""
    _count("sqlite + s3", survive_every_fault(scenario, sqlite_repository, s3_storage, signer))
