"""The repository contract, ingest: what ``add_pending_object``, ``complete_ingest`` and
``mark_objects_failed`` must store, and the usage they keep."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from .._models import AssetType, ObjectStatus
from ..exceptions import DuplicateKeyError, QuotaExceeded, RepositoryError
from ..protocols import AssetRepository
from ._builders import (
    BASE_TIME,
    created_event,
    deleting,
    make_asset,
    make_object,
    stored,
)

__all__ = ["IngestContract"]


class IngestContract:
    """What a repository must do for ingest: pending rows, one publishing transaction,
    idempotency keys, failed objects."""

    def test_pending_object_round_trips(self, repository: AssetRepository) -> None:
        """A pending object reads back field for field, timestamps to the microsecond."""
        obj = make_object()
        repository.add_pending_object(obj)
        assert repository.get_object(obj.id) == obj

    def test_timestamps_are_utc_whatever_zone_was_given(self, repository: AssetRepository) -> None:
        """A timestamp given in another zone reads back as the same instant in UTC."""
        zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
        obj = make_object(at=BASE_TIME.astimezone(zone))
        repository.add_pending_object(obj)
        got = repository.get_object(obj.id)
        assert got is not None
        assert got.created_at == BASE_TIME
        assert got.created_at.utcoffset() == dt.timedelta(0)

    def test_complete_ingest_stores_object_asset_and_event(
        self, repository: AssetRepository
    ) -> None:
        """Completing an ingest marks the object stored and makes the asset visible."""
        asset = stored(repository)
        assert repository.get_asset("tenant-a", asset.id) == asset
        obj = repository.get_object(asset.storage_object_id)
        assert obj is not None
        assert obj.status is ObjectStatus.STORED
        assert (obj.size_bytes, obj.sha256) == (asset.size_bytes, asset.sha256)
        assert [e.event for e in repository.events_for("tenant-a", asset.id)] == ["created"]

    def test_duplicate_idempotency_key_is_refused_atomically(
        self, repository: AssetRepository
    ) -> None:
        """A second asset with a taken key raises DuplicateKeyError and writes nothing."""
        first = stored(repository, idempotency_key="tool:1")
        obj = make_object()
        repository.add_pending_object(obj)
        loser = make_asset(obj, idempotency_key="tool:1")
        with pytest.raises(DuplicateKeyError):
            repository.complete_ingest(loser, created_event(loser))
        assert repository.get_asset("tenant-a", loser.id) is None
        assert repository.events_for("tenant-a", loser.id) == []
        pending = repository.get_object(obj.id)
        assert pending is not None
        assert pending.status is ObjectStatus.PENDING
        assert repository.find_by_idempotency_key("tenant-a", "tool:1") == first

    def test_complete_ingest_refuses_a_reclaimed_object(self, repository: AssetRepository) -> None:
        """An object reconcile() already marked failed cannot be published."""
        obj = make_object()
        repository.add_pending_object(obj)
        repository.mark_objects_failed([obj.id], BASE_TIME)
        asset = make_asset(obj)
        with pytest.raises(RepositoryError):
            repository.complete_ingest(asset, created_event(asset))
        assert repository.get_asset("tenant-a", asset.id) is None
        failed = repository.get_object(obj.id)
        assert failed is not None
        assert failed.status is ObjectStatus.FAILED

    def test_same_idempotency_key_in_two_tenants(self, repository: AssetRepository) -> None:
        """Idempotency keys are scoped to a tenant."""
        a = stored(repository, "tenant-a", idempotency_key="tool:1")
        b = stored(repository, "tenant-b", idempotency_key="tool:1")
        assert repository.find_by_idempotency_key("tenant-a", "tool:1") == a
        assert repository.find_by_idempotency_key("tenant-b", "tool:1") == b

    def test_failed_marks_only_pending_objects(self, repository: AssetRepository) -> None:
        """mark_objects_failed moves pending to failed and leaves stored objects alone."""
        obj = make_object()
        repository.add_pending_object(obj)
        repository.mark_objects_failed([obj.id], BASE_TIME)
        failed = repository.get_object(obj.id)
        assert failed is not None
        assert failed.status is ObjectStatus.FAILED
        asset = stored(repository)
        repository.mark_objects_failed([asset.storage_object_id], BASE_TIME)
        kept = repository.get_object(asset.storage_object_id)
        assert kept is not None
        assert kept.status is ObjectStatus.STORED

    def test_assets_keep_every_field(self, repository: AssetRepository) -> None:
        """Every Asset field survives the round trip unchanged."""
        asset = stored(
            repository,
            asset_type=AssetType.IMAGE,
            conversation_id="c" * 255,
            message_id="m",
            tool_call_id="tc",
            response_id="r",
            container_id="cntr",
            openai_file_id="file",
            agent_key="agent",
            user_id="ユーザー",
            width=1024,
            height=768,
            idempotency_key="idem",
            metadata={"format": "png", "nested": {"list": [1, 2.5, True, None]}},
        )
        assert repository.get_asset("tenant-a", asset.id) == attrs.evolve(asset)

    def test_usage_counts_live_assets_by_type_and_tool(self, repository: AssetRepository) -> None:
        """Each publish adds its asset to its tenant's usage; a delete takes it out; other
        tenants and failed ingests never count."""
        image = stored(repository, asset_type=AssetType.IMAGE)
        stored(repository, asset_type=AssetType.FILE, size_bytes=10)
        stored(repository, "tenant-b")
        failed = make_object()
        repository.add_pending_object(failed)
        repository.mark_objects_failed([failed.id], BASE_TIME)
        entries = {
            (e.asset_type, e.source_tool): (e.assets, e.bytes) for e in repository.usage("tenant-a")
        }
        assert entries == {
            (AssetType.IMAGE, image.source_tool): (1, image.size_bytes),
            (AssetType.FILE, image.source_tool): (1, 10),
        }
        repository.mark_deleted("tenant-a", [image.id], deleting("tenant-a", BASE_TIME))
        repository.mark_deleted("tenant-a", [image.id], deleting("tenant-a", BASE_TIME))  # again
        assert [(e.asset_type, e.assets, e.bytes) for e in repository.usage("tenant-a")] == [
            (AssetType.FILE, 1, 10)
        ]
        assert [e.assets for e in repository.usage("tenant-b")] == [1]
        assert repository.usage("tenant-c") == []

    def test_usage_rows_page_through_every_tenant_in_order(
        self, repository: AssetRepository
    ) -> None:
        """usage_rows lists every tenant's entries with assets, in key order, after a key."""
        for tenant in ("tenant-c", "tenant-a", "tenant-b"):
            stored(repository, tenant, asset_type=AssetType.IMAGE)
            stored(repository, tenant)
        gone = stored(repository, "tenant-d")
        repository.mark_deleted("tenant-d", [gone.id], deleting("tenant-d", BASE_TIME))
        first = repository.usage_rows(None, 4)
        rest = repository.usage_rows(
            (first[-1][0], first[-1][1].asset_type.value, first[-1][1].source_tool.value), 10
        )
        rows = [(tenant, e.asset_type, e.assets) for tenant, e in [*first, *rest]]
        assert rows == [
            (tenant, kind, 1)
            for tenant in ("tenant-a", "tenant-b", "tenant-c")
            for kind in (AssetType.FILE, AssetType.IMAGE)
        ]
        assert len(first) == 4

    def test_admit_sees_the_usage_and_its_refusal_writes_nothing(
        self, repository: AssetRepository
    ) -> None:
        """complete_ingest passes the tenant's usage to ``admit``; when it raises, the asset
        is not published, the object stays pending and the usage is unchanged."""
        first = stored(repository, size_bytes=7)
        seen: list[tuple[int, int]] = []

        def refuse(assets: int, used: int) -> None:
            seen.append((assets, used))
            raise QuotaExceeded("tenant-a", "assets", 1, assets, 1)

        obj = make_object()
        repository.add_pending_object(obj)
        asset = make_asset(obj)
        with pytest.raises(QuotaExceeded):
            repository.complete_ingest(asset, created_event(asset), refuse)
        assert seen == [(1, first.size_bytes)]
        assert repository.get_asset("tenant-a", asset.id) is None
        assert repository.events_for("tenant-a", asset.id) == []
        pending = repository.get_object(obj.id)
        assert pending is not None
        assert pending.status is ObjectStatus.PENDING
        assert [(e.assets, e.bytes) for e in repository.usage("tenant-a")] == [(1, 7)]
        repository.complete_ingest(asset, created_event(asset), lambda assets, used: None)
        assert [e.assets for e in repository.usage("tenant-a")] == [2]
