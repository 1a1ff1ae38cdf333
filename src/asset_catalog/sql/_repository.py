"""The SQL repository shared by every dialect: every query is defined once, here and in
``_statements.py``; the dialect classes only configure the engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import attrs
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from .._models import (
    Asset,
    AssetEvent,
    AssetType,
    ObjectStatus,
    SourceTool,
    StorageObject,
    UsageEntry,
)
from ..exceptions import AssetNotFound, RepositoryError
from ..protocols import (
    Admit,
    AssetQuery,
    DeletedEvents,
    ErasedEvent,
    LinkedEvent,
    ObjectEntry,
    Position,
    PurgedEvent,
)
from ._connections import Connections, Dialect
from ._prepared import Prepared
from ._rows import (
    asset_from_row,
    asset_reader,
    asset_values,
    event_from_row,
    event_values,
    object_from_row,
    object_values,
)
from ._schema import Tables, build_tables
from ._statements import Statements, findable, list_query, padded, purge_candidates

__all__ = ["SqlDeleteResult", "SqlRepository"]


@attrs.frozen
class SqlDeleteResult:
    """What :meth:`SqlRepository.mark_deleted` did."""

    deleted: tuple[str, ...]
    missing: tuple[str, ...]
    objects: tuple[StorageObject, ...]


#: events in one multi-row INSERT at most (SQLite allows 32,766 bound values a statement)
MULTI_ROW = 256


def _each(cursor: Any, sql: str, rows: Sequence[Any]) -> None:
    """``sql`` for each row: one row as a plain execute (psycopg's executemany opens a
    pipeline of its own, which costs more than the statement when there is one row)."""
    if len(rows) == 1:
        cursor.execute(sql, rows[0])
    elif rows:
        cursor.executemany(sql, rows)


def _by_asset(event: AssetEvent) -> str:
    return event.asset_id


def _usage_taken(tenant_id: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Usage rows that take deleted assets out of their tenant's counters."""
    totals: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if row["variant_of"] is not None:
            continue  # variants are not counted (see complete_ingest)
        entry = totals.setdefault((row["asset_type"], row["source_tool"]), [0, 0])
        entry[0] -= 1
        entry[1] -= row["size_bytes"]
    return [
        {"tenant_id": tenant_id, "asset_type": kind, "source_tool": tool}
        | {"assets": assets, "bytes": size}
        for (kind, tool), (assets, size) in totals.items()
    ]


