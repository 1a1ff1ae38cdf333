"""How the SQL repository talks to its database: transactions, lock retries, the driver's
cursor for the hot paths, and error translation around all of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

import attrs
from sqlalchemy import Connection, Engine

from ..exceptions import RepositoryError
from ._errors import is_lock_error, translating
from ._prepared import Prepared

__all__ = ["Connections", "Dialect"]

T = TypeVar("T")


@attrs.frozen
class Dialect:
    """What a database needs done differently (the dialect classes set it)."""

    write_options: dict[str, Any] = attrs.field(factory=dict)
    """Execution options for write transactions (SQLite: ``BEGIN IMMEDIATE``)."""
    begin_sql: str | None = None
    """What opens a write transaction on the driver's connection (None: its default)."""
    lock_retries: int = 0
    """How often a write is retried on a transient lock error before it is reported."""
    autocommit_reads: bool = False
    """Run single-statement reads in autocommit (PostgreSQL: saves the BEGIN and ROLLBACK
    round trips, and lets psycopg keep its prepared statements)."""


class Connections:
    """Transactions on one engine, every error translated to the catalog's own."""

    def __init__(
        self,
        engine: Engine,
        dialect: Dialect,
        write_gate: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.engine = engine
        self._dialect = dialect
        self._dbapi = engine.dialect.loaded_dbapi
        #: held around every write transaction of this process (SQLite: see _sqlite.py)
        self._write_gate: AbstractContextManager[Any] = write_gate or nullcontext()

    def translating(self) -> AbstractContextManager[None]:
        """Translate this database's errors (for work outside the methods below)."""
        return translating(self._dbapi)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A SQLAlchemy connection for reads."""
        with translating(self._dbapi), self.engine.connect() as conn:
            yield conn

    def _retrying(self, run: Callable[[], T]) -> T:
        """Run ``run()``, retrying transient lock errors (SQLite) with a short back-off."""
        attempt = 0
        while True:
            try:
                return run()
            except RepositoryError as exc:
                if attempt >= self._dialect.lock_retries or not is_lock_error(exc.__cause__ or exc):
                    raise
                attempt += 1
                time.sleep(min(0.05 * attempt, 0.5))

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying transient lock errors."""

        def once() -> T:
            with self._write_gate, translating(self._dbapi), self.engine.connect() as conn:
                conn.execution_options(**self._dialect.write_options)
                with conn.begin():
                    return work(conn)

        return self._retrying(once)

    def driver(self, work: Callable[[Any], T], *, write: bool) -> T:
        """Run ``work(cursor)`` on a pooled driver connection; commit if ``write``."""
        dialect = self._dialect

        def once() -> T:
            gate = self._write_gate if write else nullcontext()
            with gate, translating(self._dbapi):
                raw = self.engine.raw_connection()
                autocommit = not write and dialect.autocommit_reads
                if autocommit:
                    raw.driver_connection.autocommit = True  # type: ignore[union-attr]
                try:
                    cursor = raw.cursor()
                    try:
                        if write and dialect.begin_sql is not None:
                            cursor.execute(dialect.begin_sql)
                        result = work(cursor)
                        if write:
                            raw.commit()
                        return result
                    except BaseException:
                        raw.rollback()
                        raise
                    finally:
                        cursor.close()
                finally:
                    if autocommit:
                        raw.driver_connection.autocommit = False  # type: ignore[union-attr]
                    raw.close()

        return self._retrying(once)

    def execute(self, stmt: Prepared, values: dict[str, Any]) -> None:
        """One prepared write statement in its own transaction."""
        params = stmt.params(values)
        self.driver(lambda cursor: cursor.execute(stmt.sql, params), write=True)

    def fetch_all(self, stmt: Prepared, values: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of a prepared read, converted."""

        def work(cursor: Any) -> list[dict[str, Any]]:
            cursor.execute(stmt.sql, stmt.params(values))
            return [stmt.row(raw) for raw in cursor.fetchall()]

        return self.driver(work, write=False)

    def fetch_one(self, stmt: Prepared, values: dict[str, Any]) -> dict[str, Any] | None:
        """The first row of a prepared read, converted, or None."""

        def work(cursor: Any) -> dict[str, Any] | None:
            cursor.execute(stmt.sql, stmt.params(values))
            raw = cursor.fetchone()
            return stmt.row(raw) if raw is not None else None

        return self.driver(work, write=False)
