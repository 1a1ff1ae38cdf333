"""The SQL repository shared by every dialect: all queries live here, once."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

import attrs
from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from .._ids import new_id
from .._models import Asset, AssetEvent, ObjectStatus, StorageObject
from ..exceptions import AssetNotFound, RepositoryError
from ..protocols import AssetQuery, ObjectEntry, Position
from ._errors import is_lock_error, translate_driver_errors, translate_errors
from ._prepared import Prepared
from ._rows import (
    asset_from_row,
    asset_values,
    event_from_row,
    event_values,
    object_from_row,
    object_values,
)
from ._schema import Tables, build_tables

__all__ = ["SqlDeleteResult", "SqlRepository"]

T = TypeVar("T")

_ONE_MICROSECOND = dt.timedelta(microseconds=1)


def _findable(ids: Sequence[str]) -> list[str]:
    """The ids (or MIME prefixes) that could match a row: one with a NUL character cannot.

    The catalog's ids and stored MIME types never contain NUL, and PostgreSQL refuses NUL in
    any text value (even as a query parameter), so such a value is answered as absent
    without asking the database: the same answer SQLite gives.
    """
    return [i for i in ids if "\x00" not in i]


def _prefix_range(prefix: str) -> tuple[str, str]:
    """``(low, high)`` such that, compared code point by code point, a string starts with
    ``prefix`` exactly when ``low <= string < high``: ``high`` is ``prefix`` with its last
    character incremented. ``%`` and ``_`` are plain characters here, as they must be.
    """
    last = ord(prefix[-1])
    if last >= 0x10FFFF:  # no successor; list() only passes printable ASCII anyway
        raise ValueError("a prefix cannot end with the last code point")
    return prefix, prefix[:-1] + chr(last + 1)


@attrs.frozen
class SqlDeleteResult:
    """What :meth:`SqlRepository.mark_deleted` did."""

    deleted: tuple[str, ...]
    missing: tuple[str, ...]
    objects: tuple[StorageObject, ...]


class _Statements:
    """The fixed statements of the hot paths (ingest, get), compiled once per dialect."""

    def __init__(self, tables: Tables, engine: Engine) -> None:
        a, o, e = tables.assets, tables.objects, tables.events
        dialect = engine.dialect
        self.insert_object = Prepared(insert(o), dialect)
        self.insert_asset = Prepared(insert(a), dialect)
        self.insert_event = Prepared(insert(e), dialect)
        live = a.c.deleted_at.is_(None)
        self.asset_by_key = Prepared(
            select(a).where(
                a.c.tenant_id == bindparam("tenant_id"),
                a.c.idempotency_key == bindparam("key"),
                live,
            ),
            dialect,
        )
        self.asset_by_id = Prepared(
            select(a).where(
                a.c.tenant_id == bindparam("tenant_id"), a.c.id == bindparam("asset_id"), live
            ),
            dialect,
        )
        self._assets, self._dialect = a, dialect
        self._lock_live: dict[int, Prepared] = {}
        self.object_by_id = Prepared(select(o).where(o.c.id == bindparam("object_id")), dialect)
        self.store_object = Prepared(
            update(o)
            .where(
                o.c.id == bindparam("object_id"),
                o.c.status == bindparam("pending", ObjectStatus.PENDING.value),
            )
            .values(
                status=bindparam("stored", ObjectStatus.STORED.value),
                size_bytes=bindparam("new_size"),
                sha256=bindparam("new_sha256"),
            ),
            dialect,
        )
        self.fail_object = Prepared(
            update(o)
            .where(
                o.c.id == bindparam("object_id"),
                o.c.status == bindparam("pending", ObjectStatus.PENDING.value),
            )
            .values(
                status=bindparam("failed", ObjectStatus.FAILED.value), deleted_at=bindparam("at")
            ),
            dialect,
        )

    def lock_live_assets(self, count: int) -> Prepared:
        """Select and share-lock ``count`` live assets of a tenant (binds ``tenant_id``,
        ``id0`` ...), in id order so two lockers never deadlock.

        PostgreSQL takes ``FOR SHARE`` row locks, so a delete waits for the transaction;
        SQLite ignores the clause (``BEGIN IMMEDIATE`` already excludes every other writer).
        Compiled once per count.
        """
        stmt = self._lock_live.get(count)
        if stmt is None:
            a = self._assets
            stmt = Prepared(
                select(a.c.id)
                .where(
                    a.c.tenant_id == bindparam("tenant_id"),
                    a.c.id.in_([bindparam(f"id{n}") for n in range(count)]),
                    a.c.deleted_at.is_(None),
                )
                .order_by(a.c.id)
                .with_for_update(read=True),
                self._dialect,
            )
            self._lock_live[count] = stmt
        return stmt


class SqlRepository:
    """An :class:`~asset_catalog.AssetRepository` on SQLAlchemy Core.

    Dialect subclasses only configure the engine; every query is defined here.
    """

    #: execution options for write transactions (SQLite: ``BEGIN IMMEDIATE``)
    _write_options: dict[str, Any] = {}  # noqa: RUF012 - overridden per dialect, never mutated
    #: how often a write is retried on a transient lock error before it is reported
    _lock_retries = 0
    #: what opens a write transaction on the driver's connection (None: the driver's default)
    _begin_sql: str | None = None
    #: run single-statement reads in autocommit (PostgreSQL: saves the BEGIN and ROLLBACK
    #: round trips, and lets psycopg keep its prepared statements)
    _autocommit_reads = False

    def __init__(self, engine: Engine, *, table_prefix: str = "", tables: Tables | None = None):
        self._engine = engine
        self._tables = tables if tables is not None else build_tables(table_prefix)
        self._dbapi = engine.dialect.loaded_dbapi
        self._sql = _Statements(self._tables, engine)
        #: held around every write transaction of this process (SQLite: see sqlite.py)
        self._write_gate: AbstractContextManager[Any] = nullcontext()

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for hosts that want to share it or inspect the schema)."""
        return self._engine

    @property
    def tables(self) -> Tables:
        """The catalog's table definitions."""
        return self._tables

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with translate_errors(), self._engine.connect() as conn:
            yield conn

    def _retrying(self, run: Callable[[], T]) -> T:
        """Run ``run()``, retrying transient lock errors (SQLite) with a short back-off."""
        attempt = 0
        while True:
            try:
                return run()
            except RepositoryError as exc:
                if attempt >= self._lock_retries or not is_lock_error(exc.__cause__ or exc):
                    raise
                attempt += 1
                time.sleep(min(0.05 * attempt, 0.5))

    def _write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying transient lock errors."""

        def once() -> T:
            with self._write_gate, translate_errors(), self._engine.connect() as conn:
                conn.execution_options(**self._write_options)
                with conn.begin():
                    return work(conn)

        return self._retrying(once)

    def _driver(self, work: Callable[[Any], T], *, write: bool) -> T:
        """Run ``work(cursor)`` on a pooled driver connection; commit if ``write``."""

        def once() -> T:
            gate = self._write_gate if write else nullcontext()
            with gate, translate_driver_errors(self._dbapi):
                raw = self._engine.raw_connection()
                autocommit = not write and self._autocommit_reads
                if autocommit:
                    raw.driver_connection.autocommit = True  # type: ignore[union-attr]
                try:
                    cursor = raw.cursor()
                    try:
                        if write and self._begin_sql is not None:
                            cursor.execute(self._begin_sql)
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

    def _fetch_one(self, stmt: Prepared, values: dict[str, Any]) -> dict[str, Any] | None:
        def work(cursor: Any) -> dict[str, Any] | None:
            cursor.execute(stmt.sql, stmt.params(values))
            raw = cursor.fetchone()
            return stmt.row(raw) if raw is not None else None

        return self._driver(work, write=False)

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet."""
        with translate_errors():
            self._tables.metadata.create_all(self._engine, checkfirst=True)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self._engine.dispose()

    # -- ingest ---------------------------------------------------------------------------

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Asset | None:
        row = self._fetch_one(self._sql.asset_by_key, {"tenant_id": tenant_id, "key": key})
        return asset_from_row(row) if row is not None else None

    def add_pending_object(self, obj: StorageObject) -> None:
        stmt = self._sql.insert_object
        params = stmt.params(object_values(obj))
        self._driver(lambda cursor: cursor.execute(stmt.sql, params), write=True)

    def complete_ingest(self, asset: Asset, event: AssetEvent) -> None:
        sql = self._sql
        store = sql.store_object.params(
            {
                "object_id": asset.storage_object_id,
                "new_size": asset.size_bytes,
                "new_sha256": asset.sha256,
            }
        )
        asset_row = sql.insert_asset.params(asset_values(asset))
        event_row = sql.insert_event.params(event_values(event))

        def work(cursor: Any) -> None:
            cursor.execute(sql.store_object.sql, store)
            if cursor.rowcount != 1:
                # reconcile() gave this ingest up for dead and removed its blob meanwhile.
                raise RepositoryError(f"storage object {asset.storage_object_id} is not pending")
            cursor.execute(sql.insert_asset.sql, asset_row)
            cursor.execute(sql.insert_event.sql, event_row)

        self._driver(work, write=True)

    def mark_object_failed(self, object_id: str, at: dt.datetime) -> None:
        stmt = self._sql.fail_object
        params = stmt.params({"object_id": object_id, "at": at})
        self._driver(lambda cursor: cursor.execute(stmt.sql, params), write=True)

    # -- reads ----------------------------------------------------------------------------

    def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        if not _findable([asset_id]):
            return None
        row = self._fetch_one(self._sql.asset_by_id, {"tenant_id": tenant_id, "asset_id": asset_id})
        return asset_from_row(row) if row is not None else None

    def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> list[Asset]:
        asset_ids = _findable(asset_ids)
        if not asset_ids:
            return []
        a = self._tables.assets
        stmt = select(a).where(
            a.c.tenant_id == tenant_id, a.c.id.in_(list(asset_ids)), a.c.deleted_at.is_(None)
        )
        with self._read() as conn:
            return [asset_from_row(row) for row in conn.execute(stmt).mappings()]

    def get_assets_with_keys(
        self, tenant_id: str, asset_ids: Sequence[str]
    ) -> list[tuple[Asset, str]]:
        asset_ids = _findable(asset_ids)
        if not asset_ids:
            return []
        a, o = self._tables.assets, self._tables.objects
        stmt = (
            select(a, o.c.key.label("_object_key"))
            .join(o, o.c.id == a.c.storage_object_id)
            .where(
                a.c.tenant_id == tenant_id,
                a.c.id.in_(list(asset_ids)),
                a.c.deleted_at.is_(None),
            )
        )
        with self._read() as conn:
            return [
                (asset_from_row(row), str(row["_object_key"]))
                for row in conn.execute(stmt).mappings()
            ]

    def get_object(self, object_id: str) -> StorageObject | None:
        if not _findable([object_id]):
            return None
        row = self._fetch_one(self._sql.object_by_id, {"object_id": object_id})
        return object_from_row(row) if row is not None else None

    def _filters(self, tenant_id: str, query: AssetQuery) -> list[ColumnElement[bool]]:
        a = self._tables.assets
        conds: list[ColumnElement[bool]] = [a.c.tenant_id == tenant_id, a.c.deleted_at.is_(None)]
        if query.asset_type is not None:
            conds.append(a.c.asset_type == query.asset_type.value)
        if query.source_tool is not None:
            conds.append(a.c.source_tool == query.source_tool.value)
        if query.conversation_id is not None:
            conds.append(a.c.conversation_id == query.conversation_id)
        if query.message_id is not None:
            conds.append(a.c.message_id == query.message_id)
        if query.agent_key is not None:
            conds.append(a.c.agent_key == query.agent_key)
        if query.mime_prefix and not _findable([query.mime_prefix]):
            conds.append(false())  # stored MIME types are well-formed: never a NUL
        elif query.mime_prefix:
            # A literal prefix as a range, ``prefix <= mime_type < prefix_next``: no LIKE
            # metacharacters to escape, and both databases answer it from the
            # (tenant_id, mime_type, created_at, id) index (the column compares bytewise:
            # BINARY on SQLite, COLLATE "C" on PostgreSQL). See docs/schema.md.
            low, high = _prefix_range(query.mime_prefix)
            conds.append(a.c.mime_type >= low)
            conds.append(a.c.mime_type < high)
        if query.created_after is not None:
            conds.append(a.c.created_at > query.created_after)
        if query.created_before is not None:
            conds.append(a.c.created_at < query.created_before)
        return conds

    def _list_statement(
        self, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
    ) -> Select[Any]:
        """The statement :meth:`list_assets` runs (tests/test_query_plans.py explains it)."""
        a = self._tables.assets
        conds = self._filters(tenant_id, query)
        if after is not None:
            # Written as a range on created_at plus a tie-break, so the index serves it.
            conds.append(a.c.created_at <= after.created_at)
            conds.append(
                or_(
                    a.c.created_at < after.created_at,
                    and_(a.c.created_at == after.created_at, a.c.id < after.id),
                )
            )
        return select(a).where(*conds).order_by(a.c.created_at.desc(), a.c.id.desc()).limit(limit)

    def list_assets(
        self, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
    ) -> list[Asset]:
        stmt = self._list_statement(tenant_id, query, after, limit)
        with self._read() as conn:
            return [asset_from_row(row) for row in conn.execute(stmt).mappings()]

    def asset_ids_in_conversation(
        self, tenant_id: str, conversation_id: str, limit: int
    ) -> list[str]:
        a = self._tables.assets
        stmt = (
            select(a.c.id)
            .where(
                a.c.tenant_id == tenant_id,
                a.c.conversation_id == conversation_id,
                a.c.deleted_at.is_(None),
            )
            .order_by(a.c.created_at, a.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return list(conn.execute(stmt).scalars())

    def events_for(self, tenant_id: str, asset_id: str) -> list[AssetEvent]:
        if not _findable([asset_id]):
            return []
        e = self._tables.events
        stmt = (
            select(e)
            .where(e.c.tenant_id == tenant_id, e.c.asset_id == asset_id)
            .order_by(e.c.at, e.c.id)
        )
        with self._read() as conn:
            return [event_from_row(row) for row in conn.execute(stmt).mappings()]

    def objects_in_status(
        self, status: ObjectStatus, created_before: dt.datetime, limit: int
    ) -> list[StorageObject]:
        o = self._tables.objects
        stmt = (
            select(o)
            .where(o.c.status == status.value, o.c.created_at < created_before)
            .order_by(o.c.created_at, o.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [object_from_row(row) for row in conn.execute(stmt).mappings()]

    def objects_after(self, after_id: str | None, limit: int) -> list[ObjectEntry]:
        o, a = self._tables.objects, self._tables.assets
        stmt = (
            select(o, a.c.id.label("_asset_id"), a.c.deleted_at.label("_asset_deleted_at"))
            .select_from(o.outerjoin(a, a.c.storage_object_id == o.c.id))
            .order_by(o.c.id)
            .limit(limit)
        )
        if after_id is not None:
            stmt = stmt.where(o.c.id > after_id)
        with self._read() as conn:
            return [
                ObjectEntry(
                    object_from_row(row),
                    None if row["_asset_id"] is None else row["_asset_deleted_at"] is None,
                )
                for row in conn.execute(stmt).mappings()
            ]

    def get_objects(self, object_ids: Sequence[str]) -> list[StorageObject]:
        ids = _findable(object_ids)
        if not ids:
            return []
        o = self._tables.objects
        with self._read() as conn:
            return [
                object_from_row(row)
                for row in conn.execute(select(o).where(o.c.id.in_(ids))).mappings()
            ]

    # -- writes ---------------------------------------------------------------------------

    def purge_deleted(
        self, before: dt.datetime, limit: int, at: dt.datetime, actor: str | None
    ) -> tuple[int, int]:
        a, o, e = self._tables.assets, self._tables.objects, self._tables.events
        gone = (ObjectStatus.DELETED.value, ObjectStatus.FAILED.value)

        def work(conn: Connection) -> tuple[int, int]:
            # created_at <= deleted_at, so the (status, created_at) index narrows the search.
            object_ids = list(
                conn.execute(
                    select(o.c.id)
                    .where(
                        o.c.status.in_(gone),
                        o.c.created_at < before,
                        o.c.deleted_at < before,
                        # never an object a live asset still points at (verify() reports those)
                        ~exists().where(a.c.storage_object_id == o.c.id, a.c.deleted_at.is_(None)),
                    )
                    .order_by(o.c.created_at, o.c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            if not object_ids:
                return 0, 0
            # DELETE ... RETURNING: a concurrent purge of the same rows gets nothing back,
            # so each asset's ``purged`` event is written exactly once.
            purged = conn.execute(
                delete(a)
                .where(a.c.storage_object_id.in_(object_ids), a.c.deleted_at.is_not(None))
                .returning(a.c.id, a.c.tenant_id, a.c.size_bytes, a.c.sha256, a.c.deleted_at)
            ).all()
            if purged:
                conn.execute(
                    insert(e),
                    [
                        {
                            "id": new_id(),
                            "tenant_id": row.tenant_id,
                            "asset_id": row.id,
                            "event": "purged",
                            "actor": actor,
                            "at": max(at, row.deleted_at + _ONE_MICROSECOND),
                            "details": {
                                "size_bytes": row.size_bytes,
                                "sha256": row.sha256,
                                "deleted_at": row.deleted_at.isoformat(),
                            },
                        }
                        for row in purged
                    ],
                )
            objects = conn.execute(
                delete(o).where(o.c.id.in_(object_ids), o.c.status.in_(gone))
            ).rowcount
            return len(purged), objects

        return self._write(work)

    def add_events(self, events: Sequence[AssetEvent]) -> None:
        """Append events about live assets; :class:`AssetNotFound` (and nothing recorded) if
        one of them is not live (any more).

        The check and the insert are one transaction that holds the assets against a
        concurrent delete, so no ``url_issued`` or ``downloaded`` event is ever recorded
        after the asset's ``deleted`` event.
        """
        if not events:
            return
        sql = self._sql
        rows = [sql.insert_event.params(event_values(ev)) for ev in events]
        by_tenant: dict[str, set[str]] = {}
        for ev in events:
            by_tenant.setdefault(ev.tenant_id, set()).add(ev.asset_id)
        checks = []
        for tenant, ids in sorted(by_tenant.items()):
            lock = sql.lock_live_assets(len(ids))
            values = {f"id{n}": asset_id for n, asset_id in enumerate(sorted(ids))}
            checks.append((lock, lock.params({"tenant_id": tenant, **values}), ids))

        def work(cursor: Any) -> None:
            for lock, params, ids in checks:
                cursor.execute(lock.sql, params)
                live = {row[0] for row in cursor.fetchall()}
                if live != ids:
                    raise AssetNotFound(min(ids - live))
            cursor.executemany(sql.insert_event.sql, rows)

        self._driver(work, write=True)

    def link_message(
        self,
        tenant_id: str,
        message_id: str,
        *,
        asset_ids: Sequence[str] | None,
        tool_call_ids: Sequence[str] | None,
        response_id: str | None,
        at: dt.datetime,
        actor: str | None,
    ) -> list[str]:
        a, e = self._tables.assets, self._tables.events
        live = and_(a.c.tenant_id == tenant_id, a.c.deleted_at.is_(None))
        selectors: list[ColumnElement[bool]] = []
        if asset_ids:
            selectors.append(a.c.id.in_(_findable(asset_ids)))
        if tool_call_ids:
            selectors.append(a.c.tool_call_id.in_(list(tool_call_ids)))
        if response_id is not None:
            selectors.append(a.c.response_id == response_id)
        if not selectors:
            return []

        def work(conn: Connection) -> list[str]:
            # Lock the live candidates first, in id order (PostgreSQL FOR UPDATE; SQLite's
            # BEGIN IMMEDIATE already excludes every other writer): the order mark_deleted
            # and add_events lock in, so concurrent batches never deadlock, and a delete
            # that committed meanwhile is seen here.
            found = set(
                conn.execute(
                    select(a.c.id).where(live, or_(*selectors)).order_by(a.c.id).with_for_update()
                ).scalars()
            )
            for asset_id in asset_ids or ():
                if asset_id not in found:
                    raise AssetNotFound(asset_id)
            stmt = (
                update(a)
                .where(live, a.c.message_id.is_(None), or_(*selectors))
                .values(message_id=message_id, updated_at=at)
                .returning(a.c.id)
            )
            linked = sorted(conn.execute(stmt).scalars())
            if linked:
                conn.execute(
                    insert(e),
                    [
                        {
                            "id": new_id(),
                            "tenant_id": tenant_id,
                            "asset_id": asset_id,
                            "event": "linked",
                            "actor": actor,
                            "at": at,
                            "details": {"message_id": message_id},
                        }
                        for asset_id in linked
                    ],
                )
            return linked

        return self._write(work)

    def mark_deleted(
        self, tenant_id: str, asset_ids: Sequence[str], at: dt.datetime, actor: str | None
    ) -> SqlDeleteResult:
        a, o, e = self._tables.assets, self._tables.objects, self._tables.events
        ids = list(dict.fromkeys(asset_ids))

        def work(conn: Connection) -> SqlDeleteResult:
            # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already excludes every other
            # writer): a concurrent delete or link of these assets finishes first, and what is
            # read here is what it left. Locked in id order, so two batches never deadlock.
            rows = conn.execute(
                select(a.c.id, a.c.deleted_at, a.c.storage_object_id)
                .where(a.c.tenant_id == tenant_id, a.c.id.in_(_findable(ids)))
                .order_by(a.c.id)
                .with_for_update()
            ).all()
            present = {row.id for row in rows}
            missing = tuple(i for i in ids if i not in present)
            live = [row for row in rows if row.deleted_at is None]
            deleted: list[str] = []
            when = at
            if live:
                # The audit trail is ordered by time, and ``at`` was read before the locks
                # were taken: an event committed meanwhile (a link) may carry a later time.
                # The deletion is then dated just after it, so it stays the last event.
                latest = conn.execute(
                    select(func.max(e.c.at)).where(
                        e.c.tenant_id == tenant_id, e.c.asset_id.in_([r.id for r in live])
                    )
                ).scalar()
                if latest is not None and latest >= at:
                    when = latest + _ONE_MICROSECOND
                deleted = list(
                    conn.execute(
                        update(a)
                        .where(a.c.id.in_([r.id for r in live]), a.c.deleted_at.is_(None))
                        .values(deleted_at=when, updated_at=when)
                        .returning(a.c.id)
                    ).scalars()
                )
            if deleted:
                object_ids = [r.storage_object_id for r in live if r.id in set(deleted)]
                conn.execute(
                    update(o)
                    .where(o.c.id.in_(object_ids), o.c.status == ObjectStatus.STORED.value)
                    .values(status=ObjectStatus.DELETING.value)
                )
                conn.execute(
                    insert(e),
                    [
                        {
                            "id": new_id(),
                            "tenant_id": tenant_id,
                            "asset_id": asset_id,
                            "event": "deleted",
                            "actor": actor,
                            "at": when,
                            "details": {},
                        }
                        for asset_id in deleted
                    ],
                )
            objects: list[StorageObject] = []
            if rows:
                objects = [
                    object_from_row(row)
                    for row in conn.execute(
                        select(o).where(
                            o.c.id.in_([r.storage_object_id for r in rows]),
                            o.c.status == ObjectStatus.DELETING.value,
                        )
                    ).mappings()
                ]
            return SqlDeleteResult(tuple(sorted(deleted)), missing, tuple(objects))

        return self._write(work)

    def finish_delete(self, object_ids: Sequence[str], at: dt.datetime) -> None:
        if not object_ids:
            return
        o = self._tables.objects
        stmt = (
            update(o)
            .where(o.c.id.in_(list(object_ids)), o.c.status == ObjectStatus.DELETING.value)
            .values(status=ObjectStatus.DELETED.value, deleted_at=at)
        )
        self._write(lambda conn: conn.execute(stmt))