class SqlRepository:
    """An :class:`~asset_catalog.AssetRepository` on SQLAlchemy Core.

    Use :class:`~asset_catalog.sql.SqliteRepository` or
    :class:`~asset_catalog.sql.PostgresRepository`; they only configure the engine.
    """

    #: what this database needs done differently (see :class:`Dialect`)
    _dialect: ClassVar[Dialect] = Dialect()

    def __init__(
        self, engine: Engine, *, table_prefix: str = "", tables: Tables | None = None
    ) -> None:
        self._tables = tables if tables is not None else build_tables(table_prefix)
        self._db = Connections(engine, self._dialect, self._write_gate())
        self._sql = Statements(self._tables, engine)

    def _write_gate(self) -> AbstractContextManager[Any] | None:
        """A lock held around every write transaction of this process (None: no lock)."""
        return None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for hosts that want to share it or inspect the schema)."""
        return self._db.engine

    @property
    def tables(self) -> Tables:
        """The catalog's table definitions."""
        return self._tables

    def create_schema(self) -> None:
        """Create the tables and indexes that do not exist yet. A usage table created here
        for a catalog that already has assets (one made by an earlier version) is filled
        from them, as the Alembic revision ``asset_catalog_0003`` does."""
        u, a = self._tables.usage, self._tables.assets
        with self._db.translating():
            had_usage = inspect(self.engine).has_table(u.name, schema=u.schema)
            self._tables.metadata.create_all(self.engine, checkfirst=True)
            self._add_derived_columns()
            if had_usage:
                return
            keys = (a.c.tenant_id, a.c.asset_type, a.c.source_tool)
            counted = (
                select(*keys, func.count(), func.sum(a.c.size_bytes))
                .where(a.c.deleted_at.is_(None))
                .group_by(*keys)
            )
            columns = ["tenant_id", "asset_type", "source_tool", "assets", "bytes"]
            with self.engine.begin() as conn:
                conn.execute(insert(u).from_select(columns, counted))

    def _add_derived_columns(self) -> None:
        """An ``agent_assets`` table made by an earlier version gets the columns and indexes
        of variants and lineage, as the Alembic revision ``asset_catalog_0004`` adds them."""
        a = self._tables.assets
        present = {c["name"] for c in inspect(self.engine).get_columns(a.name, schema=a.schema)}
        derived = ("variant_of", "variant", "source_asset_id", "placeholder")
        missing = [name for name in derived if name not in present]
        if not missing:
            return
        preparer = self.engine.dialect.identifier_preparer
        table = preparer.format_table(a)
        with self.engine.begin() as conn:
            for name in missing:
                column = a.c[name]
                kind = column.type.compile(dialect=self.engine.dialect)
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {preparer.quote(name)} {kind}"))
        for index in a.indexes:
            if index.name and index.name.endswith(("_variant_of", "_source_asset_id")):
                index.create(self.engine, checkfirst=True)

    def close(self) -> None:
        """Dispose of the connection pool."""
        self.engine.dispose()

    # -- ingest ---------------------------------------------------------------------------

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Asset | None:
        return self._one_asset(self._sql.asset_by_key, {"tenant_id": tenant_id, "key": key})

    def _one_asset(self, stmt: Prepared, values: dict[str, Any]) -> Asset | None:
        """The asset a prepared one-row read finds, or None (converted once, by the
        statement's reader)."""
        read, params = stmt.derived(asset_reader), stmt.params(values)

        def work(cursor: Any) -> Asset | None:
            cursor.execute(stmt.sql, params)
            raw = cursor.fetchone()
            return read(raw) if raw is not None else None

        return self._db.driver(work, write=False)

    def add_pending_object(self, obj: StorageObject) -> None:
        # Not waited for on disk: a database crash that loses this row can only leave the
        # blob written after it without a row (verify() reports it as an orphan), never a
        # row without its blob: the publishing commit, which waits, makes it durable first.
        self._db.execute(self._sql.insert_object, object_values(obj), durable=False)

    def complete_ingest(self, asset: Asset, event: AssetEvent, admit: Admit | None = None) -> None:
        sql = self._sql
        store = sql.store_object.params(
            {
                "object_id": asset.storage_object_id,
                "new_size": asset.size_bytes,
                "new_sha256": asset.sha256,
            }
        )
        asset_row = sql.publish_asset.params(asset_values(asset))
        event_row = sql.publish_event.params(event_values(event))
        tenant = {"tenant_id": asset.tenant_id}
        usage_row = sql.publish_usage.params(
            tenant
            | {
                "asset_id": asset.id,
                "asset_type": asset.asset_type.value,
                "source_tool": asset.source_tool.value,
                # A variant (a thumbnail) is not counted: usage is what list() shows.
                "assets": 0 if asset.variant_of is not None else 1,
                "bytes": 0 if asset.variant_of is not None else asset.size_bytes,
            }
        )

        def work(cursor: Any) -> Any:
            # The UPDATE on a cursor of its own, read by check() once the rest is sent.
            stored = cursor.connection.cursor()
            try:
                stored.execute(sql.store_object.sql, store)
                if admit is not None:
                    if sql.lock_tenant is not None:
                        cursor.execute(sql.lock_tenant.sql, sql.lock_tenant.params(tenant))
                    cursor.execute(sql.usage_of.sql, sql.usage_of.params(tenant))
                    rows = cursor.fetchall()
                    admit(sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows))
                cursor.execute(sql.publish_asset.sql, asset_row)
                cursor.execute(sql.publish_event.sql, event_row)
                cursor.execute(sql.publish_usage.sql, usage_row)
            except BaseException:
                stored.close()  # SQLite cannot roll back past an unread result
                raise
            return stored

        def check(stored: Any) -> None:
            try:
                if not stored.fetchall():
                    # reconcile() gave this ingest up for dead and removed its blob
                    # meanwhile: nothing was inserted (see Statements.publish_asset).
                    raise RepositoryError(
                        f"storage object {asset.storage_object_id} is not pending"
                    )
            finally:
                stored.close()

        self._db.driver(work, write=True, check=check)

    def mark_objects_failed(self, object_ids: Sequence[str], at: dt.datetime) -> None:
        self._mark_removed(self._sql.fail_object, object_ids, at)

    def _mark_removed(self, stmt: Prepared, object_ids: Sequence[str], at: dt.datetime) -> None:
        """Move objects whose blobs were removed on to their next status (``failed`` or
        ``deleted``), not waiting for the commit's flush to disk: the blobs are gone
        already, and a row that is ``pending`` or ``deleting`` again after a crash is
        finished by reconcile(), which finds no blob to remove."""
        if not object_ids:
            return
        rows = [stmt.params({"object_id": object_id, "at": at}) for object_id in object_ids]
        self._db.driver(lambda cursor: _each(cursor, stmt.sql, rows), write=True, durable=False)

    # -- reads ----------------------------------------------------------------------------

    def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        if not findable([asset_id]):
            return None
        return self._one_asset(
            self._sql.asset_by_id, {"tenant_id": tenant_id, "asset_id": asset_id}
        )

    def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> list[Asset]:
        return [asset for asset, _key in self._live_assets(tenant_id, asset_ids, False)]

    def get_assets_with_keys(
        self, tenant_id: str, asset_ids: Sequence[str]
    ) -> list[tuple[Asset, str]]:
        return self._live_assets(tenant_id, asset_ids, True)

    def _live_assets(
        self, tenant_id: str, asset_ids: Sequence[str], with_keys: bool
    ) -> list[tuple[Asset, str]]:
        ids = findable(asset_ids)
        if not ids:
            return []
        ids = padded(list(dict.fromkeys(ids)))
        stmt = self._sql.live_assets(len(ids), with_keys=with_keys)
        params = stmt.params({"tenant_id": tenant_id} | {f"id{n}": i for n, i in enumerate(ids)})
        read = stmt.derived(asset_reader)

        def work(cursor: Any) -> list[tuple[Asset, str]]:
            cursor.execute(stmt.sql, params)
            return [(read(raw), str(raw[-1]) if with_keys else "") for raw in cursor.fetchall()]

        return self._db.driver(work, write=False)

    def usage(self, tenant_id: str) -> list[UsageEntry]:
        rows = self._db.fetch_all(self._sql.usage_of, {"tenant_id": tenant_id})
        return [
            UsageEntry(
                AssetType(r["asset_type"]), SourceTool(r["source_tool"]), r["assets"], r["bytes"]
            )
            for r in rows
            if r["assets"]
        ]

    def usage_rows(
        self, after: tuple[str, str, str] | None, limit: int
    ) -> list[tuple[str, UsageEntry]]:
        u = self._tables.usage
        key = (u.c.tenant_id, u.c.asset_type, u.c.source_tool)
        stmt = select(*key, u.c.assets, u.c.bytes).where(u.c.assets > 0)
        if after is not None:
            stmt = stmt.where(tuple_(*key) > tuple_(*after))
        rows = self._db.read(lambda conn: conn.execute(stmt.order_by(*key).limit(limit)).all())
        return [
            (
                r.tenant_id,
                UsageEntry(AssetType(r.asset_type), SourceTool(r.source_tool), r.assets, r.bytes),
            )
            for r in rows
        ]

    def get_object(self, object_id: str) -> StorageObject | None:
        if not findable([object_id]):
            return None
        row = self._db.fetch_one(self._sql.object_by_id, {"object_id": object_id})
        return object_from_row(row) if row is not None else None

    def get_objects(self, object_ids: Sequence[str]) -> list[StorageObject]:
        ids = findable(object_ids)
        if not ids:
            return []
        o = self._tables.objects
        return self._db.read(
            lambda conn: [
                object_from_row(row)
                for row in conn.execute(select(o).where(o.c.id.in_(ids))).mappings()
            ]
        )

    def list_assets(
        self, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
    ) -> list[Asset]:
        q = list_query(self._tables, tenant_id, query, after)
        stmt = self._sql.list_prepared(self._tables, q)
        params = stmt.params(q.values | {"limit": limit})
        read = stmt.derived(asset_reader)
        # exec_driver_sql: the statement is compiled already, and the host's engine events
        # (and tests/test_query_plans.py) still see it.
        return self._db.read(
            lambda conn: [read(raw) for raw in conn.exec_driver_sql(stmt.sql, params).fetchall()]
        )

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
                a.c.variant_of.is_(None),  # variants go with their source
            )
            .order_by(a.c.created_at, a.c.id)
            .limit(limit)
        )
        return self._db.read(lambda conn: list(conn.execute(stmt).scalars()))

    def events_for(self, tenant_id: str, asset_id: str) -> list[AssetEvent]:
        if not findable([asset_id]):
            return []
        e = self._tables.events
        stmt = (
            select(e)
            .where(e.c.tenant_id == tenant_id, e.c.asset_id == asset_id)
            .order_by(e.c.at, e.c.id)
        )
        return self._db.read(
            lambda conn: [event_from_row(row) for row in conn.execute(stmt).mappings()]
        )

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
        return self._db.read(
            lambda conn: [object_from_row(row) for row in conn.execute(stmt).mappings()]
        )

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
        return self._db.read(
            lambda conn: [
                ObjectEntry(
                    object_from_row(row),
                    None if row["_asset_id"] is None else row["_asset_deleted_at"] is None,
                )
                for row in conn.execute(stmt).mappings()
            ]
        )

    # -- derived assets (variants, lineage) -----------------------------------------------

    def get_variants_with_keys(
        self, tenant_id: str, asset_ids: Sequence[str], variant: str
    ) -> list[tuple[Asset, str]]:
        ids = findable(asset_ids)
        if not ids or not findable([variant]):
            return []
        ids = padded(list(dict.fromkeys(ids)))
        stmt = self._sql.live_variants(len(ids))
        values = {"tenant_id": tenant_id, "variant": variant}
        params = stmt.params(values | {f"id{n}": i for n, i in enumerate(ids)})
        read = stmt.derived(asset_reader)

        def work(cursor: Any) -> list[tuple[Asset, str]]:
            cursor.execute(stmt.sql, params)
            return [(read(raw), str(raw[-1])) for raw in cursor.fetchall()]

        return self._db.driver(work, write=False)

    def derived_from(self, tenant_id: str, asset_id: str) -> list[Asset]:
        if not findable([asset_id]):
            return []
        a = self._tables.assets
        stmt = (
            select(a)
            .where(
                a.c.tenant_id == tenant_id,
                or_(a.c.variant_of == asset_id, a.c.source_asset_id == asset_id),
                a.c.deleted_at.is_(None),
            )
            .order_by(a.c.created_at, a.c.id)
        )
        return self._db.read(
            lambda conn: [asset_from_row(row) for row in conn.execute(stmt).mappings()]
        )

    def set_placeholder(self, tenant_id: str, asset_id: str, placeholder: str) -> bool:
        if not findable([asset_id]):
            return False
        a = self._tables.assets
        stmt = (
            update(a)
            .where(a.c.tenant_id == tenant_id, a.c.id == asset_id, a.c.deleted_at.is_(None))
            .values(placeholder=placeholder)
        )
        return bool(self._db.write(lambda conn: conn.execute(stmt).rowcount))

    # -- changes whose events the catalog builds -----------------------------------------

    def add_events(self, events: Sequence[AssetEvent]) -> None:
        """Append events about live assets (an event id already stored is skipped);
        :class:`AssetNotFound` (and nothing recorded) if one of them is not live (any more).

        The check and the insert are one transaction that holds the assets against a
        concurrent delete, so no ``url_issued`` or ``downloaded`` event is ever recorded
        after the asset's ``deleted`` event.
        """
        if not events:
            return
        sql = self._sql
        inserts: list[tuple[str, Any]] = []
        for start in range(0, len(events), MULTI_ROW):
            batch = [event_values(ev) for ev in events[start : start + MULTI_ROW]]
            values: dict[str, Any]
            if sql.events_as_arrays:  # one statement for any count: nothing to pad
                stmt = sql.insert_events_once(len(batch))
                values = {key: [row[key] for row in batch] for key in batch[0]}
            else:
                batch = padded(batch)
                stmt = sql.insert_events_once(len(batch))
                values = {f"{key}{n}": v for n, row in enumerate(batch) for key, v in row.items()}
            inserts.append((stmt.sql, stmt.params(values)))
        by_tenant: dict[str, set[str]] = {}
        for ev in events:
            by_tenant.setdefault(ev.tenant_id, set()).add(ev.asset_id)
        checks = []
        for tenant, ids in sorted(by_tenant.items()):
            wanted = padded(sorted(ids))
            lock = sql.lock_live_assets(len(wanted))
            bound = {f"id{n}": asset_id for n, asset_id in enumerate(wanted)}
            checks.append((lock, lock.params({"tenant_id": tenant, **bound}), ids))

        def work(cursor: Any) -> None:
            for lock, params, ids in checks:
                cursor.execute(lock.sql, params)
                live = {row[0] for row in cursor.fetchall()}
                if live != ids:
                    raise AssetNotFound(min(ids - live))
            for statement, params in inserts:
                cursor.execute(statement, params)

        self._db.driver(work, write=True)

    def _insert_events(self, conn: Connection, events: Sequence[AssetEvent]) -> None:
        if events:
            conn.execute(insert(self._tables.events), [event_values(ev) for ev in events])

    def link_message(
        self,
        tenant_id: str,
        message_id: str,
        *,
        asset_ids: Sequence[str] | None,
        tool_call_ids: Sequence[str] | None,
        response_id: str | None,
        at: dt.datetime,
        linked: LinkedEvent,
    ) -> list[str]:
        a = self._tables.assets
        live = and_(a.c.tenant_id == tenant_id, a.c.deleted_at.is_(None))
        selectors: list[ColumnElement[bool]] = []
        if asset_ids:
            selectors.append(a.c.id.in_(findable(asset_ids)))
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
            done = sorted(conn.execute(stmt).scalars())
            self._insert_events(conn, [linked(asset_id) for asset_id in done])
            return done

        return self._db.write(work)

    def mark_deleted(
        self, tenant_id: str, asset_ids: Sequence[str], deleted: DeletedEvents
    ) -> SqlDeleteResult:
        sql = self._sql
        ids = list(dict.fromkeys(asset_ids))
        wanted = padded(findable(ids) or [""])
        find, latest_of = sql.delete_candidates(len(wanted))
        bound = {"tenant_id": tenant_id} | {f"id{n}": i for n, i in enumerate(wanted)}

        def work(cursor: Any) -> SqlDeleteResult:
            # The assets and their objects, locked in id order (PostgreSQL FOR UPDATE;
            # SQLite's BEGIN IMMEDIATE already excludes every other writer): a concurrent
            # delete, link or add_events of these assets finishes first, what is read here
            # is what it left, and two batches never deadlock. Then each one's latest
            # event, read after the lock (see Statements.delete_candidates). The writes
            # that follow need no answer: on PostgreSQL they travel with the COMMIT.
            cursor.execute(find.sql, find.params(bound))
            events_cursor = cursor.connection.cursor()
            try:
                events_cursor.execute(latest_of.sql, latest_of.params(bound))
                rows = [find.row(raw) for raw in cursor.fetchall()]
                last = {
                    row["asset_id"]: row["latest"]
                    for row in map(latest_of.row, events_cursor.fetchall())
                }
            finally:
                events_cursor.close()
            missing = tuple(i for i in ids if i not in {row["id"] for row in rows})
            live = [row for row in rows if row["deleted_at"] is None]
            if live:
                latest = max((last[r["id"]] for r in live if r["id"] in last), default=None)
                events = sorted(deleted([r["id"] for r in live], latest), key=_by_asset)
                at = {ev.asset_id: ev.at for ev in events}
                statements = [
                    (sql.soft_delete, [{"asset_id": r["id"], "at": at[r["id"]]} for r in live]),
                    (sql.start_object_delete, [{"object_id": r["object_id"]} for r in live]),
                    (sql.insert_event, [event_values(ev) for ev in events]),
                    (sql.add_usage, _usage_taken(tenant_id, live)),
                ]
                for stmt, values in statements:
                    _each(cursor, stmt.sql, [stmt.params(v) for v in values])
            objects = []
            for row in rows:
                obj = object_from_row({k[7:]: v for k, v in row.items() if k.startswith("object_")})
                if row["deleted_at"] is None and obj.status is ObjectStatus.STORED:
                    obj = attrs.evolve(obj, status=ObjectStatus.DELETING)
                if obj.status is ObjectStatus.DELETING:
                    objects.append(obj)
            return SqlDeleteResult(tuple(r["id"] for r in live), missing, tuple(objects))

        return self._db.driver(work, write=True)

    def finish_delete(self, object_ids: Sequence[str], at: dt.datetime) -> None:
        self._mark_removed(self._sql.finish_object_delete, object_ids, at)

    def erase_deleted(
        self, tenant_id: str, user_id: str, erased: ErasedEvent
    ) -> tuple[list[str], int]:
        a, o, e = self._tables.assets, self._tables.objects, self._tables.events
        gone = (ObjectStatus.DELETED.value, ObjectStatus.FAILED.value)

        def work(conn: Connection) -> tuple[list[str], int]:
            rows = conn.execute(
                select(a.c.id, a.c.storage_object_id, a.c.variant_of)
                .join(o, o.c.id == a.c.storage_object_id)
                .where(
                    a.c.tenant_id == tenant_id,
                    a.c.user_id == user_id,
                    a.c.deleted_at.is_not(None),
                    o.c.status.in_(gone),
                )
                .order_by(a.c.id)
                .with_for_update()
            ).all()
            ids = [row.id for row in rows]
            for start in range(0, len(rows), 500):
                part = rows[start : start + 500]
                chunk = [row.id for row in part]
                conn.execute(delete(e).where(e.c.tenant_id == tenant_id, e.c.asset_id.in_(chunk)))
                conn.execute(delete(a).where(a.c.id.in_(chunk)))
                conn.execute(delete(o).where(o.c.id.in_([row.storage_object_id for row in part])))
            anonymized = conn.execute(
                update(e).where(e.c.tenant_id == tenant_id, e.c.actor == user_id).values(actor=None)
            ).rowcount
            self._insert_events(conn, [erased(asset_id) for asset_id in ids])
            return [row.id for row in rows if row.variant_of is None], anonymized

        return self._db.write(work)

    def purge_deleted(
        self, before: dt.datetime, limit: int, purged: PurgedEvent
    ) -> tuple[int, int]:
        a, o = self._tables.assets, self._tables.objects
        gone = (ObjectStatus.DELETED.value, ObjectStatus.FAILED.value)

        def work(conn: Connection) -> tuple[int, int]:
            object_ids = list(conn.execute(purge_candidates(self._tables, before, limit)).scalars())
            if not object_ids:
                return 0, 0
            # DELETE ... RETURNING: a concurrent purge of the same rows gets nothing back,
            # so each asset's ``purged`` event is written exactly once.
            removed = [
                asset_from_row(row)
                for row in conn.execute(
                    delete(a)
                    .where(a.c.storage_object_id.in_(object_ids), a.c.deleted_at.is_not(None))
                    .returning(*a.c)
                ).mappings()
            ]
            self._insert_events(conn, [purged(asset) for asset in removed])
            objects = conn.execute(
                delete(o).where(o.c.id.in_(object_ids), o.c.status.in_(gone))
            ).rowcount
            return len(removed), objects

        return self._db.write(work)
