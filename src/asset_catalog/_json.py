"""The plain JSON form of the catalog's models, for hosts on any framework (the web adapters'
response models have the same fields)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs

from ._models import Asset, AssetEvent, Page, PresignBatch, PresignedUrl

__all__ = ["INTERNAL_ASSET_FIELDS", "to_json"]

INTERNAL_ASSET_FIELDS = frozenset({"tenant_id", "storage_object_id", "idempotency_key"})
"""Asset fields that never leave the host: who owns it is the caller, and how it is stored
is the catalog's business."""

_INTERNAL: Mapping[type, frozenset[str]] = {
    Asset: INTERNAL_ASSET_FIELDS | {"deleted_at"},
    AssetEvent: frozenset({"tenant_id"}),
    PresignedUrl: frozenset({"token"}),
}


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if attrs.has(type(value)):
        hidden = _INTERNAL.get(type(value), frozenset())
        return {
            field.name: _plain(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if field.name not in hidden
        }
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def to_json(value: Asset | AssetEvent | Page | PresignedUrl | PresignBatch | Any) -> Any:
    """The plain JSON form of a catalog model: dicts, lists, text, numbers and None, with
    datetimes as ISO 8601 UTC text (``...Z``) and enums as their values.

    An :class:`Asset` leaves out ``tenant_id``, ``storage_object_id``, ``idempotency_key``
    (and ``deleted_at``: a client only ever sees live assets); an :class:`AssetEvent` its
    ``tenant_id``; a :class:`PresignedUrl` its ``token`` (it is the URL's last segment).
    """
    return _plain(value)
