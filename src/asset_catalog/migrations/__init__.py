"""Alembic migrations for hosts that manage their database with Alembic (extra ``migrations``).

The library ships only a *versions directory*, no ``env.py``: the host keeps its own Alembic
environment and adds ``asset_catalog:migrations/versions`` to its ``version_locations``. The
catalog's revisions form their own branch, labelled ``asset_catalog``, so the host runs
``alembic upgrade asset_catalog@head`` (or ``alembic upgrade heads``) beside its own
migrations. See ``docs/migrations.md``.

The revisions read two options, looked up in this order: ``Config.attributes`` (set in code),
``-x name=value`` on the command line, then the ``[alembic]`` section of the host's ini file
(or ``[tool.alembic]`` in its ``pyproject.toml``):

``asset_catalog_prefix``
    The table prefix, as given to :func:`~asset_catalog.sql.build_tables` (default ``""``).
``asset_catalog_schema``
    The PostgreSQL schema of the tables, as given to ``PostgresRepository(schema=...)``
    (default: none, i.e. the connection's ``search_path``).

Give the same values on every run: the ``alembic_version`` row only says which revision ran,
not where its tables are.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from ..exceptions import InvalidInput, MissingDependency

__all__ = [
    "BRANCH_LABEL",
    "PREFIX_OPTION",
    "SCHEMA_OPTION",
    "VERSION_LOCATION",
    "MigrationOptions",
    "migration_options",
    "versions_path",
]

BRANCH_LABEL = "asset_catalog"
"""The branch label of the catalog's revisions: ``alembic upgrade asset_catalog@head``."""

VERSION_LOCATION = "asset_catalog:migrations/versions"
"""The versions directory as an Alembic package resource, for ``version_locations``."""

PREFIX_OPTION = "asset_catalog_prefix"
SCHEMA_OPTION = "asset_catalog_schema"


def versions_path() -> str:
    """The versions directory as a filesystem path (for ``version_locations`` set in code)."""
    return str(Path(__file__).resolve().parent / "versions")


@attrs.frozen
class MigrationOptions:
    """Where the running migration puts the catalog's tables."""

    prefix: str = ""
    schema: str | None = None


def migration_options() -> MigrationOptions:
    """The options of the Alembic run in progress; call only from inside a revision."""
    try:
        from alembic import context
    except ImportError:
        raise MissingDependency("migrations", "alembic") from None

    config = context.config
    x_args = context.get_x_argument(as_dictionary=True)

    def option(name: str) -> str | None:
        for value in (
            config.attributes.get(name),
            x_args.get(name),
            config.get_alembic_option(name),  # [alembic] in the ini, or [tool.alembic]
        ):
            if value is not None:
                if not isinstance(value, str):
                    raise InvalidInput(name, f"must be a string (an Alembic option), not {value!r}")
                return value
        return None

    return MigrationOptions(
        prefix=option(PREFIX_OPTION) or "", schema=option(SCHEMA_OPTION) or None
    )
