"""How the SQL repository talks to its database: transactions, lock retries, the driver's
cursor for the hot paths, and error translation around all of it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from typing import Any, TypeVar

import attrs
from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from ..exceptions import ConnectionLost, RepositoryError
from ._errors import is_lock_error, translating
from ._prepared import Prepared

__all__ = ["Connections", "Dialect"]

T = TypeVar("T")


@attrs.frozen
class Dialect:
    """What a database needs done differently (the dialect classes set it)."""

    write_options: dict[str, Any] = attrs.field(factory=dict)
    """Execution options for write transactions (SQLite: ``BEGIN IMMEDIATE``)."""
    read_options: dict[str, Any] = attrs.field(factory=dict)
    """Execution options for reads (each a single statement: no BEGIN and ROLLBACK needed)."""
    begin_sql: str | None = None
    """What opens a write transaction on the driver's connection (None: its default)."""
    lock_retries: int = 0
    """How often a write is retried on a transient lock error before it is reported."""
    autocommit_reads: bool = False
    """Run single-statement reads in autocommit (PostgreSQL: saves the BEGIN and ROLLBACK
    round trips, and lets psycopg keep its prepared statements)."""
    pipeline: bool = False
    """Send a write transaction's statements in one batch (psycopg's pipeline mode): BEGIN,
    the statements and COMMIT travel together, and the transaction costs one round trip
    (two where the work reads a result before it commits) instead of one per statement."""
    relaxed_commit_sql: str | None = None
    """What lets the current transaction commit without waiting for its log to reach disk
    (PostgreSQL: ``SET LOCAL synchronous_commit TO OFF``), for the writes that are safe to
    lose in a database crash (see :meth:`Connections.driver`). None: every commit waits."""


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

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a SQLAlchemy connection for reads (in autocommit where the
        dialect reads so: no BEGIN and ROLLBACK round trips)."""

        def once() -> T:
            with translating(self._dbapi), self.engine.connect() as conn:
                conn.execution_options(**self._dialect.read_options)
                return work(conn)

        return self._retrying(once)

    def _retrying(self, run: Callable[[], T]) -> T:
        """Run ``run()``, retrying transient lock errors (SQLite) with a short back-off, and
        once on a fresh connection when the pooled one turns out to be gone (the server
        restarted or dropped it: what a ping before every checkout would catch, at the
        price of a round trip per call)."""
        attempt, lost = 0, False
        while True:
            try:
                return run()
            except RepositoryError as exc:
                if not lost and _connection_lost(exc):
                    lost = True
                    continue
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

    @contextmanager
    def _raw(self, *, replace_on_error: bool = False) -> Iterator[Any]:
        """A pooled driver connection (SQLAlchemy's proxy). One that a database error of
        the work shows to be broken is invalidated (never returned to the pool) and
        reported as lost, so that the call is run again; with ``replace_on_error``, any
        database error invalidates it."""
        raw = self.engine.raw_connection()
        try:
            yield raw
        except self._dbapi.Error as exc:
            lost = raw.is_valid and self.engine.dialect.is_disconnect(
                exc, raw.driver_connection, None
            )
            if lost or replace_on_error:
                raw.invalidate(exc)
            if lost:
                raise ConnectionLost(f"the database connection was lost: {exc}") from exc
            raise
        finally:
            raw.close()

    def driver(
        self,
        work: Callable[[Any], T],
        *,
        write: bool,
        durable: bool = True,
        check: Callable[[T], None] | None = None,
    ) -> T:
        """Run ``work(cursor)`` on a pooled driver connection; commit if ``write``.

        ``durable=False`` is for writes whose loss in a database crash (not an application
        crash: the commit is done, only its flush to disk is not waited for) can only leave
        work that ``reconcile()`` or ``verify()`` finishes or reports, never a row that
        claims a blob that is gone: the ``pending`` row before a blob is written, and the
        ``failed`` / ``deleted`` marks after a blob is removed. The database's log is
        written in order, so a durable commit that follows makes every earlier one durable
        too.

        On a pipelining dialect, ``work`` must read a result with ``fetchone`` /
        ``fetchall`` (which wait for it), never ``rowcount``, and should read as late as it
        can: every statement before the read travels in one round trip. ``check`` reads what
        ``work`` returned once its statements are sent: before the COMMIT (SQLite, which
        cannot commit while a result is unread) or after it (a pipeline, where it travels
        with them), so it must find out, never decide: what the transaction does may not
        depend on it. An error it raises is the call's.
        """
        dialect = self._dialect
        if write and dialect.pipeline:
            return self._retrying(lambda: self._pipelined(work, durable, check))

        def once() -> T:
            gate = self._write_gate if write else nullcontext()
            with gate, translating(self._dbapi), self._raw() as raw:
                autocommit = not write and dialect.autocommit_reads
                if autocommit:
                    raw.driver_connection.autocommit = True
                try:
                    cursor = raw.cursor()
                    try:
                        if write and dialect.begin_sql is not None:
                            cursor.execute(dialect.begin_sql)
                        result = work(cursor)
                        if check is not None:
                            check(result)
                        if write:
                            raw.commit()
                        return result
                    except BaseException:
                        _quietly(raw.rollback)
                        raise
                    finally:
                        _quietly(cursor.close)
                finally:
                    if autocommit:
                        _quietly(lambda: setattr(raw.driver_connection, "autocommit", False))

        return self._retrying(once)

    def _pipelined(
        self, work: Callable[[Any], T], durable: bool, check: Callable[[T], None] | None
    ) -> T:
        """One write transaction in psycopg's pipeline mode: the connection in autocommit,
        so the BEGIN and COMMIT sent here are the only transaction statements, and they
        travel with the work's statements."""
        # After a failed statement the server skipped what was queued after it, its
        # preparation too, so psycopg's record of prepared statements no longer matches the
        # server's: on any database error the connection is replaced (rare: a unique-key
        # race, a lost connection).
        with (
            self._write_gate,
            translating(self._dbapi),
            self._raw(replace_on_error=True) as raw,
        ):
            conn: Any = raw.driver_connection
            conn.autocommit = True
            cursor = conn.cursor()
            try:
                with conn.pipeline():
                    cursor.execute("BEGIN")
                    if not durable and self._dialect.relaxed_commit_sql is not None:
                        cursor.execute(self._dialect.relaxed_commit_sql)
                    result = work(cursor)
                    cursor.execute("COMMIT")
                # Leaving the pipeline sent it all and read every answer.
                if check is not None:
                    check(result)
            except self._dbapi.Error:
                raise  # the connection is replaced: nothing of it to end
            except BaseException:  # a refusal of the work's own, say: end the transaction
                _quietly(lambda: _end_pipelined(conn))
                raise
            finally:
                _quietly(cursor.close)
            _quietly(lambda: _end_pipelined(conn))
            return result

    def execute(self, stmt: Prepared, values: dict[str, Any], *, durable: bool = True) -> None:
        """One prepared write statement in its own transaction."""
        params = stmt.params(values)
        self.driver(lambda cursor: cursor.execute(stmt.sql, params), write=True, durable=durable)

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


def _connection_lost(exc: RepositoryError) -> bool:
    cause = exc.__cause__
    return isinstance(exc, ConnectionLost) or (
        isinstance(cause, sa_exc.DBAPIError) and cause.connection_invalidated
    )


def _quietly(step: Callable[[], object]) -> None:
    """A clean-up step that must not replace the error being raised (on a broken
    connection every step fails too)."""
    with suppress(Exception):
        step()


def _end_pipelined(conn: Any) -> None:
    """Roll back what a failed pipelined transaction left open; back out of autocommit."""
    if conn.info.transaction_status.name != "IDLE":
        conn.execute("ROLLBACK")
    conn.autocommit = False
