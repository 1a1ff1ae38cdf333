"""The repository's statements, written once in SQLAlchemy Core against the shared tables.

:class:`Statements` holds the fixed statements of the hot paths (ingest, get), compiled once
per dialect (see ``_prepared.py``); the functions below build the statements whose shape
depends on the call (list filters, batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Engine,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter, ColumnElement

from .._models import ObjectStatus
from ..protocols import AssetQuery, Position
from ._prepared import Prepared
from ._schema import OPTIONAL_FILTER_COLUMNS, Tables

T = TypeVar("T")

__all__ = [
    "ListQuery",
    "Statements",
    "findable",
    "list_query",
    "list_statement",
    "padded",
    "purge_candidates",
]


def findable(ids: Sequence[str]) -> list[str]:
    """The ids (or MIME prefixes) that could match a row: one with a NUL character or a lone
    surrogate cannot.

    The catalog's ids and stored MIME types are never such text, and the drivers refuse it
    (PostgreSQL any NUL, even as a query parameter; both drivers a lone surrogate, which is
    not UTF-8: a stray file name that is not valid UTF-8 comes back from the file system
    with such surrogates), so such a value is answered as absent without asking.
    """
    return [i for i in ids if "\x00" not in i and _utf8(i)]


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _prefix_range(prefix: str) -> tuple[str, str | None]:
    """``(low, high)`` such that, compared code point by code point, a string starts with
    ``prefix`` exactly when ``low <= string`` and (if ``high`` is not None) ``string < high``:
    ``high`` is ``prefix`` with its last character incremented (after dropping trailing
    U+10FFFF, which has no successor). ``%`` and ``_`` are plain characters here.
    """
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return prefix, None
    return prefix, stem[:-1] + chr(ord(stem[-1]) + 1)


class ListQuery:
    """What ``list_assets`` asks for in one call: its terms (``column op :name``), their
    ``values``, and its ``shape``, which says which terms it has: the statement of a shape
    is built and compiled once (see :meth:`Statements.list_prepared`) and run with
    ``values``. Building the SQLAlchemy expression costs more than the query, so a call
    whose shape is known builds none."""

    def __init__(self, tables: Tables) -> None:
        self.assets = tables.assets
        self.terms: list[tuple[str, str, str]] = []
        self.values: dict[str, Any] = {}
        self.after = False
        self.never = False

    def add(self, column: str, op: str, name: str, value: Any) -> None:
        """The condition ``column op :name``, bound to ``value``."""
        self.terms.append((column, op, name))
        self.values[name] = value

    @property
    def shape(self) -> tuple[Any, ...]:
        return (*self.terms, self.after, self.never)

    def conditions(self) -> list[ColumnElement[bool]]:
        a = self.assets
        # variants (thumbnails) go with their source, never listed on their own
        conds: list[ColumnElement[bool]] = [a.c.deleted_at.is_(None), a.c.variant_of.is_(None)]
        for column, op, name in self.terms:
            col = a.c[column]
            bound = bindparam(name, self.values[name], type_=col.type)
            compare = {"=": col.__eq__, "<": col.__lt__, "<=": col.__le__, ">": col.__gt__}
            conds.append(col >= bound if op == ">=" else compare[op](bound))
        if self.never:
            conds.append(false())
        if self.after:
            at = bindparam("after_at", self.values["after_at"], type_=a.c.created_at.type)
            after_id = bindparam("after_id", self.values["after_id"], type_=a.c.id.type)
            conds.append(or_(a.c.created_at < at, and_(a.c.created_at == at, a.c.id < after_id)))
        return conds


def _filters(list_query: ListQuery, tenant_id: str, query: AssetQuery) -> None:
    q = list_query
    q.add("tenant_id", "=", "tenant_id", tenant_id)
    if query.asset_type is not None:
        q.add("asset_type", "=", "asset_type", query.asset_type.value)
    if query.source_tool is not None:
        q.add("source_tool", "=", "source_tool", query.source_tool.value)
    for name in OPTIONAL_FILTER_COLUMNS:
        value = getattr(query, name)
        if value is not None:
            q.add(name, "=", name, value)
    if query.mime_prefix and not findable([query.mime_prefix]):
        q.never = True  # stored MIME types are well-formed: never a NUL
    elif query.mime_prefix:
        # A literal prefix as a range, ``prefix <= mime_type < prefix_next``: no LIKE
        # metacharacters to escape, and both databases answer it from the
        # (tenant_id, mime_type, created_at, id) index (the column compares bytewise:
        # BINARY on SQLite, COLLATE "C" on PostgreSQL). See docs/schema.md.
        low, high = _prefix_range(query.mime_prefix)
        q.add("mime_type", ">=", "mime_low", low)
        if high is not None:
            q.add("mime_type", "<", "mime_high", high)
    if query.created_after is not None:
        q.add("created_at", ">", "created_after", query.created_after)
    if query.created_before is not None:
        q.add("created_at", "<", "created_before", query.created_before)


def list_query(
    tables: Tables, tenant_id: str, query: AssetQuery, after: Position | None
) -> ListQuery:
    """The conditions of ``list_assets`` (tests/test_query_plans.py explains its plans)."""
    q = ListQuery(tables)
    _filters(q, tenant_id, query)
    if after is not None:
        # Written as a range on created_at plus a tie-break, so the index serves it.
        q.add("created_at", "<=", "after_at", after.created_at)
        q.values["after_id"] = after.id
        q.after = True
    return q


def list_statement(
    tables: Tables, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
) -> Select[Any]:
    """The statement ``list_assets`` runs, with its values bound."""
    q = list_query(tables, tenant_id, query, after)
    return _list_select(tables, q).params(limit=limit)


def _list_select(tables: Tables, q: ListQuery) -> Select[Any]:
    a = tables.assets
    return (
        select(a)
        .where(*q.conditions())
        .order_by(a.c.created_at.desc(), a.c.id.desc())
        .limit(bindparam("limit", 0, type_=Integer))
    )


def purge_candidates(tables: Tables, before: dt.datetime, limit: int) -> Select[Any]:
    """Ids of ``deleted``/``failed`` objects gone since before ``before`` that no live asset
    points at, oldest first, locked (skipping rows a concurrent purge holds)."""
    a, o = tables.assets, tables.objects
    gone = (ObjectStatus.DELETED.value, ObjectStatus.FAILED.value)
    return (
        select(o.c.id)
        .where(
            o.c.status.in_(gone),
            # created_at <= deleted_at, so the (status, created_at) index narrows the search.
            o.c.created_at < before,
            o.c.deleted_at < before,
            # never an object a live asset still points at (verify() reports those)
            ~exists().where(a.c.storage_object_id == o.c.id, a.c.deleted_at.is_(None)),
        )
        .order_by(o.c.created_at, o.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )


def padded(ids: Sequence[T]) -> list[T]:
    """``ids`` (at least one) padded to the next power of two by repeating the last one:
    ``IN (...)`` lists and multi-row inserts of a few fixed lengths, each compiled once."""
    size = 1 << (len(ids) - 1).bit_length()
    return [*ids, *([ids[-1]] * (size - len(ids)))]


def _insert_ignoring_duplicates(table: Any, dialect: Any) -> Any:
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])
    return insert(table)


def _move(objects: Any, old: ObjectStatus, new: ObjectStatus, **binds: str) -> Any:
    """UPDATE of one storage object (``:object_id``) from status ``old`` to ``new``,
    matching nothing in any other status; ``binds`` set columns from bind parameters."""
    return (
        update(objects)
        .where(
            objects.c.id == bindparam("object_id"),
            objects.c.status == bindparam("old_status", old.value),
        )
        .values(
            status=bindparam("new_status", new.value),
            **{column: bindparam(name) for column, name in binds.items()},
        )
    )


def _row_if(table: Any, condition: ColumnElement[bool]) -> Select[Any]:
    """One row of ``table``'s columns from bind parameters of the same names, selected
    only if ``condition`` holds."""
    return select(*(bindparam(c.key, type_=c.type) for c in table.c)).where(condition)


def _add_usage(table: Any, dialect: Any, condition: ColumnElement[bool] | None = None) -> Any:
    """Add ``assets`` and ``bytes`` (negative on delete) to a usage row, creating it (only
    if ``condition`` holds, when one is given)."""
    module = postgresql if dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    if condition is not None:
        stmt = stmt.from_select([c.key for c in table.c], _row_if(table, condition))
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "asset_type", "source_tool"],
        set_={
            "assets": table.c.assets + stmt.excluded.assets,
            "bytes": table.c.bytes + stmt.excluded.bytes,
        },
    )


class Statements:
    """The fixed statements of the hot paths (ingest, get), compiled once per dialect."""

    def __init__(self, tables: Tables, engine: Engine) -> None:
        a, o, e, u = tables.assets, tables.objects, tables.events, tables.usage
        dialect = engine.dialect
        self.add_usage = Prepared(_add_usage(u, dialect), dialect)
        self.usage_of = Prepared(
            select(u.c.asset_type, u.c.source_tool, u.c.assets, u.c.bytes)
            .where(u.c.tenant_id == bindparam("tenant_id"))
            .order_by(u.c.asset_type, u.c.source_tool),
            dialect,
        )
        #: PostgreSQL: one tenant's quota-checked publishes, one at a time (a transaction
        #: lock: released at COMMIT). SQLite's write transactions are serial already.
        self.lock_tenant: Prepared | None = None
        if dialect.name == "postgresql":
            key = func.hashtextextended(bindparam("tenant_id"), 0)
            self.lock_tenant = Prepared(select(func.pg_advisory_xact_lock(key)), dialect)
        self.insert_object = Prepared(insert(o), dialect)
        self.insert_event = Prepared(insert(e), dialect)
        # The publishing transaction's inserts, each made only if the step before it was:
        # the asset only if its object is ``stored`` (the UPDATE before it in the same
        # transaction stores it only if it was still ``pending``), its event and usage
        # only if the asset is there. Nothing is inserted for an ingest that reconcile()
        # gave up for dead, so the transaction can be committed without reading the
        # UPDATE's answer first: on PostgreSQL it all travels in one round trip.
        stored = exists().where(
            o.c.id == bindparam("storage_object_id"),
            o.c.status == bindparam("stored", ObjectStatus.STORED.value),
        )
        inserted = exists().where(a.c.id == bindparam("asset_id"))
        self.publish_asset = Prepared(
            insert(a).from_select([c.key for c in a.c], _row_if(a, stored)), dialect
        )
        self.publish_event = Prepared(
            insert(e).from_select([c.key for c in e.c], _row_if(e, inserted)), dialect
        )
        self.publish_usage = Prepared(_add_usage(u, dialect, inserted), dialect)
        # An event id is stored once: a url_issued event repeated within its window is the
        # same event (see _logic/events.py).
        self.insert_event_once = Prepared(_insert_ignoring_duplicates(e, dialect), dialect)
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
        status = ObjectStatus
        self.store_object = Prepared(
            _move(
                o, status.PENDING, status.STORED, size_bytes="new_size", sha256="new_sha256"
            ).returning(o.c.id),
            dialect,
        )
        self.fail_object = Prepared(
            _move(o, status.PENDING, status.FAILED, deleted_at="at"), dialect
        )
        self.insert_events = insert(e)
        self._objects, self._events = o, e
        self._delete_candidates: dict[int, tuple[Prepared, Prepared]] = {}
        self._lists: dict[tuple[Any, ...], Prepared] = {}
        self._live_assets: dict[tuple[int, bool], Prepared] = {}
        self._live_variants: dict[int, Prepared] = {}
        self._insert_events_once: dict[int, Prepared] = {}
        #: insert_events_once binds one array per column (PostgreSQL)
        self.events_as_arrays = dialect.name == "postgresql"
        self.soft_delete = Prepared(
            update(a)
            .where(a.c.id == bindparam("asset_id"), a.c.deleted_at.is_(None))
            .values(deleted_at=bindparam("at"), updated_at=bindparam("at")),
            dialect,
        )
        self.start_object_delete = Prepared(_move(o, status.STORED, status.DELETING), dialect)
        self.finish_object_delete = Prepared(
            _move(o, status.DELETING, status.DELETED, deleted_at="at"), dialect
        )

    def list_prepared(self, tables: Tables, q: ListQuery) -> Prepared:
        """The list statement of ``q``'s shape, compiled once per shape."""
        key = q.shape
        stmt = self._lists.get(key)
        if stmt is None:
            stmt = Prepared(_list_select(tables, q), self._dialect)
            if len(self._lists) < 256:  # shapes are few; never grow without bound
                self._lists[key] = stmt
        return stmt

    def insert_events_once(self, count: int) -> Prepared:
        """``count`` events in one INSERT that skips ids already stored: on PostgreSQL one
        array per column (binds named by the columns, whatever the count); elsewhere a
        multi-row INSERT (binds ``{column}{n}``) compiled once per padded size (see
        :func:`padded`: a repeated event is skipped like any stored one). One statement for
        a batch of 50 costs the database a fraction of 50 single-row ones."""
        if self._dialect.name == "postgresql":
            count = 0  # one statement for any count: arrays, one per column
        stmt = self._insert_events_once.get(count)
        if stmt is None and count == 0:
            # INSERT ... SELECT unnest(:id), unnest(:tenant_id) ...: the columns as arrays,
            # zipped by PostgreSQL; a short statement that psycopg prepares once.
            e = self._events
            arrays = [
                func.unnest(bindparam(c.key, type_=postgresql.ARRAY(c.type))).label(c.key)
                for c in e.c
            ]
            stmt = Prepared(
                postgresql.insert(e)
                .from_select([c.key for c in e.c], select(*arrays))
                .on_conflict_do_nothing(index_elements=["id"]),
                self._dialect,
            )
            self._insert_events_once[count] = stmt
        if stmt is None:
            e = self._events
            rows = [
                {c.key: bindparam(f"{c.key}{n}", type_=c.type) for c in e.c} for n in range(count)
            ]
            stmt = Prepared(
                _insert_ignoring_duplicates(e, self._dialect).values(rows), self._dialect
            )
            self._insert_events_once[count] = stmt
        return stmt

    def live_variants(self, count: int) -> Prepared:
        """The live variants named ``:variant`` of ``count`` assets of a tenant (binds
        ``tenant_id``, ``variant``, ``id0`` ...), with their objects' keys (the last
        column, ``_object_key``); compiled once per padded size."""
        stmt = self._live_variants.get(count)
        if stmt is None:
            a, o = self._assets, self._objects
            stmt = Prepared(
                select(a, o.c.key.label("_object_key"))
                .join(o, o.c.id == a.c.storage_object_id)
                .where(
                    a.c.tenant_id == bindparam("tenant_id"),
                    a.c.variant_of.in_([bindparam(f"id{n}") for n in range(count)]),
                    a.c.variant == bindparam("variant"),
                    a.c.deleted_at.is_(None),
                ),
                self._dialect,
            )
            self._live_variants[count] = stmt
        return stmt

    def live_assets(self, count: int, *, with_keys: bool) -> Prepared:
        """The tenant's live assets among ``count`` ids (binds ``tenant_id``, ``id0`` ...),
        with their objects' keys (column ``_object_key``) if ``with_keys``; compiled once
        per padded size (see :func:`padded`)."""
        key = (count, with_keys)
        stmt = self._live_assets.get(key)
        if stmt is None:
            a, o = self._assets, self._objects
            found = select(a, o.c.key.label("_object_key")) if with_keys else select(a)
            if with_keys:
                found = found.join(o, o.c.id == a.c.storage_object_id)
            stmt = Prepared(
                found.where(
                    a.c.tenant_id == bindparam("tenant_id"),
                    a.c.id.in_([bindparam(f"id{n}") for n in range(count)]),
                    a.c.deleted_at.is_(None),
                ),
                self._dialect,
            )
            self._live_assets[key] = stmt
        return stmt

    def delete_candidates(self, count: int) -> tuple[Prepared, Prepared]:
        """What a delete reads, for ``count`` ids (binds ``tenant_id``, ``id0`` ...): the
        tenant's assets among them with their objects (columns ``object_*``), locked in id
        order; and the time of each one's latest event.

        Two statements, the second run after the first has its locks: on PostgreSQL a
        statement sees what was committed when it started, so only a read that starts after
        the lock sees an event that a transaction holding the assets (``add_events``)
        committed while the delete waited. Sent together, they still cost one round trip.

        Compiled once per power of two: pad the ids by repeating one (see
        :func:`padded`), so a batch of any size reuses a handful of statements.
        """
        pair = self._delete_candidates.get(count)
        if pair is None:
            a, o, e = self._assets, self._objects, self._events
            ids: list[BindParameter[str]] = [bindparam(f"id{n}") for n in range(count)]
            tenant: BindParameter[str] = bindparam("tenant_id")
            assets = select(
                a.c.id,
                a.c.deleted_at,
                a.c.asset_type,
                a.c.source_tool,
                a.c.size_bytes,
                a.c.variant_of,
                *(column.label(f"object_{column.key}") for column in o.c),
            )
            # the assets asked for, and the live variants (thumbnails) of those, which go
            # with them
            wanted = and_(
                a.c.tenant_id == tenant,
                or_(a.c.id.in_(ids), and_(a.c.variant_of.in_(ids), a.c.deleted_at.is_(None))),
            )
            found = (
                assets.join(o, o.c.id == a.c.storage_object_id)
                .where(wanted)
                .order_by(a.c.id)
                .with_for_update(of=a)
            )
            latest = (
                select(e.c.asset_id, func.max(e.c.at).label("latest"))
                .where(e.c.tenant_id == tenant, e.c.asset_id.in_(select(a.c.id).where(wanted)))
                .group_by(e.c.asset_id)
            )
            pair = (Prepared(found, self._dialect), Prepared(latest, self._dialect))
            self._delete_candidates[count] = pair
        return pair

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
