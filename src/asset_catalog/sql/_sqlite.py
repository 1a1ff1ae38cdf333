"""SQLite: the embedded default. WAL, a busy timeout, foreign keys, ``BEGIN IMMEDIATE`` writes."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import URL

from ..exceptions import InvalidInput
from ._connections import Dialect
from ._engines import engine_for
from ._repository import SqlRepository
from ._schema import Tables

__all__ = ["SqliteRepository"]

_BEGIN_OPTION = "asset_catalog_sqlite_begin"


_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


def _configure(
    engine: Engine, busy_timeout_ms: int, wal_autocheckpoint: int, synchronous: str
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so two writers never deadlock on a lock upgrade.
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        if mode is not None:  # None: a read, one statement, its own implicit transaction
            conn.exec_driver_sql(f"BEGIN {mode}")


class SqliteRepository(SqlRepository):
    """The repository on SQLite, for one machine (many threads or processes).

    ``url`` is a SQLAlchemy URL such as ``sqlite:///assets.db``. The connection runs in WAL
    mode with ``synchronous=NORMAL`` (durable across process crashes; a power loss may drop
    the last transactions: pass ``synchronous="FULL"`` to make every commit durable),
    ``foreign_keys=ON`` and a busy timeout; write transactions begin with ``BEGIN IMMEDIATE``
    and are retried on a lock error.
    """

    _dialect = Dialect(
        write_options={_BEGIN_OPTION: "IMMEDIATE"},
        read_options={_BEGIN_OPTION: None},
        begin_sql="BEGIN IMMEDIATE",
        lock_retries=5,
    )

    def __init__(
        self,
        url: str | URL | Engine,
        *,
        table_prefix: str = "",
        tables: Tables | None = None,
        busy_timeout_ms: int = 10_000,
        wal_autocheckpoint: int = 4000,
        synchronous: str = "NORMAL",
    ) -> None:
        if not isinstance(synchronous, str) or synchronous.upper() not in _SYNCHRONOUS:
            raise InvalidInput("synchronous", f"must be one of {', '.join(_SYNCHRONOUS)}")
        for name, value in (
            ("busy_timeout_ms", busy_timeout_ms),
            ("wal_autocheckpoint", wal_autocheckpoint),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(name, "must be a whole number of zero or more")
        engine = engine_for(url, "sqlite")
        _configure(engine, busy_timeout_ms, wal_autocheckpoint, synchronous.upper())
        super().__init__(engine, table_prefix=table_prefix, tables=tables)

    def _write_gate(self) -> AbstractContextManager[Any]:
        # SQLite has one writer at a time. Threads of this process queue on a lock instead
        # of on the database's busy handler, which sleeps in steps and often oversleeps the
        # release (measured with 8 threads: more items/s and a p99 cut by a third; see
        # docs/benchmarks-scale.md). Other processes still meet the busy timeout.
        return threading.Lock()
