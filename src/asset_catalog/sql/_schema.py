"""The three tables, defined once in SQLAlchemy Core and shared by every dialect.

docs/schema.md describes every column and index and the query each index serves.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    text,
)
from sqlalchemy.sql.elements import TextClause

from ..exceptions import InvalidInput
from ._types import JsonDocument, UtcDateTime

__all__ = ["HOST_REFERENCE_COLUMNS", "OnDelete", "Tables", "build_tables"]

ID = 36  # a UUID string
HOST_ID = 255  # opaque host identifiers (tenant, conversation, message, user, ...)
VARIANT_NAME = 32  # a variant's name ("thumbnail")
PLACEHOLDER = 2048  # the placeholder data URI (about 1 KB at most; see _content/thumbnails)

#: Columns every list filter compares with ``=`` and that every asset has (never NULL).
REQUIRED_FILTER_COLUMNS = ("asset_type", "source_tool", "mime_type")
#: Optional host identifiers a list can filter on; rows without one are not indexed.
#: (``tool_call_id`` and ``response_id`` also serve ``link_message``, which reads live rows.)
OPTIONAL_FILTER_COLUMNS = (
    "conversation_id",
    "message_id",
    "agent_key",
    "user_id",
    "response_id",
    "tool_call_id",
    "container_id",
)

#: The ``agent_assets`` columns that may reference the host's own tables, and the name of
#: the foreign key each gets: ``fk_{prefix}agent_assets_{name}`` (errors name the column).
HOST_REFERENCE_COLUMNS = {"conversation_id": "conversation", "message_id": "message"}

#: What the database does to catalog rows when the host deletes a referenced row.
#: CASCADE and SET DEFAULT are refused: they would change catalog rows behind the catalog's
#: back (a cascaded delete leaves a stored blob that no asset points at).
OnDelete = Literal["RESTRICT", "NO ACTION", "SET NULL"]
_ON_DELETE = ("RESTRICT", "NO ACTION", "SET NULL")

# MIME types are compared byte by byte: ``mime_prefix`` is answered as the range
# ``prefix <= mime_type < prefix_next``, which is only a prefix match under a binary
# collation. SQLite's default (BINARY) is one; on PostgreSQL the column is declared
# ``COLLATE "C"`` whatever the database's default collation is.
MimeType = String(255).with_variant(String(255, collation="C"), "postgresql")


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
    usage: Table


def build_tables(
    prefix: str = "",
    *,
    metadata: MetaData | None = None,
    conversation_fk: str | Column[Any] | None = None,
    message_fk: str | Column[Any] | None = None,
    conversation_ondelete: OnDelete = "RESTRICT",
    message_ondelete: OnDelete = "RESTRICT",
) -> Tables:
    """Define ``{prefix}storage_objects``, ``{prefix}agent_assets``, ``{prefix}asset_events``
    and ``{prefix}tenant_usage``.

    Pass the host's own ``metadata`` to have the catalog's tables created (or migrated)
    beside the host's.

    ``conversation_fk`` / ``message_fk`` (``"table.column"``, or the host's
    :class:`~sqlalchemy.Column`) add foreign keys from ``agent_assets.conversation_id`` /
    ``message_id`` to the host's own tables; the referenced columns must be unique and of a
    string type. ``conversation_ondelete`` / ``message_ondelete`` say what happens to
    catalog rows when the host deletes a referenced row: ``"RESTRICT"`` (the default: the
    host's delete fails while catalog rows, live or soft-deleted, still point at it),
    ``"NO ACTION"`` (the same, checked at the end of the statement) or ``"SET NULL"``
    (the reference is cleared; call ``delete_conversation`` first). See docs/schema.md.
    """
    md = metadata if metadata is not None else MetaData()
    p = prefix
    live = text("deleted_at IS NULL")
    references = {"conversation_id": conversation_fk, "message_id": message_fk}
    on_delete = {"conversation_id": conversation_ondelete, "message_id": message_ondelete}
    for column, action in on_delete.items():
        if action not in _ON_DELETE:
            field = column.replace("_id", "_ondelete")
            raise InvalidInput(field, f"must be one of {', '.join(_ON_DELETE)}, not {action!r}")

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

    def keyset_index(name: str, *columns: str, where: TextClause = live) -> Index:
        """Equality on ``columns``, then the keyset order (created_at, id); partial on
        ``where`` (live rows unless told otherwise)."""
        return Index(name, *columns, "created_at", "id", sqlite_where=where, postgresql_where=where)

    filter_indexes: list[Index] = [
        # Keyset order of every list: newest first, id breaks ties. Partial on live rows.
        keyset_index(f"ix_{p}agent_assets_tenant_created", "tenant_id"),
        # One per filter: equality on (tenant_id, column), then the keyset order.
        *(
            keyset_index(f"ix_{p}agent_assets_tenant_{name}", "tenant_id", name)
            for name in REQUIRED_FILTER_COLUMNS
        ),
    ]
    for name in OPTIONAL_FILTER_COLUMNS:
        if references.get(name) is None:
            # Assets without the identifier (most have no message_id when ingested) write
            # nothing here; ``column = :value`` implies ``column IS NOT NULL``, so both
            # databases still use the index for the filter.
            where = text(f"deleted_at IS NULL AND {name} IS NOT NULL")
            filter_indexes.append(
                keyset_index(f"ix_{p}agent_assets_tenant_{name}", "tenant_id", name, where=where)
            )
        else:
            # With a foreign key the index leads with the column and keeps soft-deleted rows:
            # the database's own check when the host deletes a conversation or message
            # (``WHERE conversation_id = ?``, RESTRICT or SET NULL) is then an index lookup,
            # not a scan of agent_assets; list's (tenant_id, column) equality uses it too.
            where = text(f"{name} IS NOT NULL")
            filter_indexes.append(
                keyset_index(f"ix_{p}agent_assets_{name}_tenant", name, "tenant_id", where=where)
            )

    host_keys = [
        ForeignKeyConstraint(
            [column],
            [target],
            name=f"fk_{p}agent_assets_{HOST_REFERENCE_COLUMNS[column]}",
            ondelete=on_delete[column],
        )
        for column, target in references.items()
        if target is not None
    ]

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
        Column("mime_type", MimeType, nullable=False),
        Column("size_bytes", BigInteger, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("width", Integer, nullable=True),
        Column("height", Integer, nullable=True),
        Column("metadata", JsonDocument, nullable=False),
        Column("idempotency_key", String(1024), nullable=True),
        Column("created_at", UtcDateTime, nullable=False),
        Column("updated_at", UtcDateTime, nullable=False),
        Column("deleted_at", UtcDateTime, nullable=True),
        # Derived assets and lineage (revision 0004; see docs/schema.md): a variant (a
        # thumbnail) names its source and its variant name; an edit names the image it was
        # made from; the placeholder is a tiny data URI a grid paints before any image.
        Column("variant_of", String(ID), nullable=True),
        Column("variant", String(VARIANT_NAME), nullable=True),
        Column("source_asset_id", String(ID), nullable=True),
        Column("placeholder", String(PLACEHOLDER), nullable=True),
        CheckConstraint("asset_type IN ('image', 'file')", name=f"ck_{p}agent_assets_type"),
        *host_keys,
        *filter_indexes,
        Index(
            f"ux_{p}agent_assets_idempotency",
            "tenant_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL AND deleted_at IS NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL AND deleted_at IS NULL"),
        ),
        # An asset's live variants (presign(variant=...), delete taking them along) and the
        # live edits made from it (lineage): only derived rows are indexed.
        Index(
            f"ix_{p}agent_assets_tenant_variant_of",
            "tenant_id",
            "variant_of",
            "variant",
            sqlite_where=text("deleted_at IS NULL AND variant_of IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND variant_of IS NOT NULL"),
        ),
        Index(
            f"ix_{p}agent_assets_tenant_source_asset_id",
            "tenant_id",
            "source_asset_id",
            sqlite_where=text("deleted_at IS NULL AND source_asset_id IS NOT NULL"),
            postgresql_where=text("deleted_at IS NULL AND source_asset_id IS NOT NULL"),
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
    # Live assets and bytes per tenant, asset type and source tool, kept by the transactions
    # that publish and delete assets: usage() reads a few rows, and a quota is checked in
    # the publishing transaction against them.
    usage = Table(
        f"{p}tenant_usage",
        md,
        Column("tenant_id", String(HOST_ID), primary_key=True),
        Column("asset_type", String(16), primary_key=True),
        Column("source_tool", String(32), primary_key=True),
        Column("assets", BigInteger, nullable=False),
        Column("bytes", BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    return Tables(metadata=md, objects=objects, assets=assets, events=events, usage=usage)
