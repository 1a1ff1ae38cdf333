"""The three tables, defined once in SQLAlchemy Core and shared by every dialect."""

from __future__ import annotations

import attrs
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)

from .types import JsonDocument, UtcDateTime

__all__ = ["Tables", "build_tables"]

ID = 36  # a UUID string
HOST_ID = 255  # opaque host identifiers (tenant, conversation, message, user, ...)

LIST_FILTER_COLUMNS = (
    "asset_type",
    "source_tool",
    "conversation_id",
    "message_id",
    "agent_key",
    "mime_type",
)


# SQLite: every table is WITHOUT ROWID, so a row lives in its primary-key b-tree (UUIDv7 ids
# append at the end) instead of a rowid b-tree plus a separate index on ``id``: one b-tree
# fewer to write per row, measured in docs/benchmarks.md.


@attrs.frozen
class Tables:
    """The catalog's tables, bound to one :class:`~sqlalchemy.MetaData`."""

    metadata: MetaData
    objects: Table
    assets: Table
    events: Table


def build_tables(prefix: str = "", *, metadata: MetaData | None = None) -> Tables:
    """Define ``{prefix}storage_objects``, ``{prefix}agent_assets`` and ``{prefix}asset_events``.

    Pass the host's own ``metadata`` to have the catalog's tables created (or migrated)
    beside the host's.
    """
    md = metadata if metadata is not None else MetaData()
    p = prefix
    live = text("deleted_at IS NULL")

    objects = Table(
        f"{p}storage_objects",
        md,
        Column("id", String(ID), primary_key=True),
        Column("tenant_id", String(HOST_ID), nullable=False),
        # Unique by construction (it embeds the object id); no query looks objects up by key.
        Column("key", String(1024), nullable=False),
        Column("filename", String(1024), nullable=False),
        Column("mime_type", String(255), nullable=False),
        Column("size_bytes", BigInteger, nullable=True),
        Column("sha256", String(64), nullable=True),
        Column("status", String(16), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("deleted_at", UtcDateTime, nullable=True),
        Column("metadata", JsonDocument, nullable=False),
        CheckConstraint(
            "status IN ('pending', 'stored', 'deleting', 'deleted', 'failed')",
            name=f"ck_{p}storage_objects_status",
        ),
        # reconcile() looks for old pending/deleting objects; nothing else queries this table
        # except by primary key, so no other index is paid for on every ingest.
        Index(f"ix_{p}storage_objects_status_created", "status", "created_at"),
        sqlite_with_rowid=False,
    )

    assets = Table(
        f"{p}agent_assets",
        md,
        Column("id", String(ID), primary_key=True),
        Column("tenant_id", String(HOST_ID), nullable=False),
        Column(
            "storage_object_id",
            String(ID),
            ForeignKey(objects.c.id, name=f"fk_{p}agent_assets_object"),
            nullable=False,
            unique=True,
        ),
        Column("asset_type", String(16), nullable=False),
        Column("source_tool", String(32), nullable=False),
        Column("conversation_id", String(HOST_ID), nullable=True),
        Column("message_id", String(HOST_ID), nullable=True),
        Column("tool_call_id", String(HOST_ID), nullable=True),
        Column("response_id", String(HOST_ID), nullable=True),
        Column("container_id", String(HOST_ID), nullable=True),
        Column("openai_file_id", String(HOST_ID), nullable=True),
        Column("agent_key", String(HOST_ID), nullable=True),
        Column("user_id", String(HOST_ID), nullable=True),
        Column("filename", String(1024), nullable=False),
        Column("mime_type", String(255), nullable=False),
        Column("size_bytes", BigInteger, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("width", Integer, nullable=True),
        Column("height", Integer, nullable=True),
        Column("metadata", JsonDocument, nullable=False),
        Column("idempotency_key", String(1024), nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("deleted_at", UtcDateTime, nullable=True),
        CheckConstraint("asset_type IN ('image', 'file')", name=f"ck_{p}agent_assets_type"),
        # Keyset order of every list: newest first, id breaks ties. Partial on live rows.
        Index(
            f"ix_{p}agent_assets_tenant_created",
            "tenant_id",
            "created_at",
            "id",
            sqlite_where=live,
            postgresql_where=live,
        ),
        *(
            Index(
                f"ix_{p}agent_assets_tenant_{name}",
                "tenant_id",
                name,
                "created_at",
                "id",
                sqlite_where=live,
                postgresql_where=live,
            )
            for name in LIST_FILTER_COLUMNS
        ),
        Index(f"ix_{p}agent_assets_tenant_tool_call", "tenant_id", "tool_call_id"),
        Index(f"ix_{p}agent_assets_tenant_response", "tenant_id", "response_id"),
        Index(
            f"ux_{p}agent_assets_idempotency",
            "tenant_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL AND deleted_at IS NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL AND deleted_at IS NULL"),
        ),
        sqlite_with_rowid=False,
    )

    # Append-only; no foreign key, so the trail outlives a purged asset.
    events = Table(
        f"{p}asset_events",
        md,
        Column("id", String(ID), primary_key=True),
        Column("tenant_id", String(HOST_ID), nullable=False),
        Column("asset_id", String(ID), nullable=False),
        Column("event", String(32), nullable=False),
        Column("actor", String(HOST_ID), nullable=True),
        Column("at", UtcDateTime, nullable=False),
        Column("details", JsonDocument, nullable=False),
        Index(f"ix_{p}asset_events_tenant_asset_at", "tenant_id", "asset_id", "at"),
        sqlite_with_rowid=False,
    )
    return Tables(metadata=md, objects=objects, assets=assets, events=events)
