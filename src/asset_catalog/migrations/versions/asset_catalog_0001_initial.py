"""The catalog's three tables: storage_objects, agent_assets, asset_events.

Revision ID: asset_catalog_0001
Revises: (none; root of the ``asset_catalog`` branch)

Frozen on purpose: every table, column, type, constraint and index is spelled out here
instead of built from :func:`asset_catalog.sql.build_tables`, so that later schema changes come
as new revisions and never rewrite what this one did. ``tests/test_migrations.py`` proves
that the head of the branch equals ``create_schema()``.

The optional foreign keys to the host's own tables (``build_tables(conversation_fk=...)``)
are not created here: the host adds them in a revision of its own (docs/migrations.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from asset_catalog.migrations import migration_options

revision: str = "asset_catalog_0001"
down_revision: str | None = None
branch_labels: tuple[str, ...] | None = ("asset_catalog",)
depends_on: str | Sequence[str] | None = None

# The DDL of asset_catalog's column types as of this revision, frozen likewise:
# UtcDateTime is integer microseconds on SQLite and timestamptz on PostgreSQL;
# JsonDocument is JSON, and JSONB on PostgreSQL; agent_assets.mime_type compares bytewise
# (COLLATE "C" on PostgreSQL) so that a mime_prefix range is a prefix match.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
MIME_TYPE = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")

ID = 36  # a UUID string
HOST_ID = 255  # opaque host identifiers

LIVE = "deleted_at IS NULL"
# List filters on values every asset has: partial on live rows.
REQUIRED_FILTER_COLUMNS = ("asset_type", "source_tool", "mime_type")
# List filters on optional host identifiers: partial on live rows that have one.
OPTIONAL_FILTER_COLUMNS = ("conversation_id", "message_id", "agent_key")


def upgrade() -> None:
    """Create the three tables and their indexes."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    qualify = f"{schema}." if schema else ""

    op.create_table(
        f"{p}storage_objects",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("tenant_id", sa.String(HOST_ID), nullable=False),
        sa.Column("key", sa.String(1024), nullable=False),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("mime_type", sa.String(255), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'stored', 'deleting', 'deleted', 'failed')",
            name=f"ck_{p}storage_objects_status",
        ),
        schema=schema,
        sqlite_with_rowid=False,
    )
    op.create_index(
        f"ix_{p}storage_objects_status_created",
        f"{p}storage_objects",
        ["status", "created_at"],
        schema=schema,
    )

    op.create_table(
        f"{p}agent_assets",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("tenant_id", sa.String(HOST_ID), nullable=False),
        sa.Column(
            "storage_object_id",
            sa.String(ID),
            sa.ForeignKey(f"{qualify}{p}storage_objects.id", name=f"fk_{p}agent_assets_object"),
            nullable=False,
            unique=True,
        ),
        sa.Column("asset_type", sa.String(16), nullable=False),
        sa.Column("source_tool", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(HOST_ID), nullable=True),
        sa.Column("message_id", sa.String(HOST_ID), nullable=True),
        sa.Column("tool_call_id", sa.String(HOST_ID), nullable=True),
        sa.Column("response_id", sa.String(HOST_ID), nullable=True),
        sa.Column("container_id", sa.String(HOST_ID), nullable=True),
        sa.Column("openai_file_id", sa.String(HOST_ID), nullable=True),
        sa.Column("agent_key", sa.String(HOST_ID), nullable=True),
        sa.Column("user_id", sa.String(HOST_ID), nullable=True),
        sa.Column("filename", sa.String(1024), nullable=False),
        sa.Column("mime_type", MIME_TYPE, nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("metadata", JSON_DOCUMENT, nullable=False),
        sa.Column("idempotency_key", sa.String(1024), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("deleted_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint("asset_type IN ('image', 'file')", name=f"ck_{p}agent_assets_type"),
        schema=schema,
        sqlite_with_rowid=False,
    )
    live = sa.text(LIVE)
    op.create_index(
        f"ix_{p}agent_assets_tenant_created",
        f"{p}agent_assets",
        ["tenant_id", "created_at", "id"],
        schema=schema,
        sqlite_where=live,
        postgresql_where=live,
    )
    for name in REQUIRED_FILTER_COLUMNS:
        op.create_index(
            f"ix_{p}agent_assets_tenant_{name}",
            f"{p}agent_assets",
            ["tenant_id", name, "created_at", "id"],
            schema=schema,
            sqlite_where=live,
            postgresql_where=live,
        )
    for name in OPTIONAL_FILTER_COLUMNS:
        present = sa.text(f"{LIVE} AND {name} IS NOT NULL")
        op.create_index(
            f"ix_{p}agent_assets_tenant_{name}",
            f"{p}agent_assets",
            ["tenant_id", name, "created_at", "id"],
            schema=schema,
            sqlite_where=present,
            postgresql_where=present,
        )
    op.create_index(
        f"ix_{p}agent_assets_tenant_tool_call",
        f"{p}agent_assets",
        ["tenant_id", "tool_call_id"],
        schema=schema,
    )
    op.create_index(
        f"ix_{p}agent_assets_tenant_response",
        f"{p}agent_assets",
        ["tenant_id", "response_id"],
        schema=schema,
    )
    idempotent = sa.text("idempotency_key IS NOT NULL AND deleted_at IS NULL")
    op.create_index(
        f"ux_{p}agent_assets_idempotency",
        f"{p}agent_assets",
        ["tenant_id", "idempotency_key"],
        unique=True,
        schema=schema,
        sqlite_where=idempotent,
        postgresql_where=idempotent,
    )

    op.create_table(
        f"{p}asset_events",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("tenant_id", sa.String(HOST_ID), nullable=False),
        sa.Column("asset_id", sa.String(ID), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(HOST_ID), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        schema=schema,
        sqlite_with_rowid=False,
    )
    op.create_index(
        f"ix_{p}asset_events_tenant_asset_at",
        f"{p}asset_events",
        ["tenant_id", "asset_id", "at"],
        schema=schema,
    )


def downgrade() -> None:
    """Drop the three tables (their indexes go with them); the data is lost."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    op.drop_table(f"{p}asset_events", schema=schema)
    op.drop_table(f"{p}agent_assets", schema=schema)
    op.drop_table(f"{p}storage_objects", schema=schema)
