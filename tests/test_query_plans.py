"""``list`` is served by an index on both databases, for every filter and for deep pages.

The statement explained is the one ``list_assets`` really sends, captured from the engine
(``before_cursor_execute``) with its bound parameters, and explained on the same database:

* SQLite: ``EXPLAIN QUERY PLAN``, on a fresh database (SQLite never gathers statistics by
  itself, so this is what an embedded host runs) and again after ``ANALYZE``.
* PostgreSQL: ``EXPLAIN (FORMAT JSON)`` on 20,000 assets over 10 tenants after ``ANALYZE``,
  i.e. the plan the cost-based planner really *chooses* with real statistics. We do not use
  ``SET enable_seqscan = off``: it only shows that an index is *usable*, and would hide a
  plan the planner prefers in production (a sequential scan, or a sort). Each filter value
  below matches more rows than a page, which is the case where a bad plan hurts; for a
  result smaller than a page PostgreSQL may rightly fetch the few rows through the same
  index as a bitmap and sort them.

Every case must read one index whose leading columns match the filter, never scan the
table, and return the page in index order (no ``USE TEMP B-TREE FOR ORDER BY`` / ``Sort``).
The one exception is ``mime_prefix``: a prefix spans several MIME types, so the rows it
matches come out of the (tenant_id, mime_type, created_at, id) index ordered by type first
and must be sorted; the index still confines the work to the tenant's matching rows (see
docs/schema.md).
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import Engine, create_engine, event, insert, text

from asset_catalog import AssetType, SourceTool
from asset_catalog.protocols import AssetQuery, Position
from asset_catalog.sql import PostgresRepository, SqliteRepository, SqlRepository
from asset_catalog.sql._schema import OPTIONAL_FILTER_COLUMNS
from asset_catalog.sql._statements import list_statement as sql_list_statement

from .backends import drop_schema, new_test_schema_name

TENANT = "tenant-plans"
OTHER_TENANTS = [f"tenant-{n}" for n in range(9)]
ROWS_PER_TENANT = 2000
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
PAGE = 51  # what list(limit=50) asks the repository for
TOOLS = [
    SourceTool.IMAGE_GENERATION,
    SourceTool.CODE_INTERPRETER,
    SourceTool.USER_UPLOAD,
    SourceTool.UNKNOWN,
]

KEYSET = "ix_agent_assets_tenant_created"
MIME = "ix_agent_assets_tenant_mime_type"


def _asset_rows(
    tenant: str, offset: int, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``ROWS_PER_TENANT`` assets of one tenant, one a minute, every tenth soft-deleted."""
    objects: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    for i in range(ROWS_PER_TENANT):
        object_id, asset_id = (str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in "ab")
        image = i % 2 == 0
        if image:
            mime = "image/png" if i % 4 == 0 else "image/webp"
        else:
            mime = "application/pdf" if i % 20 == 1 else "text/csv"
        at = BASE + dt.timedelta(minutes=i, seconds=offset)
        objects.append(
            {
                "id": object_id,
                "tenant_id": tenant,
                "key": f"t/{object_id}",
                "filename": "f",
                "mime_type": mime,
                "size_bytes": 1,
                "sha256": "0" * 64,
                "status": "stored",
                "created_at": at,
                "deleted_at": None,
                "metadata": {},
            }
        )
        assets.append(
            {
                "id": asset_id,
                "tenant_id": tenant,
                "storage_object_id": object_id,
                "asset_type": "image" if image else "file",
                "source_tool": TOOLS[i % 4].value,
                "conversation_id": f"conv-{i % 5}",
                "message_id": f"msg-{i % 5}" if i % 3 == 0 else None,
                "tool_call_id": f"call-{i}" if i % 2 == 0 else None,
                "response_id": f"resp-{i // 3}",
                "container_id": None if image else f"cntr-{i % 7}",
                "openai_file_id": None,
                "agent_key": f"agent-{i % 5}" if i % 2 else None,
                "user_id": f"user-{i % 6}" if i % 4 != 3 else None,
                "filename": "f",
                "mime_type": mime,
                "size_bytes": 1,
                "sha256": "0" * 64,
                "width": None,
                "height": None,
                "metadata": {},
                "idempotency_key": None,
                "created_at": at,
                "updated_at": at,
                "deleted_at": at if i % 10 == 0 else None,
            }
        )
    return objects, assets


