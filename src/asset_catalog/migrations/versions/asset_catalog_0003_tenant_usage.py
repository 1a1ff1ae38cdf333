"""Per-tenant usage counters: live assets and bytes by asset type and source tool.

Revision ID: asset_catalog_0003
Revises: asset_catalog_0002

``usage(tenant_id)`` reads these rows, and a tenant's quota is checked against them in the
transaction that publishes an asset; the publishing and deleting transactions keep them.
The upgrade fills them from the live assets already there. Frozen like the first revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from asset_catalog.migrations import migration_options

revision: str = "asset_catalog_0003"
down_revision: str | None = "asset_catalog_0002"
branch_labels: tuple[str, ...] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``tenant_usage`` and count the live assets into it."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    usage = op.create_table(
        f"{p}tenant_usage",
        sa.Column("tenant_id", sa.String(255), primary_key=True),
        sa.Column("asset_type", sa.String(16), primary_key=True),
        sa.Column("source_tool", sa.String(32), primary_key=True),
        sa.Column("assets", sa.BigInteger, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        schema=schema,
        sqlite_with_rowid=False,
    )
    assert usage is not None
    assets = sa.table(
        f"{p}agent_assets",
        sa.column("tenant_id"),
        sa.column("asset_type"),
        sa.column("source_tool"),
        sa.column("size_bytes"),
        sa.column("deleted_at"),
        schema=schema,
    )
    keys = (assets.c.tenant_id, assets.c.asset_type, assets.c.source_tool)
    counted = (
        sa.select(*keys, sa.func.count(), sa.func.sum(assets.c.size_bytes))
        .where(assets.c.deleted_at.is_(None))
        .group_by(*keys)
    )
    columns = ["tenant_id", "asset_type", "source_tool", "assets", "bytes"]
    op.execute(usage.insert().from_select(columns, counted))


def downgrade() -> None:
    """Drop ``tenant_usage``."""
    options = migration_options()
    op.drop_table(f"{options.prefix}tenant_usage", schema=options.schema)
