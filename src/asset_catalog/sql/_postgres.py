"""PostgreSQL through psycopg 3: JSONB metadata, ``timestamptz``, partial indexes, a pool.

Only what differs from the shared :class:`SqlRepository` lives here. psycopg is imported
inside the constructor, so ``import asset_catalog`` never needs it (extra ``postgres``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import URL
from sqlalchemy.schema import CreateSchema

from ..exceptions import InvalidInput, MissingDependency
from ._connections import Dialect
from ._engines import engine_for, parse_url
from ._repository import SqlRepository
from ._schema import Tables, build_tables

__all__ = ["PostgresRepository", "psycopg_url"]

_DRIVER = "psycopg"


def psycopg_url(url: object) -> URL:
    """``url`` with the psycopg 3 driver: ``postgresql://`` becomes ``postgresql+psycopg://``.

    Any other PostgreSQL driver (psycopg2, asyncpg …) is refused: the repository runs its
    statements on psycopg 3's cursor and reads its error codes.
    """
    parsed = parse_url(url, "postgresql")
    driver = parsed.get_driver_name()
    if parsed.drivername == "postgresql":
        return parsed.set(drivername=f"postgresql+{_DRIVER}")
    if driver != _DRIVER:
        raise InvalidInput(
            "url", f"PostgreSQL driver {driver!r} is not supported; use postgresql+{_DRIVER}://"
        )
    return parsed


class PostgresRepository(SqlRepository):
    """The repository on PostgreSQL (psycopg 3), for many processes and machines.

    ``url`` is a SQLAlchemy URL such as ``postgresql+psycopg://user@host/db`` (plain
    ``postgresql://`` uses psycopg 3 too) or an existing :class:`~sqlalchemy.Engine` on the
    psycopg driver, whose pool is then the host's and the pool arguments are ignored.

    ``schema`` puts the catalog's tables in that PostgreSQL schema: every statement names
    the tables schema-qualified, so no connection state (``search_path``) is involved and an
    engine can be shared with the host. :meth:`create_schema` creates the schema if it is
    missing. ``tables`` (from :func:`~asset_catalog.sql.build_tables`, e.g. on the host's
    ``MetaData``) replaces ``table_prefix`` and ``schema``.

    Metadata is stored as JSONB and timestamps as ``timestamptz`` (read back in UTC, exact
    to the microsecond); the idempotency key is a partial unique index on live rows.
    Write transactions are psycopg's implicit ones at READ COMMITTED; a unique-key race
    ends in :class:`~asset_catalog.exceptions.DuplicateKeyError` for the loser.
    Reads run in autocommit: one round trip, no BEGIN/ROLLBACK. A write transaction's
    statements travel in one batch (psycopg's pipeline mode). A pooled connection the server
    dropped is replaced on the call that finds it broken, which is then run once more: no
    ping before every checkout (``pool_pre_ping=True`` turns SQLAlchemy's back on, at a
    round trip per call).
    """

    _dialect = Dialect(
        autocommit_reads=True,
        read_options={"isolation_level": "AUTOCOMMIT"},
        pipeline=True,
        relaxed_commit_sql="SET LOCAL synchronous_commit TO OFF",
    )

    def __init__(
        self,
        url: str | URL | Engine,
        *,
        table_prefix: str = "",
        tables: Tables | None = None,
        schema: str | None = None,
        pool_size: int = 5,
        max_overflow: int = 10,
        pool_pre_ping: bool = False,
        connect_args: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            import psycopg  # noqa: F401 - only to fail early with the extra's name
        except ImportError:
            raise MissingDependency("postgres", "psycopg") from None
        if tables is not None and schema is not None:
            raise InvalidInput(
                "schema", "pass either tables or schema; build tables on MetaData(schema=…)"
            )
        if isinstance(url, Engine):
            engine = engine_for(url, "postgresql")
            if engine.dialect.driver != _DRIVER:
                raise InvalidInput(
                    "url",
                    f"not a postgresql+{_DRIVER} engine: {engine.url!r} "
                    f"(driver {engine.dialect.driver!r})",
                )
        else:
            engine = engine_for(
                psycopg_url(url),
                "postgresql",
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_pre_ping=pool_pre_ping,
                connect_args=dict(connect_args or {}),
            )
        if tables is None:
            tables = build_tables(table_prefix, metadata=MetaData(schema=schema))
        super().__init__(engine, tables=tables)

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema holding the tables (None: the connection's search_path)."""
        return self.tables.assets.schema

    def create_schema(self) -> None:
        """Create the PostgreSQL schema (if one is configured), tables and indexes if missing."""
        names = {t.schema for t in (self.tables.objects, self.tables.assets, self.tables.events)}
        with self._db.translating(), self.engine.begin() as conn:
            for name in sorted(n for n in names if n is not None):
                # Checked first: CREATE SCHEMA IF NOT EXISTS still needs the CREATE privilege.
                if not conn.dialect.has_schema(conn, name):
                    conn.execute(CreateSchema(name, if_not_exists=True))
        super().create_schema()
