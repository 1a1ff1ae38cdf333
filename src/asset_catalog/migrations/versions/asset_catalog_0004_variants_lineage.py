"""Variants (thumbnails), instant placeholders and edit lineage on ``agent_assets``.

Revision ID: asset_catalog_0004
Revises: asset_catalog_0003

Four nullable columns: ``variant_of`` and ``variant`` (a derived asset, such as a thumbnail,
names its source and its variant name), ``source_asset_id`` (an image made by editing
another names it) and ``placeholder`` (a tiny data URI painted before any image bytes
arrive). Two partial indexes serve the lookups of derived rows: an asset's live variants by
name, and the live edits made from an asset. Existing rows keep NULL (no variant, no
source, no placeholder). Frozen like the first revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from asset_catalog.migrations import migration_options

revision: str = "asset_catalog_0004"
down_revision: str | None = "asset_catalog_0003"
branch_labels: tuple[str, ...] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("variant_of", 36),
    ("variant", 32),
    ("source_asset_id", 36),
    ("placeholder", 2048),
)
INDEXES = {
    "variant_of": ("variant_of", "variant"),
    "source_asset_id": ("source_asset_id",),
}


def upgrade() -> None:
    """Add the four columns and the two partial indexes."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    for name, length in COLUMNS:
        op.add_column(
            f"{p}agent_assets", sa.Column(name, sa.String(length), nullable=True), schema=schema
        )
    for name, columns in INDEXES.items():
        present = sa.text(f"deleted_at IS NULL AND {name} IS NOT NULL")
        op.create_index(
            f"ix_{p}agent_assets_tenant_{name}",
            f"{p}agent_assets",
            ["tenant_id", *columns],
            schema=schema,
            sqlite_where=present,
            postgresql_where=present,
        )


def downgrade() -> None:
    """Drop the indexes, then the columns (``ALTER TABLE ... DROP COLUMN``, which SQLite has
    since 3.35)."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    for name in INDEXES:
        op.drop_index(f"ix_{p}agent_assets_tenant_{name}", f"{p}agent_assets", schema=schema)
    for name, _length in reversed(COLUMNS):
        op.drop_column(f"{p}agent_assets", name, schema=schema)
