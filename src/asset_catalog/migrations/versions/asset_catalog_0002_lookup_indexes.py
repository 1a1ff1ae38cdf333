"""Keyset indexes for the list filters user_id, response_id, tool_call_id and container_id.

Revision ID: asset_catalog_0002
Revises: asset_catalog_0001

``list`` filters on these four host identifiers (so a host can ask "do I already have this
response's outputs?" and page a user's gallery). Each gets the index every other optional
filter has: ``(tenant_id, column, created_at, id)``, partial on live rows that have the
column. The two plain indexes on ``(tenant_id, tool_call_id)`` and ``(tenant_id,
response_id)``, which only ``link_message`` used, are replaced by these (it reads live rows
only). Frozen like the first revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from asset_catalog.migrations import migration_options

revision: str = "asset_catalog_0002"
down_revision: str | None = "asset_catalog_0001"
branch_labels: tuple[str, ...] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("user_id", "response_id", "tool_call_id", "container_id")
REPLACED = {"tool_call": "tool_call_id", "response": "response_id"}


def upgrade() -> None:
    """Create the four keyset indexes, then drop the two they replace."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    for name in COLUMNS:
        present = sa.text(f"deleted_at IS NULL AND {name} IS NOT NULL")
        op.create_index(
            f"ix_{p}agent_assets_tenant_{name}",
            f"{p}agent_assets",
            ["tenant_id", name, "created_at", "id"],
            schema=schema,
            sqlite_where=present,
            postgresql_where=present,
        )
    for suffix in REPLACED:
        op.drop_index(f"ix_{p}agent_assets_tenant_{suffix}", f"{p}agent_assets", schema=schema)


def downgrade() -> None:
    """Put the two plain indexes back and drop the four keyset ones."""
    options = migration_options()
    p, schema = options.prefix, options.schema
    for suffix, column in REPLACED.items():
        op.create_index(
            f"ix_{p}agent_assets_tenant_{suffix}",
            f"{p}agent_assets",
            ["tenant_id", column],
            schema=schema,
        )
    for name in COLUMNS:
        op.drop_index(f"ix_{p}agent_assets_tenant_{name}", f"{p}agent_assets", schema=schema)
