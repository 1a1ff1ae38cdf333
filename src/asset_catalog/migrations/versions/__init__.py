"""The catalog's Alembic revisions (branch ``asset_catalog``); Alembic skips this file."""