def load(repo: SqlRepository) -> list[dict[str, Any]]:
    """Fill the tables; return the target tenant's asset rows, oldest first."""
    rng = random.Random(20250101)
    tables = repo.tables
    target: list[dict[str, Any]] = []
    with repo.engine.begin() as conn:
        for n, tenant in enumerate([TENANT, *OTHER_TENANTS]):
            objects, assets = _asset_rows(tenant, n, rng)
            conn.execute(insert(tables.objects), objects)
            conn.execute(insert(tables.assets), assets)
            if tenant == TENANT:
                target = assets
    return target


class Loaded(NamedTuple):
    repo: SqlRepository
    rows: list[dict[str, Any]]


# -- capturing and explaining the real statement ---------------------------------------------


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The (SQL, parameters) of every SELECT on agent_assets run on ``engine`` meanwhile."""
    seen: list[tuple[str, Any]] = []

    def listener(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "agent_assets" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def list_statement_for(
    repo: SqlRepository, tenant: str, query: AssetQuery, after: Position | None = None
) -> tuple[str, Any]:
    """The one statement ``list_assets`` executes, with its driver-level parameters."""
    with captured(repo.engine) as seen:
        repo.list_assets(tenant, query, after, PAGE)
    assert len(seen) == 1, seen
    return seen[0]


def list_statement(
    repo: SqlRepository, query: AssetQuery, after: Position | None
) -> tuple[str, Any]:
    return list_statement_for(repo, TENANT, query, after)


def sqlite_plan(repo: SqlRepository, statement: str, parameters: Any) -> list[str]:
    with repo.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return [str(row[3]) for row in rows]


def postgres_plan(repo: SqlRepository, statement: str, parameters: Any) -> dict[str, Any]:
    with repo.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar()
    assert isinstance(plan, list)
    root: dict[str, Any] = plan[0]["Plan"]
    return root


def nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def render(plan: Mapping[str, Any], depth: int = 0) -> str:
    """A one-line-per-node text form of a JSON plan, for failure messages and the docs."""
    keys = ("Index Name", "Scan Direction", "Index Cond", "Filter", "Sort Key")
    extra = " ".join(f"[{k}: {plan[k]}]" for k in keys if k in plan)
    lines = [f"{'  ' * depth}{plan['Node Type']} {extra}".rstrip()]
    lines += [render(child, depth + 1) for child in plan.get("Plans", ())]
    return "\n".join(lines)


# -- the cases --------------------------------------------------------------------------------


class Case(NamedTuple):
    name: str
    query: AssetQuery
    #: the column the index condition must constrain besides tenant_id (None: tenant only)
    column: str | None
    index: str
    #: a position deep in the tenant (row number from the oldest), for a cursor page
    deep: int | None = None
    #: whether the rows must be sorted after the index read (mime_prefix only)
    sorts: bool = False
    #: whether a handful of matches may be sorted instead (an id almost unique per row, such
    #: as a tool call's: with statistics, SQLite sorts the one row it expects)
    may_sort: bool = False


CASES = [
    Case("none", AssetQuery(), None, KEYSET),
    Case(
        "asset_type",
        AssetQuery(asset_type=AssetType.IMAGE),
        "asset_type",
        "ix_agent_assets_tenant_asset_type",
    ),
    Case(
        "source_tool",
        AssetQuery(source_tool=SourceTool.CODE_INTERPRETER),
        "source_tool",
        "ix_agent_assets_tenant_source_tool",
    ),
    Case(
        "conversation_id",
        AssetQuery(conversation_id="conv-4"),
        "conversation_id",
        "ix_agent_assets_tenant_conversation_id",
    ),
    Case(
        "message_id",
        AssetQuery(message_id="msg-3"),
        "message_id",
        "ix_agent_assets_tenant_message_id",
    ),
    Case(
        "agent_key",
        AssetQuery(agent_key="agent-1"),
        "agent_key",
        "ix_agent_assets_tenant_agent_key",
    ),
    Case("user_id", AssetQuery(user_id="user-2"), "user_id", "ix_agent_assets_tenant_user_id"),
    Case(
        "response_id",
        AssetQuery(response_id="resp-40"),
        "response_id",
        "ix_agent_assets_tenant_response_id",
    ),
    Case(
        "tool_call_id",
        AssetQuery(tool_call_id="call-120"),
        "tool_call_id",
        "ix_agent_assets_tenant_tool_call_id",
        may_sort=True,
    ),
    Case(
        "container_id",
        AssetQuery(container_id="cntr-3"),
        "container_id",
        "ix_agent_assets_tenant_container_id",
    ),
    # A selective prefix (5% of the tenant): the MIME index, then a sort of its matches.
    Case("mime_prefix", AssetQuery(mime_prefix="application/"), "mime_type", MIME, sorts=True),
    Case(
        "created_after",
        AssetQuery(created_after=BASE + dt.timedelta(minutes=1500)),
        "created_at",
        KEYSET,
    ),
    Case(
        "created_before",
        AssetQuery(created_before=BASE + dt.timedelta(minutes=500)),
        "created_at",
        KEYSET,
    ),
    Case("cursor", AssetQuery(), "created_at", KEYSET, deep=1000),
    Case(
        "cursor+conversation_id",
        AssetQuery(conversation_id="conv-4"),
        "conversation_id",
        "ix_agent_assets_tenant_conversation_id",
        deep=1004,
    ),
    Case(
        "created_after+created_before",
        AssetQuery(
            created_after=BASE + dt.timedelta(minutes=700),
            created_before=BASE + dt.timedelta(minutes=900),
        ),
        "created_at",
        KEYSET,
    ),
]


def position(loaded: Loaded, case: Case) -> Position | None:
    if case.deep is None:
        return None
    row = loaded.rows[case.deep]
    return Position(created_at=row["created_at"], id=row["id"])


def expected_page(loaded: Loaded, case: Case) -> list[str]:
    """The page computed in Python from the loaded rows: the plan returns the right rows."""
    q, after = case.query, position(loaded, case)
    rows = [r for r in loaded.rows if r["deleted_at"] is None]
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for name in OPTIONAL_FILTER_COLUMNS:
        if getattr(q, name) is not None:
            checks.append(lambda r, name=name: r[name] == getattr(q, name))
    if q.asset_type is not None:
        checks.append(lambda r: r["asset_type"] == q.asset_type)
    if q.source_tool is not None:
        checks.append(lambda r: r["source_tool"] == q.source_tool)
    if q.mime_prefix is not None:
        checks.append(lambda r: r["mime_type"].startswith(q.mime_prefix))
    if q.created_after is not None:
        checks.append(lambda r: r["created_at"] > q.created_after)
    if q.created_before is not None:
        checks.append(lambda r: r["created_at"] < q.created_before)
    if after is not None:
        checks.append(lambda r: (r["created_at"], r["id"]) < (after.created_at, after.id))
    rows = [r for r in rows if all(check(r) for check in checks)]
    rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return [r["id"] for r in rows[:PAGE]]


# -- SQLite ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def _sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    path = tmp_path_factory.mktemp("plans") / "fresh.db"
    repo = SqliteRepository(f"sqlite:///{path}")
    repo.create_schema()
    rows = load(repo)
    repo.close()
    return path, rows


@pytest.fixture(scope="module", params=["fresh", "analyzed"])
def sqlite_loaded(
    request: pytest.FixtureRequest, _sqlite_file: tuple[Path, list[dict[str, Any]]]
) -> Iterator[Loaded]:
    """The loaded database as a host finds it (no statistics), and after ``ANALYZE``."""
    path, rows = _sqlite_file
    if request.param == "analyzed":
        copy = path.with_name("analyzed.db")
        with sqlite3.connect(path) as src, sqlite3.connect(copy) as dst:
            src.backup(dst)
        with sqlite3.connect(copy) as conn:
            conn.execute("ANALYZE")
        path = copy
    repo = SqliteRepository(f"sqlite:///{path}")
    yield Loaded(repo, rows)
    repo.close()


class TestSqlitePlans:
    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_list_uses_the_filters_index(self, sqlite_loaded: Loaded, case: Case) -> None:
        """One index SEARCH on the filter's index; no SCAN; no sort unless mime_prefix."""
        repo = sqlite_loaded.repo
        statement, parameters = list_statement(repo, case.query, position(sqlite_loaded, case))
        plan = sqlite_plan(repo, statement, parameters)
        shown = "\n".join(plan)
        reads = [line for line in plan if "agent_assets" in line]
        assert len(reads) == 1, shown
        read = reads[0]
        assert read.startswith("SEARCH agent_assets USING "), f"not an index search:\n{shown}"
        assert f" INDEX {case.index} (" in read, f"expected {case.index}:\n{shown}"
        constraint = read.split(" (", 1)[1]
        assert constraint.startswith("tenant_id=?"), shown
        if case.column is not None:
            assert case.column in constraint, f"{case.column} is not in the index search:\n{shown}"
        sorts = [line for line in plan if line.startswith("USE TEMP B-TREE")]
        if case.sorts:
            assert sorts == ["USE TEMP B-TREE FOR ORDER BY"], shown
        elif case.may_sort:
            assert sorts in ([], ["USE TEMP B-TREE FOR ORDER BY"]), shown
        else:
            assert sorts == [], f"the index does not give the order:\n{shown}"

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_the_plan_returns_the_right_page(self, sqlite_loaded: Loaded, case: Case) -> None:
        """The page is the newest PAGE live matches before the cursor, as computed in Python."""
        after = position(sqlite_loaded, case)
        got = sqlite_loaded.repo.list_assets(TENANT, case.query, after, PAGE)
        assert [a.id for a in got] == expected_page(sqlite_loaded, case)


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_loaded(postgres_engine: Engine) -> Iterator[Loaded]:
    """20,000 assets in a schema of this module's own, with fresh statistics."""
    schema = new_test_schema_name()
    repo = PostgresRepository(postgres_engine, schema=schema)
    repo.create_schema()
    try:
        rows = load(repo)
        with postgres_engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in (repo.tables.objects, repo.tables.assets):
                conn.exec_driver_sql(f'ANALYZE "{schema}"."{table.name}"')
        yield Loaded(repo, rows)
    finally:
        drop_schema(postgres_engine, schema)


