"""Reads: one asset, its audit trail, a tenant's usage, and pages of assets with signed
keyset cursors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from .._ids import from_micros, to_micros
from .._inputs import plausible_id
from .._models import Asset, AssetEvent, Lineage, Page, Usage, UsageEntry
from ..exceptions import AssetNotFound, InvalidCursor, SignatureError
from ..protocols import AssetQuery, Position
from .context import BATCH, Context

__all__ = ["events_of", "get", "lineage", "page", "usage_of", "usage_of_every_tenant"]

MAX_SOURCES = 64
"""The longest chain of sources :func:`lineage` follows (edits of edits of ...)."""


def get(ctx: Context, tenant_id: str, asset_id: object) -> Asset:
    """One live asset of the tenant, or :class:`AssetNotFound`."""
    asset = None
    if plausible_id(asset_id):
        assert isinstance(asset_id, str)
        asset = ctx.repository.get_asset(tenant_id, asset_id)
    if asset is None:
        raise AssetNotFound(str(asset_id))
    return asset


def lineage(ctx: Context, tenant_id: str, asset_id: object) -> Lineage:
    """An asset of the tenant with its sources (nearest first, while they are live), its
    live variants (by name) and the live edits made from it (oldest first)."""
    asset = get(ctx, tenant_id, asset_id)
    sources: list[Asset] = []
    seen = {asset.id}
    current = asset
    while current.source_asset_id is not None and len(sources) < MAX_SOURCES:
        source = ctx.repository.get_asset(tenant_id, current.source_asset_id)
        if source is None or source.id in seen:
            break
        sources.append(source)
        seen.add(source.id)
        current = source
    derived = ctx.repository.derived_from(tenant_id, asset.id)
    return Lineage(
        asset=asset,
        sources=tuple(sources),
        variants=tuple(
            sorted((d for d in derived if d.variant_of == asset.id), key=lambda d: d.variant or "")
        ),
        edits=tuple(d for d in derived if d.variant_of is None and d.source_asset_id == asset.id),
    )


def events_of(ctx: Context, tenant_id: str, asset_id: object) -> tuple[AssetEvent, ...]:
    """The audit trail of an asset of the tenant (empty for an id it never had)."""
    if not plausible_id(asset_id):
        return ()
    assert isinstance(asset_id, str)
    return tuple(ctx.repository.events_for(tenant_id, asset_id))


def usage_of(ctx: Context, tenant_id: str) -> Usage:
    """The tenant's live assets and bytes, in all and by type and source tool."""
    return _usage(tenant_id, list(ctx.repository.usage(tenant_id)))


def usage_of_every_tenant(ctx: Context) -> Iterator[Usage]:
    """Each tenant's usage, in tenant id order, read a batch of rows at a time."""
    after: tuple[str, str, str] | None = None
    tenant, entries = None, list[UsageEntry]()
    while rows := ctx.repository.usage_rows(after, BATCH):
        for tenant_id, entry in rows:
            if tenant_id != tenant and tenant is not None:
                yield _usage(tenant, entries)
                entries = []
            tenant = tenant_id
            entries.append(entry)
        last_tenant, last = rows[-1]
        after = (last_tenant, last.asset_type.value, last.source_tool.value)
    if tenant is not None:
        yield _usage(tenant, entries)


def _usage(tenant_id: str, entries: list[UsageEntry]) -> Usage:
    return Usage(
        tenant_id,
        assets=sum(e.assets for e in entries),
        bytes=sum(e.bytes for e in entries),
        entries=tuple(entries),
    )


def fingerprint(query: AssetQuery) -> str:
    """A stable text form of the filters, bound into cursors."""
    parts = [
        query.asset_type.value if query.asset_type else "",
        query.source_tool.value if query.source_tool else "",
        query.conversation_id or "",
        query.message_id or "",
        query.agent_key or "",
        query.mime_prefix or "",
        query.created_after.isoformat() if query.created_after else "",
        query.created_before.isoformat() if query.created_before else "",
    ]
    # Filters added later are bound in only when given, so older cursors stay valid.
    for name in ("user_id", "response_id", "tool_call_id", "container_id"):
        value = getattr(query, name)
        if value is not None:
            parts.append(f"{name}={value}")
    return "\x1f".join(f"{len(p)}:{p}" for p in parts)


def page(ctx: Context, tenant_id: str, query: AssetQuery, limit: int, cursor: object) -> Page:
    """One page of live assets, newest first; ``cursor`` (None for the first page) must
    have been made for this tenant and these filters."""
    scope = hashlib.sha256(f"{len(tenant_id)}:{tenant_id}|{fingerprint(query)}".encode())
    bound = scope.hexdigest()[:32]
    after = _decode_cursor(ctx, cursor, bound) if cursor is not None else None
    rows = ctx.repository.list_assets(tenant_id, query, after, limit + 1)
    items = tuple(rows[:limit])
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        payload = {"s": bound, "t": to_micros(last.created_at), "i": last.id}
        next_cursor = ctx.signer.sign("cursor", payload)
    return Page(items=items, next_cursor=next_cursor)


def _decode_cursor(ctx: Context, cursor: object, scope: str) -> Position:
    try:
        payload = ctx.signer.verify("cursor", cursor)
    except SignatureError as exc:
        raise InvalidCursor("malformed or tampered cursor") from exc
    if payload.get("s") != scope:
        raise InvalidCursor("cursor was made for another tenant or other filters")
    micros, last_id = payload.get("t"), payload.get("i")
    if not isinstance(micros, int) or not isinstance(last_id, str):
        raise InvalidCursor("malformed cursor")
    try:
        created_at = from_micros(micros)
    except OverflowError:
        raise InvalidCursor("malformed cursor") from None
    return Position(created_at=created_at, id=last_id)
