"""Row and event builders shared by the contract suites."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import attrs

from .._ids import new_id
from .._models import (
    Asset,
    AssetEvent,
    AssetType,
    EventKind,
    ObjectStatus,
    SourceTool,
    StorageObject,
)
from ..protocols import AssetRepository, DeletedEvents, LinkedEvent, PurgedEvent

BASE_TIME = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def make_object(tenant_id: str = "tenant-a", *, at: dt.datetime = BASE_TIME) -> StorageObject:
    object_id = new_id()
    return StorageObject(
        id=object_id,
        tenant_id=tenant_id,
        key=f"t/{at:%Y/%m/%d}/{object_id}.bin",
        filename="file.bin",
        mime_type="application/octet-stream",
        status=ObjectStatus.PENDING,
        created_at=at,
        metadata={"source": "contract"},
    )


def make_asset(obj: StorageObject, **changes: Any) -> Asset:
    content = obj.id.encode()
    asset = Asset(
        id=new_id(),
        tenant_id=obj.tenant_id,
        storage_object_id=obj.id,
        asset_type=AssetType.FILE,
        source_tool=SourceTool.CODE_INTERPRETER,
        filename=obj.filename,
        mime_type=obj.mime_type,
        size_bytes=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        created_at=obj.created_at,
        updated_at=obj.created_at,
        metadata={"k": [1, 2, {"x": None}]},
    )
    return attrs.evolve(asset, **changes)


def created_event(asset: Asset) -> AssetEvent:
    return AssetEvent(
        id=new_id(),
        tenant_id=asset.tenant_id,
        asset_id=asset.id,
        event=EventKind.CREATED,
        at=asset.created_at,
        details={"size_bytes": asset.size_bytes},
    )


def deleting(tenant_id: str, at: dt.datetime, actor: str | None = None) -> DeletedEvents:
    """A ``deleted`` callback as the catalog passes one: an event per id at ``at``."""

    def build(asset_ids: Sequence[str], _latest: dt.datetime | None) -> list[AssetEvent]:
        return [
            AssetEvent(new_id(), tenant_id, asset_id, EventKind.DELETED, at, actor)
            for asset_id in asset_ids
        ]

    return build


def linking(
    tenant_id: str, message_id: str, at: dt.datetime, actor: str | None = None
) -> LinkedEvent:
    """A ``linked`` callback as the catalog passes one."""

    def build(asset_id: str) -> AssetEvent:
        details = {"message_id": message_id}
        return AssetEvent(new_id(), tenant_id, asset_id, EventKind.LINKED, at, actor, details)

    return build


def purging(at: dt.datetime, actor: str | None = None) -> PurgedEvent:
    """A ``purged`` callback as the catalog passes one: what was removed, in the details."""

    def build(asset: Asset) -> AssetEvent:
        details = {"size_bytes": asset.size_bytes, "sha256": asset.sha256}
        return AssetEvent(new_id(), asset.tenant_id, asset.id, EventKind.PURGED, at, actor, details)

    return build


def stored(repo: AssetRepository, tenant: str = "tenant-a", **changes: Any) -> Asset:
    """An asset ingested the way the catalog does it: pending object, then published."""
    at = changes.pop("created_at", BASE_TIME)
    obj = make_object(tenant, at=at)
    repo.add_pending_object(obj)
    asset = make_asset(obj, **changes)
    repo.complete_ingest(asset, created_event(asset))
    return asset
