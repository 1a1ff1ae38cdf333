"""The repository's statements, written once in SQLAlchemy Core against the shared tables.

:class:`Statements` holds the fixed statements of the hot paths (ingest, get), compiled once
per dialect (see ``_prepared.py``); the functions below build the statements whose shape
depends on the call (list filters, batches).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Engine,
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
from sqlalchemy.sql.elements import ColumnElement

from .._models import ObjectStatus
from ..protocols import AssetQuery, Position
from ._prepared import Prepared
from ._schema import OPTIONAL_FILTER_COLUMNS, Tables

__all__ = ["Statements", "findable", "list_statement", "purge_candidates"]


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


def _filters(tables: Tables, tenant_id: str, query: AssetQuery) -> list[ColumnElement[bool]]:
    a = tables.assets
    conds: list[ColumnElement[bool]] = [a.c.tenant_id == tenant_id, a.c.deleted_at.is_(None)]
    conds.append(a.c.variant_of.is_(None))  # variants (thumbnails) go with their source
    if query.asset_type is not None:
        conds.append(a.c.asset_type == query.asset_type.value)
    if query.source_tool is not None:
        conds.append(a.c.source_tool == query.source_tool.value)
    for name in OPTIONAL_FILTER_COLUMNS:
        value = getattr(query, name)
        if value is not None:
            conds.append(a.c[name] == value)
    if query.mime_prefix and not findable([query.mime_prefix]):
        conds.append(false())  # stored MIME types are well-formed: never a NUL
    elif query.mime_prefix:
        # A literal prefix as a range, ``prefix <= mime_type < prefix_next``: no LIKE
        # metacharacters to escape, and both databases answer it from the
        # (tenant_id, mime_type, created_at, id) index (the column compares bytewise:
        # BINARY on SQLite, COLLATE "C" on PostgreSQL). See docs/schema.md.
        low, high = _prefix_range(query.mime_prefix)
        conds.append(a.c.mime_type >= low)
        if high is not None:
            conds.append(a.c.mime_type < high)
    if query.created_after is not None:
        conds.append(a.c.created_at > query.created_after)
    if query.created_before is not None:
        conds.append(a.c.created_at < query.created_before)
    return conds


def list_statement(
    tables: Tables, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
) -> Select[Any]:
    """The statement ``list_assets`` runs (tests/test_query_plans.py explains its plans)."""
    a = tables.assets
    conds = _filters(tables, tenant_id, query)
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


def _insert_ignoring_duplicates(table: Any, dialect: Any) -> Any:
    if dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["id"])
    if dialect.name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["id"])
    return insert(table)


def _add_usage(table: Any, dialect: Any) -> Any:
    """Add ``assets`` and ``bytes`` (negative on delete) to a usage row, creating it."""
    module = postgresql if dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
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
        self.usage_upsert = _add_usage(u, dialect)
        self.add_usage = Prepared(self.usage_upsert, dialect)
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
        self.insert_asset = Prepared(insert(a), dialect)
        self.insert_event = Prepared(insert(e), dialect)
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
        self.insert_events = insert(e)

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
