"""``asset-catalog migrate``'s Alembic environment: the connection and the version table
come from ``Config.attributes`` (set by the command), the revisions from the catalog's
versions directory."""

from __future__ import annotations

from alembic import context

config = context.config
context.configure(
    connection=config.attributes["connection"],
    target_metadata=None,
    version_table=config.attributes["version_table"],
    version_table_schema=config.attributes.get("asset_catalog_schema"),
)
with context.begin_transaction():
    context.run_migrations()
