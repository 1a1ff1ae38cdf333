"""Every audit event the catalog records, built here and nowhere else.

Repositories store these events; they never invent one. Where an event must be built inside
a repository's transaction (the assets a link or a delete changed are only known there), the
repository calls one of the builders below through the callback the catalog hands it.

The trail of an asset is ordered by time, and nothing follows its ``deleted`` event but
``purged``: :func:`after` dates an event just past the latest one it must follow.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from typing import Any

from .._ids import new_id
from .._models import Asset, AssetEvent, EventKind

__all__ = [
    "after",
    "created",
    "deleted",
    "downloaded",
    "erased",
    "linked",
    "purged",
    "url_issued",
    "variant_skipped",
]

_ONE_MICROSECOND = dt.timedelta(microseconds=1)
_URL_EVENTS = uuid.UUID("6f1d3c0e-3a8b-5c1f-9d2e-8a4b7c6d5e40")  # names url_issued events


def after(at: dt.datetime, latest: dt.datetime | None) -> dt.datetime:
    """``at``, or one microsecond past ``latest`` when that is not earlier than ``at``.

    The catalog reads the clock before a repository takes its locks, so an event committed
    meanwhile (a link racing a delete) may carry a later time than ``at``.
    """
    if latest is not None and latest >= at:
        return latest + _ONE_MICROSECOND
    return at


def _event(
    kind: EventKind,
    tenant_id: str,
    asset_id: str,
    *,
    at: dt.datetime,
    actor: str | None,
    details: dict[str, Any] | None = None,
) -> AssetEvent:
    return AssetEvent(
        id=new_id(),
        tenant_id=tenant_id,
        asset_id=asset_id,
        event=kind,
        at=at,
        actor=actor,
        details=details or {},
    )


def created(asset: Asset) -> AssetEvent:
    """The asset was ingested; the actor is the user, else the agent, that produced it."""
    return _event(
        EventKind.CREATED,
        asset.tenant_id,
        asset.id,
        at=asset.created_at,
        actor=asset.user_id or asset.agent_key,
        details={"size_bytes": asset.size_bytes, "sha256": asset.sha256},
    )


def linked(
    tenant_id: str, asset_id: str, message_id: str, at: dt.datetime, actor: str | None
) -> AssetEvent:
    """The asset was attached to ``message_id``."""
    details = {"message_id": message_id}
    return _event(EventKind.LINKED, tenant_id, asset_id, at=at, actor=actor, details=details)


def url_issued(
    asset: Asset,
    at: dt.datetime,
    actor: str | None,
    *,
    kind: str,
    expires_at: int,
    disposition: str,
    windowed: bool,
) -> AssetEvent:
    """A download URL for the asset was handed out.

    Issued within a window (``windowed``), its id is derived from who got access to what
    until when (tenant, asset, actor, kind, disposition, expiry), so the same URL issued
    again within the window (a gallery shown twice) is recorded once: repositories store an
    event id only once. Without a window every call is its own event.
    """
    details = {"kind": kind, "expires_at": expires_at, "disposition": disposition}
    name = json.dumps([asset.tenant_id, asset.id, actor, kind, disposition, expires_at])
    return AssetEvent(
        id=str(uuid.uuid5(_URL_EVENTS, name)) if windowed else new_id(),
        tenant_id=asset.tenant_id,
        asset_id=asset.id,
        event=EventKind.URL_ISSUED,
        at=at,
        actor=actor,
        details=details,
    )


def downloaded(tenant_id: str, asset_id: str, at: dt.datetime, actor: str | None) -> AssetEvent:
    """A catalog-signed download of the asset was served."""
    return _event(EventKind.DOWNLOADED, tenant_id, asset_id, at=at, actor=actor)


def deleted(
    tenant_id: str,
    asset_ids: Sequence[str],
    at: dt.datetime,
    latest: dt.datetime | None,
    actor: str | None,
) -> list[AssetEvent]:
    """One ``deleted`` event per asset, dated after the latest event any of them has."""
    when = after(at, latest)
    return [
        _event(EventKind.DELETED, tenant_id, asset_id, at=when, actor=actor)
        for asset_id in asset_ids
    ]


def erased(
    tenant_id: str, asset_id: str, at: dt.datetime, actor: str | None, user_id: str
) -> AssetEvent:
    """The asset was erased at the request of ``user_id``: all that is kept of it."""
    details = {"user_id": user_id}
    return _event(EventKind.ERASED, tenant_id, asset_id, at=at, actor=actor, details=details)


def purged(asset: Asset, at: dt.datetime, actor: str | None) -> AssetEvent:
    """The asset's rows were removed for good: what was removed stays in the trail."""
    assert asset.deleted_at is not None, "only a deleted asset is purged"
    return _event(
        EventKind.PURGED,
        asset.tenant_id,
        asset.id,
        at=after(at, asset.deleted_at),
        actor=actor,
        details={
            "size_bytes": asset.size_bytes,
            "sha256": asset.sha256,
            "deleted_at": asset.deleted_at.isoformat(),
        },
    )


def variant_skipped(
    asset: Asset, at: dt.datetime, variants: Sequence[str], reason: str, detail: str
) -> AssetEvent:
    """The image's variants named were not made, for ``reason``; the image is catalogued."""
    details = {"variants": list(variants), "reason": reason, "detail": detail}
    return _event(
        EventKind.VARIANT_SKIPPED, asset.tenant_id, asset.id, at=at, actor=None, details=details
    )