def index_reads(plan: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The plan nodes that read an index (Index Scan, Index Only Scan, Bitmap Index Scan)."""
    return [n for n in nodes(plan) if "Index Name" in n]


class TestPostgresPlans:
    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_list_uses_the_filters_index(self, postgres_loaded: Loaded, case: Case) -> None:
        """One Index Scan on the filter's index, conditioned on tenant_id and the filter
        column, read backwards in keyset order; no Seq Scan and no Sort. For mime_prefix the
        matches must be sorted anyway, so the planner may fetch them as a bitmap."""
        repo = postgres_loaded.repo
        statement, parameters = list_statement(repo, case.query, position(postgres_loaded, case))
        plan = postgres_plan(repo, statement, parameters)
        shown = render(plan)
        kinds = [n["Node Type"] for n in nodes(plan)]
        assert "Seq Scan" not in kinds, shown
        reads = index_reads(plan)
        assert len(reads) == 1, shown
        read = reads[0]
        assert read["Index Name"] == case.index, shown
        condition = read["Index Cond"]
        assert "tenant_id" in condition, shown
        if case.column is not None:
            assert case.column in condition, shown
        sorted_ = [k for k in kinds if k in {"Sort", "Incremental Sort"}]
        if case.may_sort and sorted_:
            assert sorted_ == ["Sort"], shown
        elif case.sorts:
            assert read["Node Type"] in {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}
            assert sorted_ == ["Sort"], shown
        else:
            assert read["Node Type"] in {"Index Scan", "Index Only Scan"}, shown
            assert read["Scan Direction"] == "Backward", shown
            assert sorted_ == [], f"the index does not give the order:\n{shown}"

    @pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
    def test_the_plan_returns_the_right_page(self, postgres_loaded: Loaded, case: Case) -> None:
        """The page is the newest PAGE live matches before the cursor, as computed in Python."""
        after = position(postgres_loaded, case)
        got = postgres_loaded.repo.list_assets(TENANT, case.query, after, PAGE)
        assert [a.id for a in got] == expected_page(postgres_loaded, case)

    def test_a_broad_mime_prefix_reads_only_the_tenants_index_entries(
        self, postgres_loaded: Loaded
    ) -> None:
        """``image/`` matches half the tenant: the planner may walk the keyset index newest
        first and stop after a page (cheaper than sorting 900 matches) or use the MIME
        index; either way an index of the tenant, never a table scan."""
        repo = postgres_loaded.repo
        statement, parameters = list_statement(repo, AssetQuery(mime_prefix="image/"), None)
        plan = postgres_plan(repo, statement, parameters)
        shown = render(plan)
        assert "Seq Scan" not in [n["Node Type"] for n in nodes(plan)], shown
        reads = index_reads(plan)
        assert len(reads) == 1, shown
        assert reads[0]["Index Name"] in {KEYSET, MIME}, shown
        assert "tenant_id" in reads[0]["Index Cond"], shown
        if reads[0]["Index Name"] == KEYSET:
            assert "Sort" not in [n["Node Type"] for n in nodes(plan)], shown

    def test_mime_type_compares_bytewise(self, postgres_loaded: Loaded) -> None:
        """agent_assets.mime_type is COLLATE "C", so the prefix range is exactly a prefix
        whatever the database's default collation."""
        repo = postgres_loaded.repo
        with repo.engine.connect() as conn:
            collation = conn.execute(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_schema = :s AND table_name = 'agent_assets' "
                    "AND column_name = 'mime_type'"
                ),
                {"s": repo.tables.assets.schema},
            ).scalar_one()
        assert collation == "C"

    def test_prefix_is_exact_in_a_database_with_a_linguistic_collation(
        self, postgres_engine: Engine
    ) -> None:
        """In a database whose default collation is ICU ``en-US``, a bare range would let
        ``IMAGE/PNG`` into ``image/``; the catalog's column compares bytewise, so it does not,
        and the range is still served by the MIME index."""
        name = new_test_schema_name()
        admin = postgres_engine.execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            try:
                conn.exec_driver_sql(
                    f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                    "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                )
            except Exception as exc:  # no privilege, or a server built without ICU
                pytest.skip(f"cannot create an ICU database: {exc}")
        engine = create_engine(postgres_engine.url.set(database=name))
        try:
            repo = PostgresRepository(engine)
            repo.create_schema()
            insert_types(repo, PREFIX_TYPES)
            with engine.connect() as conn:
                loose = conn.execute(
                    text(
                        "SELECT count(*) FROM agent_assets "
                        "WHERE mime_type::text COLLATE \"default\" >= 'image/' "
                        "AND mime_type::text COLLATE \"default\" < 'image0'"
                    )
                ).scalar_one()
            assert loose == 3  # the database's own collation sorts IMAGE/PNG into the range
            got = repo.list_assets("tenant-prefix", AssetQuery(mime_prefix="image/"), None, 50)
            assert sorted(a.mime_type for a in got) == ["image/png", "image/~x"]
            statement, parameters = list_statement_for(
                repo, "tenant-prefix", AssetQuery(mime_prefix="image/")
            )
            with engine.connect() as conn:
                # Usable, not chosen (the table is tiny): with the other indexes gone and
                # sequential scans off, the range is an index condition of the MIME index
                # (the parameters take the column's "C" collation, which the index has).
                for index in repo.tables.assets.indexes:
                    if index.name != MIME:
                        conn.exec_driver_sql(f'DROP INDEX "{index.name}"')
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                plan = conn.exec_driver_sql(
                    f"EXPLAIN (FORMAT JSON) {statement}", parameters
                ).scalar()
                conn.rollback()
            reads = index_reads(plan[0]["Plan"])
            assert [r["Index Name"] for r in reads] == [MIME], plan
            assert "mime_type" in reads[0]["Index Cond"], plan
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')


# -- both -------------------------------------------------------------------------------------

#: MIME types on both sides of the ``image/`` range, and one a case-insensitive or linguistic
#: comparison would let in (the catalog itself stores lower-case types only).
PREFIX_TYPES = ["image/png", "image/~x", "image0", "image-x", "imagf", "IMAGE/PNG", "h", "j"]


def insert_types(repo: SqlRepository, types: list[str]) -> None:
    """One live asset of tenant-prefix per MIME type, written straight to the tables."""
    objects, assets = _asset_rows("tenant-prefix", 0, random.Random(1))
    objects, assets = objects[1 : len(types) + 1], assets[1 : len(types) + 1]
    for obj, asset, mime in zip(objects, assets, types, strict=True):
        obj["mime_type"] = asset["mime_type"] = mime
    with repo.engine.begin() as conn:
        conn.execute(insert(repo.tables.objects), objects)
        conn.execute(insert(repo.tables.assets), assets)


def test_list_statement_is_what_list_assets_runs(sqlite_repository: SqlRepository) -> None:
    """``list_statement`` (the statement docs/schema.md shows) is the one executed."""
    query = AssetQuery(mime_prefix="image/", conversation_id="c")
    after = Position(created_at=BASE, id="0")
    statement, _ = list_statement(sqlite_repository, query, after)
    compiled = sql_list_statement(sqlite_repository.tables, TENANT, query, after, PAGE).compile(
        dialect=sqlite_repository.engine.dialect
    )
    assert statement == str(compiled)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("image/", {"image/png", "image/~x"}),
        ("image/png", {"image/png"}),
        ("image", {"image/png", "image/~x", "image0", "image-x"}),
        ("image/~", {"image/~x"}),
        ("i", {"image/png", "image/~x", "image0", "image-x", "imagf"}),
    ],
)
def test_prefix_range_is_an_exact_prefix(
    any_repository: SqlRepository, prefix: str, expected: set[str]
) -> None:
    """The range ``prefix <= mime_type < prefix_next`` matches exactly the types that start
    with the prefix, byte for byte: neighbours on either side of the range and an
    upper-case type (which a case-insensitive or linguistic collation would let in) stay out.
    """
    repo = any_repository
    insert_types(repo, PREFIX_TYPES)
    got = repo.list_assets("tenant-prefix", AssetQuery(mime_prefix=prefix), None, 50)
    assert {a.mime_type for a in got} == expected
