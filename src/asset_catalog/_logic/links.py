"""Linking assets to the message a host persisted after the agent produced them."""

from __future__ import annotations

from collections.abc import Sequence

from . import events
from .context import Context

__all__ = ["link_message"]


def link_message(
    ctx: Context,
    tenant_id: str,
    message_id: str,
    *,
    asset_ids: Sequence[str],
    tool_call_ids: Sequence[str],
    response_id: str | None,
    actor: str | None,
) -> list[str]:
    """Attach the matching live assets that have no message yet (never moving one), each
    with its ``linked`` event; return their ids."""
    at = ctx.clock()
    return ctx.repository.link_message(
        tenant_id,
        message_id,
        asset_ids=asset_ids,
        tool_call_ids=tool_call_ids,
        response_id=response_id,
        at=at,
        linked=lambda asset_id: events.linked(tenant_id, asset_id, message_id, at, actor),
    )
