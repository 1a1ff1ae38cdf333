"""Conversions between table rows and the catalog's models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._models import (
    Asset,
    AssetEvent,
    AssetType,
    EventKind,
    ObjectStatus,
    SourceTool,
    StorageObject,
)

__all__ = ["asset_from_row", "asset_values", "event_values", "object_from_row", "object_values"]


def object_values(obj: StorageObject) -> dict[str, Any]:
    return {
        "id": obj.id,
        "tenant_id": obj.tenant_id,
        "key": obj.key,
        "filename": obj.filename,
        "mime_type": obj.mime_type,
        "size_bytes": obj.size_bytes,
        "sha256": obj.sha256,
        "status": obj.status.value,
        "created_at": obj.created_at,
        "deleted_at": obj.deleted_at,
        "metadata": dict(obj.metadata),
    }


def object_from_row(row: Mapping[Any, Any]) -> StorageObject:
    return StorageObject(
        id=row["id"],
        tenant_id=row["tenant_id"],
        key=row["key"],
        filename=row["filename"],
        mime_type=row["mime_type"],
        status=ObjectStatus(row["status"]),
        created_at=row["created_at"],
        size_bytes=row["size_bytes"],
        sha256=row["sha256"],
        deleted_at=row["deleted_at"],
        metadata=row["metadata"] or {},
    )


_ASSET_FIELDS = (
    "id",
    "tenant_id",
    "storage_object_id",
    "conversation_id",
    "message_id",
    "tool_call_id",
    "response_id",
    "container_id",
    "openai_file_id",
    "agent_key",
    "user_id",
    "filename",
    "mime_type",
    "size_bytes",
    "sha256",
    "width",
    "height",
    "idempotency_key",
    "created_at",
    "updated_at",
    "deleted_at",
    "variant_of",
    "variant",
    "source_asset_id",
    "placeholder",
)


def asset_values(asset: Asset) -> dict[str, Any]:
    values = {name: getattr(asset, name) for name in _ASSET_FIELDS}
    values["asset_type"] = asset.asset_type.value
    values["source_tool"] = asset.source_tool.value
    values["metadata"] = dict(asset.metadata)
    return values


def asset_from_row(row: Mapping[Any, Any]) -> Asset:
    values = {name: row[name] for name in _ASSET_FIELDS}
    return Asset(
        asset_type=AssetType(row["asset_type"]),
        source_tool=SourceTool(row["source_tool"]),
        metadata=row["metadata"] or {},
        **values,
    )


def event_values(event: AssetEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "tenant_id": event.tenant_id,
        "asset_id": event.asset_id,
        "event": event.event,
        "actor": event.actor,
        "at": event.at,
        "details": dict(event.details),
    }


def event_from_row(row: Mapping[Any, Any]) -> AssetEvent:
    return AssetEvent(
        id=row["id"],
        tenant_id=row["tenant_id"],
        asset_id=row["asset_id"],
        event=EventKind(row["event"]),
        actor=row["actor"],
        at=row["at"],
        details=row["details"] or {},
    )
