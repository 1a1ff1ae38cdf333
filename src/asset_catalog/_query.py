"""The validated filter set of a ``list`` call, shared by the facade and the repositories."""

from __future__ import annotations

import datetime as dt

import attrs

from ._models import AssetType, SourceTool

__all__ = ["AssetQuery", "Position"]


@attrs.frozen
class Position:
    """A keyset position: the last item of the previous page."""

    created_at: dt.datetime
    id: str


@attrs.frozen
class AssetQuery:
    """Filters of a list call; every field is optional and they combine with AND."""

    asset_type: AssetType | None = None
    source_tool: SourceTool | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    agent_key: str | None = None
    mime_prefix: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None

    def fingerprint(self) -> str:
        """A stable text form of the filters, bound into cursors."""
        parts = [
            self.asset_type.value if self.asset_type else "",
            self.source_tool.value if self.source_tool else "",
            self.conversation_id or "",
            self.message_id or "",
            self.agent_key or "",
            self.mime_prefix or "",
            self.created_after.isoformat() if self.created_after else "",
            self.created_before.isoformat() if self.created_before else "",
        ]
        return "\x1f".join(f"{len(p)}:{p}" for p in parts)
