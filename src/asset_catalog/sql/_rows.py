"""Conversions between table rows and the catalog's models."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from .._ids import from_micros
from .._models import (
    Asset,
    AssetEvent,
    AssetType,
    EventKind,
    ObjectStatus,
    SourceTool,
    StorageObject,
)
from ._prepared import Prepared
from ._types import UtcDateTime

__all__ = [
    "asset_from_row",
    "asset_reader",
    "asset_values",
    "event_values",
    "object_from_row",
    "object_values",
]


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


def asset_reader(stmt: Prepared) -> Callable[[Sequence[Any]], Asset]:
    """A converter of ``stmt``'s raw result rows to assets: every column of the assets
    table, in any order, among others (ignored).

    The function is generated once per statement, like attrs generates ``__init__``: one
    keyword per field read by position, converted only where the column needs it (UTC
    timestamps, enums, JSON). A page of 50 costs a few microseconds a row instead of tens.
    """
    fields = attrs.fields_dict(Asset)
    namespace: dict[str, Any] = {"Asset": Asset, "new": object.__new__}
    items = []
    for position, ((name, processor), kind) in enumerate(
        zip(stmt.columns, stmt.column_types, strict=True)
    ):
        if name not in fields:
            continue
        convert = _converter(name, processor, kind, stmt.dialect_name)
        value = f"raw[{position}]"
        if convert is not None:
            namespace[f"c_{name}"] = convert
            value = f"c_{name}({value})"
        items.append(f"{name!r}: {value}")
    assert len(items) == len(fields), "the statement must select every column of the assets"
    # Rows the repository wrote need no __init__ (Asset has no validators or converters):
    # every field is set at once, as an ORM fills its objects.
    source = (
        "def read(raw):\n"
        "    asset = new(Asset)\n"
        f"    asset.__dict__.update({{{', '.join(items)}}})\n"
        "    return asset\n"
    )
    exec(compile(source, f"<asset_reader {stmt.sql[:40]!r}>", "exec"), namespace)  # noqa: S102
    return namespace["read"]  # type: ignore[no-any-return]


def _converter(
    name: str, processor: Callable[[Any], Any] | None, kind: Any, dialect: str
) -> Callable[[Any], Any] | None:
    """How one column's raw value becomes the field's value (None: as it comes)."""
    if name == "asset_type":
        return {kind.value: kind for kind in AssetType}.__getitem__
    if name == "source_tool":
        return {tool.value: tool for tool in SourceTool}.__getitem__
    if name == "metadata":
        return _document(processor)
    if isinstance(kind, UtcDateTime):
        return _from_micros if dialect == "sqlite" else _as_utc
    return processor


def _from_micros(value: int | None) -> dt.datetime | None:
    return None if value is None else from_micros(value)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else value.astimezone(dt.UTC)


def _document(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """Metadata as a dict of its own for every asset. Text (SQLite) is decoded once per
    distinct document while it is flat (scalars only: a copy then shares nothing), since a
    page repeats a few documents (``{"format": "png"}``) many times."""

    @functools.lru_cache(maxsize=512)
    def flat(text: str) -> dict[str, Any] | None:
        doc = processor(text) if processor is not None else None
        if isinstance(doc, dict) and all(isinstance(v, _SCALARS) for v in doc.values()):
            return doc
        return None

    def convert(value: Any) -> Any:
        if not value or value == "{}":
            return {}
        if isinstance(value, str) and len(value) <= 256 and (doc := flat(value)) is not None:
            return dict(doc)
        return (processor(value) if processor is not None else value) or {}

    return convert


_SCALARS = (str, int, float, bool, type(None))


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
