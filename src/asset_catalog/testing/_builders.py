"""Row builders shared by the contract suites."""

from __future__ import annotations

import datetime as dt
import hashlib
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
