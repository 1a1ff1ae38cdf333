"""``asset-catalog migrate``: the catalog's Alembic branch to its head, in a version table of
its own (``<prefix>asset_catalog_version``), so it never reads or moves a host's revisions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, inspect, pool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.schema import CreateSchema

from ..exceptions import MissingDependency, RepositoryError
from ._config import Settings, database_url
from ._errors import ExitCode, fail

__all__ = ["VERSION_TABLE", "migrate"]

VERSION_TABLE = "asset_catalog_version"
"""The version table of ``migrate`` (after the table prefix)."""


def migrate(settings: Settings) -> tuple[str | None, str]:
    """Upgrade the catalog's branch to its head; (the revision before, the revision after)."""
    try:
        from alembic import command
        from alembic.config import Config
        from alembic.migration import MigrationContext
        from alembic.util import CommandError
    except ImportError:
        raise MissingDependency("migrations", "alembic") from None
    from ..migrations import BRANCH_LABEL, PREFIX_OPTION, SCHEMA_OPTION, VERSION_LOCATION

    url = database_url(settings.database_url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        from ..sql._postgres import psycopg_url

        url = psycopg_url(url)
    elif settings.schema:
        fail("--schema is for PostgreSQL; a SQLite catalog takes --table-prefix", ExitCode.USAGE)
    prefix, schema = settings.table_prefix, settings.schema
    version_table = f"{prefix}{VERSION_TABLE}"
    config = Config()
    config.set_main_option(
        "script_location", str(Path(__file__).parent / "_alembic").replace("%", "%%")
    )
    config.set_main_option("path_separator", "newline")
    config.set_main_option("version_locations", VERSION_LOCATION)
    try:
        engine = create_engine(url, poolclass=pool.NullPool)
    except (SQLAlchemyError, ImportError, TypeError) as exc:
        fail(f"cannot open {settings.shown_database()}: {exc}", ExitCode.USAGE)
    try:
        with engine.connect() as conn:
            if schema and not conn.dialect.has_schema(conn, schema):
                conn.execute(CreateSchema(schema, if_not_exists=True))
                conn.commit()
            tables = inspect(conn)
            if tables.has_table(f"{prefix}agent_assets", schema=schema) and not tables.has_table(
                version_table, schema=schema
            ):
                fail(
                    "the catalog's tables exist but `migrate` did not create them (`init` or "
                    "your own Alembic environment did): nothing for `migrate` to do here",
                    ExitCode.REFUSED,
                )
            options = {"version_table": version_table}
            before = MigrationContext.configure(
                conn, opts={**options, "version_table_schema": schema}
            ).get_current_revision()
            conn.rollback()
            config.attributes.update(
                {"connection": conn, PREFIX_OPTION: prefix, SCHEMA_OPTION: schema, **options}
            )
            command.upgrade(config, f"{BRANCH_LABEL}@head")
            conn.commit()
            after = MigrationContext.configure(
                conn, opts={**options, "version_table_schema": schema}
            ).get_current_revision()
    except (SQLAlchemyError, CommandError) as exc:
        raise RepositoryError(f"migration failed: {exc}") from exc
    finally:
        engine.dispose()
    return before, after or ""
