"""Concurrent ingest on PostgreSQL and SQLite, and list latency at scale on PostgreSQL.

Run from the project root, with a PostgreSQL server reachable at ``--url``::

    .venv/bin/python benchmarks/concurrency_postgres.py [--quick] [--write docs/benchmarks-scale.md]

One run measures:

1. ``ingest_image`` throughput and per-item latency of 64 KiB PNGs with 1, 2, 4 and 8
   threads sharing one catalog, on PostgreSQL and on SQLite, both with local files in a fresh
   directory under ``benchmarks/.work/``;
2. ``list`` latency of page 1 against page 1000 (50 per page) in a PostgreSQL schema of
   1,000,000 assets over 100 tenants, one of them large, bulk-loaded with ``COPY``;
3. the load time and the on-disk size of that data set, and the plans of the queries.

Everything on PostgreSQL happens in a schema of its own (``ac_bench_<time>_<random>``),
dropped at the end unless ``--keep``, so concurrent test runs on the same database never see
these rows. Figures are printed; ``--write PATH`` also writes a Markdown report. The exit
code is 0: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import psycopg
import sqlalchemy
from ingest_list import command_line, filesystem_of, percentile, png_of_size
from psycopg import pq
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from asset_catalog import AssetCatalog, UrlSigner
from asset_catalog.sql import PostgresRepository, SqliteRepository
from asset_catalog.storage import FsspecStorage

ROOT = Path(__file__).resolve().parent.parent
WORK_PARENT = ROOT / "benchmarks" / ".work"
DEFAULT_URL = os.environ.get(
    "ASSET_CATALOG_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SCHEMA_PREFIX = "ac_bench_"
SECRET = "benchmark-secret-0123456789abcdef"
IMAGE_POOL = 16
THREADS = (1, 2, 4, 8)
ROUNDS = 2
PAGE_SIZE = 50
DEEP_PAGE = 1000
TENANTS = 100
BIG_TENANT = "tenant-big"
TYPICAL_TENANT = "tenant-007"
MAIN_CONVERSATION = "conv-main"
SPAN_DAYS = 180
BACKENDS = {"postgres": "PostgreSQL", "sqlite": "SQLite"}


# -- 1: concurrent ingest ------------------------------------------------------------------------


def postgres_catalog(url: str, schema: str, work: Path, pool: int) -> AssetCatalog:
    repository = PostgresRepository(url, schema=schema, pool_size=pool, max_overflow=pool)
    repository.create_schema()
    return AssetCatalog(
        repository=repository,
        storage=FsspecStorage.from_url(f"file://{work / 'pg-blobs'}"),
        signer=UrlSigner(SECRET),
    )


def sqlite_catalog(work: Path, pool: int) -> AssetCatalog:
    engine = create_engine(f"sqlite:///{work / 'ingest.db'}", pool_size=pool, max_overflow=pool)
    repository = SqliteRepository(engine)
    repository.create_schema()
    return AssetCatalog(
        repository=repository,
        storage=FsspecStorage.from_url(f"file://{work / 'sqlite-blobs'}"),
        signer=UrlSigner(SECRET),
    )


def run_threads(
    catalog: AssetCatalog, images: list[bytes], threads: int, count: int, tenant: str, tag: str
) -> tuple[list[int], int, int]:
    """``count`` ingests with distinct tool_call_ids spread over ``threads`` threads that start
    together; per-item latencies, the wall time from the start to the last item, and the
    CPU time of this process (every thread) meanwhile."""
    latencies: list[list[int]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)
    clock = time.perf_counter_ns

    def worker(k: int) -> None:
        mine = latencies[k]
        barrier.wait()
        try:
            for i in range(k, count, threads):
                t0 = clock()
                catalog.ingest_image(
                    tenant,
                    images[i % len(images)],
                    tool_call_id=f"{tag}-call-{i}",
                    conversation_id=f"conv-{i % 8}",
                )
                mine.append(clock() - t0)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start, cpu_start = clock(), time.process_time_ns()
    for thread in pool:
        thread.join()
    wall, cpu = clock() - start, time.process_time_ns() - cpu_start
    if errors:
        raise errors[0]
    return [ns for part in latencies for ns in part], wall, cpu


def live_assets(catalog: AssetCatalog, tenant: str) -> int:
    repository: Any = catalog.repository
    assets = repository.tables.assets
    stmt = select(func.count()).where(assets.c.tenant_id == tenant, assets.c.deleted_at.is_(None))
    with repository.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def bench_ingest(
    catalogs: dict[str, AssetCatalog], items: int, warmup: int
) -> dict[str, dict[int, dict[str, Any]]]:
    images = [png_of_size() for _ in range(IMAGE_POOL)]
    per_round = [items // ROUNDS + (1 if r < items % ROUNDS else 0) for r in range(ROUNDS)]
    latencies: dict[tuple[str, int], list[int]] = {(b, n): [] for b in catalogs for n in THREADS}
    walls = dict.fromkeys(latencies, 0)
    cpus = dict.fromkeys(latencies, 0)
    rates: dict[tuple[str, int], list[float]] = {key: [] for key in latencies}
    names = list(catalogs)
    for r in range(ROUNDS):
        for t, threads in enumerate(THREADS):
            order = names if (r + t) % 2 == 0 else names[::-1]  # alternate who goes first
            for backend in order:
                catalog, tenant = catalogs[backend], f"tenant-t{threads}"
                if r == 0:
                    run_threads(catalog, images, threads, warmup, tenant, f"warm-{threads}")
                print(f"  {backend:8} {threads} thread(s), round {r + 1} ...", flush=True)
                lat, wall, cpu = run_threads(
                    catalog, images, threads, per_round[r], tenant, f"r{r}-{threads}"
                )
                latencies[backend, threads] += lat
                walls[backend, threads] += wall
                cpus[backend, threads] += cpu
                rates[backend, threads].append(per_round[r] / (wall / 1e9))
    results: dict[str, dict[int, dict[str, Any]]] = {b: {} for b in catalogs}
    for (backend, threads), lat in latencies.items():
        # Sanity: nothing lost, nothing doubled (warm-up included).
        found = live_assets(catalogs[backend], f"tenant-t{threads}")
        assert found == warmup + items, (backend, threads, found)
        ordered = sorted(lat)
        results[backend][threads] = {
            "items": len(ordered),
            "items_per_s": len(ordered) / (walls[backend, threads] / 1e9),
            "round_rates": rates[backend, threads],
            "p50_ms": percentile(ordered, 0.50) / 1e6,
            "p99_ms": percentile(ordered, 0.99) / 1e6,
            "max_ms": ordered[-1] / 1e6,
            "cpu_ms": cpus[backend, threads] / len(ordered) / 1e6,
        }
    return results


# -- round trips: what one call sends to PostgreSQL -------------------------------------------


def _frontend_messages(pgconn: Any, call: Callable[[], Any], repeats: int) -> list[str]:
    """The protocol messages the client sends during ``repeats`` calls (libpq's trace)."""
    with tempfile.TemporaryFile("w+") as log:
        pgconn.trace(log.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            for _ in range(repeats):
                call()
        finally:
            pgconn.untrace()  # flushes the trace stream
        log.seek(0)
        return [line.rstrip("\n") for line in log if line.startswith("F\t")]


def postgres_round_trips(
    url: str, schema: str, work: Path, image: bytes, repeats: int = 5
) -> dict[str, dict[str, float]]:
    """Per call of each operation: round trips (a simple ``Query`` or a ``Sync`` each waits
    for the server), split by what they are for, and statements parsed afresh (unnamed
    ``Parse``: not a server-side prepared statement). One pooled connection, traced."""
    repository = PostgresRepository(url, schema=schema, pool_size=1, max_overflow=0)
    catalog = AssetCatalog(
        repository=repository,
        storage=FsspecStorage.from_url(f"file://{work / 'rt-blobs'}"),
        signer=UrlSigner(SECRET),
    )
    counter = iter(range(1_000_000))

    def ingest() -> None:
        catalog.ingest_image("tenant-rt", image, tool_call_id=f"rt-{next(counter)}")

    results: dict[str, dict[str, float]] = {}
    try:
        for _ in range(10):  # warm: pool, caches, psycopg's prepare threshold (5 executions)
            ingest()
        some_id = catalog.list("tenant-rt", limit=1).items[0].id
        operations: dict[str, Callable[[], Any]] = {
            "ingest_image": ingest,
            "list (one page)": lambda: catalog.list("tenant-rt", limit=PAGE_SIZE),
            "get": lambda: catalog.get("tenant-rt", some_id),
        }
        raw = repository.engine.raw_connection()
        pgconn = raw.driver_connection.pgconn  # type: ignore[union-attr]
        raw.close()
        for name, call in operations.items():
            for _ in range(10):
                call()
            messages = [m.split("\t", 3) for m in _frontend_messages(pgconn, call, repeats)]
            kinds = [m[2] for m in messages]
            queries = [m[3].strip().strip('"') for m in messages if m[2] == "Query"]
            ping = queries.count(";")
            control = sum(queries.count(c) for c in ("BEGIN", "COMMIT", "ROLLBACK"))
            trips = kinds.count("Query") + kinds.count("Sync")
            fresh = sum(1 for m in messages if m[2] == "Parse" and m[3].startswith(' ""'))
            results[name] = {
                "round_trips": trips / repeats,
                "pre_ping": ping / repeats,
                "begin_commit_rollback": control / repeats,
                "statements": (trips - ping - control) / repeats,
                "parsed_unprepared": fresh / repeats,
            }
    finally:
        catalog.close()
    return results


# -- 2 + 3: a large data set on PostgreSQL, loaded with COPY ------------------------------------


def tenant_names(rows: int, big_rows: int, rng: random.Random) -> Iterator[str]:
    """The tenant of each row, oldest row first: ``big_rows`` rows of BIG_TENANT spread at
    random over time, every other row to one of the other TENANTS - 1 tenants at random."""
    big = set(rng.sample(range(rows), big_rows))
    others = [f"tenant-{k:03d}" for k in range(1, TENANTS)]
    for i in range(rows):
        yield BIG_TENANT if i in big else others[rng.randrange(len(others))]


def uuid7(micros: int, rng: random.Random) -> str:
    """A UUIDv7 string for the time ``micros`` (as ``uuid7_at`` of ingest_list, but seeded
    and without a ``uuid.UUID`` object: a million rows need three each)."""
    rand = rng.getrandbits(74)
    value = (micros // 1000) << 80 | 0x7 << 76 | (rand >> 62) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# The columns each COPY stream fills; the others (deleted_at, actor, ...) stay NULL.
OBJECT_COLUMNS = [
    "id",
    "tenant_id",
    "key",
    "filename",
    "mime_type",
    "size_bytes",
    "sha256",
    "status",
    "created_at",
    "metadata",
]
ASSET_COLUMNS = [
    "id",
    "tenant_id",
    "storage_object_id",
    "asset_type",
    "source_tool",
    "conversation_id",
    "message_id",
    "tool_call_id",
    "response_id",
    "container_id",
    "openai_file_id",
    "agent_key",
    "user_id",
    "filename",
    "mime_type",
    "size_bytes",
    "sha256",
    "width",
    "height",
    "metadata",
    "idempotency_key",
    "created_at",
    "updated_at",
]
EVENT_COLUMNS = ["id", "tenant_id", "asset_id", "event", "actor", "at", "details"]
NULL = "\\N"  # NULL in COPY's text format


def dataset_lines(rows: int, big_rows: int, seed: int = 20240601) -> Iterator[tuple[str, str, str]]:
    """COPY text lines (storage object, asset, its ``created`` event) per row, oldest first:
    SPAN_DAYS of history ending now, distinct ``created_at`` (even steps plus jitter), UUIDv7
    ids of that time, 60% of the assets in one conversation, 80% images and 20% Code
    Interpreter files. No value contains a tab, newline or backslash, so none is escaped."""
    rng = random.Random(seed)
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0)
    step = SPAN_DAYS * 86_400 * 1_000_000 // rows  # microseconds between rows
    start = newest - dt.timedelta(microseconds=step * rows)
    start_micros = int(start.timestamp()) * 1_000_000
    conversations = [MAIN_CONVERSATION] * 6 + [f"conv-{k}" for k in range(4)]
    image_meta = json.dumps({"format": "png", "quality": "high"})
    kinds = [("image", "image_generation", "image/png", "png")] * 8 + [
        ("file", "code_interpreter", "text/csv", "csv"),
        ("file", "code_interpreter", "application/pdf", "pdf"),
    ]
    for i, tenant in enumerate(tenant_names(rows, big_rows, rng)):
        offset = step * i + rng.randrange(step)
        created = (start + dt.timedelta(microseconds=offset)).isoformat()
        micros = start_micros + offset
        asset_type, tool, mime, ext = kinds[rng.randrange(len(kinds))]
        object_id, asset_id, event_id = uuid7(micros, rng), uuid7(micros, rng), uuid7(micros, rng)
        digest = f"{rng.getrandbits(256):064x}"
        name = f"{asset_type}-{i}.{ext}"
        size = rng.randrange(10_000, 2_000_000)
        agent = "agent-a" if i % 3 else "agent-b"
        image = asset_type == "image"
        obj = (
            object_id,
            tenant,
            f"{tenant}/{created[:10].replace('-', '/')}/{object_id}.{ext}",
            name,
            mime,
            str(size),
            digest,
            "stored",
            created,
            "{}",
        )
        asset = (
            asset_id,
            tenant,
            object_id,
            asset_type,
            tool,
            conversations[rng.randrange(len(conversations))],
            f"msg-{i // 3}",
            f"call-{i}",
            f"resp-{i // 3}",
            NULL if image else "cntr-1",
            NULL if image else f"file-{i}",
            agent,
            f"user-{i % 17}",
            name,
            mime,
            str(size),
            digest,
            "1024" if image else NULL,
            "1024" if image else NULL,
            image_meta if image else "{}",
            f"image_generation:call-{i}" if image else f"code_interpreter:6:cntr-1:file-{i}",
            created,
            created,
        )
        details = f'{{"size_bytes": {size}, "sha256": "{digest}"}}'
        created_event = (event_id, tenant, asset_id, "created", agent, created, details)
        yield "\t".join(obj) + "\n", "\t".join(asset) + "\n", "\t".join(created_event) + "\n"


def _qualified(table: Any) -> str:
    return f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'


def _column_list(names: list[str]) -> str:
    return ", ".join('"' + name + '"' for name in names)


def bulk_load(repository: PostgresRepository, rows: int, big_rows: int) -> dict[str, float]:
    """Load the data set into the repository's (empty) tables as fast as PostgreSQL allows:
    secondary indexes and the foreign key are dropped, three COPY streams (one connection
    per table) are fed together, then the library's own index and constraint definitions
    are recreated and the tables vacuumed and analysed. Seconds per step."""
    engine, tables = repository.engine, repository.tables
    ordered = (tables.objects, tables.assets, tables.events)
    columns = (OBJECT_COLUMNS, ASSET_COLUMNS, EVENT_COLUMNS)
    indexes = [index for table in ordered for index in sorted(table.indexes, key=lambda i: i.name)]
    foreign_keys = list(tables.assets.foreign_key_constraints)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    with engine.begin() as conn:
        for fk in foreign_keys:
            conn.execute(DropConstraint(fk))
        for index in indexes:
            conn.execute(DropIndex(index))

    raws = [engine.raw_connection() for _ in ordered]
    try:
        cursors = [raw.driver_connection.cursor() for raw in raws]  # type: ignore[union-attr]
        statements = [
            f"COPY {_qualified(table)} ({_column_list(cols)}) FROM STDIN"
            for table, cols in zip(ordered, columns, strict=True)
        ]
        with (
            cursors[0].copy(statements[0]) as c_objects,
            cursors[1].copy(statements[1]) as c_assets,
            cursors[2].copy(statements[2]) as c_events,
        ):
            copies = (c_objects, c_assets, c_events)
            buffers: tuple[list[str], list[str], list[str]] = ([], [], [])
            for n, lines in enumerate(dataset_lines(rows, big_rows), 1):
                for buffer, line in zip(buffers, lines, strict=True):
                    buffer.append(line)
                if n % 2000 == 0 or n == rows:
                    for copy, buffer in zip(copies, buffers, strict=True):
                        copy.write("".join(buffer))
                        buffer.clear()
        for raw in raws:
            raw.commit()
    finally:
        for raw in raws:
            raw.close()
    t1 = time.perf_counter()
    timings["copy"] = t1 - t0

    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for index in indexes:
            conn.execute(CreateIndex(index))
        t2 = time.perf_counter()
        for fk in foreign_keys:
            conn.execute(AddConstraint(fk))
    t3 = time.perf_counter()
    timings["indexes"] = t2 - t1
    timings["foreign_key"] = t3 - t2

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ordered:
            conn.execute(text(f"VACUUM (ANALYZE) {_qualified(table)}"))
    timings["vacuum_analyze"] = time.perf_counter() - t3
    timings["total"] = time.perf_counter() - t0
    return timings


def relation_sizes(repository: PostgresRepository) -> list[dict[str, Any]]:
    sizes = []
    with repository.engine.connect() as conn:
        for table in (
            repository.tables.objects,
            repository.tables.assets,
            repository.tables.events,
        ):
            name = _qualified(table)
            row = conn.execute(
                text(
                    "SELECT pg_total_relation_size(CAST(:t AS regclass)),"
                    " pg_relation_size(CAST(:t AS regclass)),"
                    " pg_indexes_size(CAST(:t AS regclass)),"
                    " (SELECT count(*) FROM pg_index WHERE indrelid = CAST(:t AS regclass))"
                ),
                {"t": name},
            ).one()
            count = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
            index_sizes = conn.execute(
                text(
                    "SELECT c.relname, pg_relation_size(c.oid) FROM pg_index i"
                    " JOIN pg_class c ON c.oid = i.indexrelid"
                    " WHERE i.indrelid = CAST(:t AS regclass) ORDER BY 2 DESC, 1"
                ),
                {"t": name},
            ).all()
            sizes.append(
                {
                    "table": table.name,
                    "rows": int(count),
                    "total": int(row[0]),
                    "heap": int(row[1]),
                    "indexes": int(row[2]),
                    "index_count": int(row[3]),
                    "index_sizes": [(str(n), int(b)) for n, b in index_sizes],
                }
            )
    return sizes


class Query:
    """One list query of the timing loop: a tenant, filters, and the cursor of its page."""

    def __init__(
        self, catalog: AssetCatalog, label: str, tenant: str, page: int, **filters: Any
    ) -> None:
        self.catalog, self.label, self.tenant, self.page = catalog, label, tenant, page
        self.filters = filters
        cursor = None
        for _ in range(page - 1):  # follow next_cursor, as a client paging through would
            cursor = catalog.list(tenant, limit=PAGE_SIZE, cursor=cursor, **filters).next_cursor
            assert cursor is not None, f"{label}: fewer than {page} pages"
        self.cursor = cursor
        assert len(self()) == PAGE_SIZE
        self.ns: list[int] = []
        self.cpu_ns: list[int] = []

    def __call__(self) -> tuple[Any, ...]:
        page = self.catalog.list(self.tenant, limit=PAGE_SIZE, cursor=self.cursor, **self.filters)
        return page.items

    def timed(self) -> None:
        c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
        self()
        self.ns.append(time.perf_counter_ns() - t0)
        self.cpu_ns.append(time.thread_time_ns() - c0)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.ns)
        return {
            "label": self.label,
            "page": self.page,
            "median_ms": statistics.median(ordered) / 1e6,
            "p99_ms": percentile(ordered, 0.99) / 1e6,
            "cpu_ms": statistics.median(self.cpu_ns) / 1e6,
        }


def engine_schema(repository: Any) -> str:
    return str(repository.tables.assets.schema)


def explain(catalog: AssetCatalog, query: Query) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of exactly the SQL and parameters one call sends."""
    repository: Any = catalog.repository
    engine: Engine = repository.engine
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        query()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    statement, params = seen[-1]
    shown = statement.replace(f"{engine_schema(repository)}.", "")
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", params)
        plan = [row[0] for row in cursor.fetchall()]
        cursor.close()
        raw.rollback()
    finally:
        raw.close()

    def timing(prefix: str) -> float:
        found = [line for line in plan if line.startswith(prefix)]
        return float(found[0].split(":")[1].split()[0]) if found else float("nan")

    return {
        "sql": shown,
        "params": params,
        "plan": plan,
        "planning_ms": timing("Planning Time"),
        "execution_ms": timing("Execution Time"),
    }


def bench_list(catalog: AssetCatalog, rows: int, big_rows: int, repeats: int) -> dict[str, Any]:
    repository: Any = catalog.repository
    print(f"  loading {rows:,} assets (+ objects, events) with COPY ...", flush=True)
    load = bulk_load(repository, rows, big_rows)
    sizes = relation_sizes(repository)
    tenant_rows = {t: catalog_count(repository, t) for t in (BIG_TENANT, TYPICAL_TENANT)}
    typical_last = tenant_rows[TYPICAL_TENANT] // PAGE_SIZE
    conv_rows = catalog_count(repository, BIG_TENANT, MAIN_CONVERSATION)
    print("  collecting the deep pages' cursors ...", flush=True)
    queries = [
        Query(catalog, "large tenant", BIG_TENANT, 1),
        Query(catalog, "large tenant", BIG_TENANT, DEEP_PAGE),
        Query(catalog, "typical tenant", TYPICAL_TENANT, 1),
        Query(catalog, "typical tenant", TYPICAL_TENANT, typical_last),
        Query(
            catalog,
            "large tenant, conversation_id",
            BIG_TENANT,
            1,
            conversation_id=MAIN_CONVERSATION,
        ),
        Query(
            catalog,
            "large tenant, conversation_id",
            BIG_TENANT,
            min(DEEP_PAGE, conv_rows // PAGE_SIZE),
            conversation_id=MAIN_CONVERSATION,
        ),
        # Page 2 is the first page with a cursor: against page 1000 it isolates depth.
        Query(catalog, "large tenant", BIG_TENANT, 2),
    ]
    print(f"  timing {len(queries)} queries x {repeats}, interleaved ...", flush=True)
    for query in queries:  # warm-up: every page once more, every connection's caches
        for _ in range(10):
            query()
    for r in range(repeats):
        shift = r % len(queries)
        for query in queries[shift:] + queries[:shift]:
            query.timed()
    timings = [q.summary() for q in queries]
    plans = {
        "page1": explain(catalog, queries[0]),
        "deep": explain(catalog, queries[1]),
        "conversation_deep": explain(catalog, queries[5]),
    }
    return {
        "rows": rows,
        "tenants": TENANTS,
        "tenant_rows": tenant_rows,
        "conversation_rows": conv_rows,
        "load": load,
        "sizes": sizes,
        "timings": timings,
        "plans": plans,
        "repeats": repeats,
    }


def catalog_count(repository: Any, tenant: str, conversation: str | None = None) -> int:
    a = repository.tables.assets
    stmt = select(func.count()).where(a.c.tenant_id == tenant, a.c.deleted_at.is_(None))
    if conversation is not None:
        stmt = stmt.where(a.c.conversation_id == conversation)
    with repository.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


# -- environment and report ----------------------------------------------------------------------


def load_averages() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def machine_info(url: str, work: Path) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            server = conn.execute(text("SHOW server_version")).scalar_one()
            settings = dict(
                conn.execute(
                    text(
                        "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
                        "('shared_buffers', 'synchronous_commit', 'fsync', 'work_mem', "
                        "'max_connections', 'random_page_cost', 'jit')"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    memory = "unknown"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "memory": memory,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgres": str(server),
        "pg_settings": ", ".join(f"`{k}={v}`" for k, v in sorted(settings.items())),
        "psycopg": psycopg.__version__,
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "fsspec": fsspec.__version__,
        "filesystem": filesystem_of(work),
    }


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:,.1f} MiB"


def print_summary(results: dict[str, Any]) -> None:
    ing = results["ingest"]
    print()
    print(f"== ingest_image, 64 KiB PNG, {results['items']} items per configuration")
    for backend, label in BACKENDS.items():
        for threads, s in ing[backend].items():
            print(
                f"  {label:10} {threads} thread(s) {s['items_per_s']:8.1f} items/s   "
                f"p50 {s['p50_ms']:7.2f} ms   p99 {s['p99_ms']:7.2f} ms   "
                f"CPU {s['cpu_ms']:5.2f} ms/item"
            )
    print("  PostgreSQL round trips per call:")
    for name, r in results["round_trips"].items():
        print(
            f"    {name:16} {r['round_trips']:4g} (pre-ping {r['pre_ping']:g}, "
            f"BEGIN/COMMIT/ROLLBACK {r['begin_commit_rollback']:g}, statements "
            f"{r['statements']:g}); statements parsed unprepared {r['parsed_unprepared']:g}"
        )
    lst = results["list"]
    load = lst["load"]
    print(
        f"== list, {lst['rows']:,} assets over {lst['tenants']} tenants "
        f"(load {load['total']:.1f} s: COPY {load['copy']:.1f}, indexes {load['indexes']:.1f}, "
        f"FK {load['foreign_key']:.1f}, VACUUM ANALYZE {load['vacuum_analyze']:.1f})"
    )
    for t in lst["timings"]:
        print(
            f"  {t['label']:32} page {t['page']:5}  median {t['median_ms']:7.3f} ms   "
            f"p99 {t['p99_ms']:7.3f} ms   CPU {t['cpu_ms']:6.3f} ms"
        )
    for name, ratio in list_ratios(lst):
        print(f"  ratio {name}: {ratio:.2f}")
    total = sum(s["total"] for s in lst["sizes"])
    parts = ", ".join(f"{s['table']} {mib(s['total'])}" for s in lst["sizes"])
    print(f"  size: {mib(total)} ({parts})")
    print("  deep page plan:")
    for line in lst["plans"]["deep"]["plan"]:
        print(f"    {line}")


def list_ratios(lst: dict[str, Any]) -> list[tuple[str, float]]:
    t = lst["timings"]
    return [
        (f"large tenant page {t[1]['page']} / page 1", t[1]["median_ms"] / t[0]["median_ms"]),
        (f"large tenant page {t[1]['page']} / page 2", t[1]["median_ms"] / t[6]["median_ms"]),
        (f"typical tenant page {t[3]['page']} / page 1", t[3]["median_ms"] / t[2]["median_ms"]),
        (
            f"large tenant, conversation_id, page {t[5]['page']} / page 1",
            t[5]["median_ms"] / t[4]["median_ms"],
        ),
    ]


def observations(results: dict[str, Any]) -> list[str]:
    """A reading of this run's figures (numbers filled in from the run)."""
    ing, lst, rt = results["ingest"], results["list"], results["round_trips"]
    pg, lite = ing["postgres"], ing["sqlite"]
    top = max(THREADS)
    timings, plans = lst["timings"], lst["plans"]
    deep_plan = "\n".join(plans["deep"]["plan"])
    ordered = "Sort" not in deep_plan and "Index Scan Backward" in deep_plan
    server_ms = plans["deep"]["planning_ms"] + plans["deep"]["execution_ms"]
    ingest_rt = rt["ingest_image"]
    list_rt = rt["list (one page)"]
    return [
        "## Reading the figures",
        "",
        f"* **SQLite has one writer.** With {top} threads it ingests "
        f"{lite[top]['items_per_s']:.0f} items/s, "
        f"{lite[top]['items_per_s'] / lite[1]['items_per_s']:.2f}x its single-thread rate, "
        "while the p99 latency goes from "
        f"{lite[1]['p99_ms']:.1f} ms to {lite[top]['p99_ms']:.1f} ms: every ingest's two write "
        "transactions take the database's write lock with `BEGIN IMMEDIATE`, so extra "
        "threads queue for the lock (the busy handler sleeps and retries) instead of adding "
        "throughput; only the blob write and hashing outside the transactions overlap.",
        f"* **PostgreSQL scales with threads, from a slower start.** One thread: "
        f"{pg[1]['items_per_s']:.0f} items/s (p50 {pg[1]['p50_ms']:.1f} ms per item); {top} "
        f"threads: {pg[top]['items_per_s']:.0f} items/s "
        f"({pg[top]['items_per_s'] / pg[1]['items_per_s']:.2f}x). A single ingest is "
        f"{ingest_rt['round_trips']:g} sequential round trips to the server, of which only "
        f"{ingest_rt['statements']:g} carry the catalog's statements: "
        f"{ingest_rt['pre_ping']:g} are the pool's pre-ping (one per checkout, "
        f"`pool_pre_ping=True`) and {ingest_rt['begin_commit_rollback']:g} are BEGIN, COMMIT "
        f"and ROLLBACK sent as separate commands. Threads overlap those waits until the "
        f"{results['env']['nproc']} CPUs (shared by the Python client, the server's backends "
        "and whatever else runs) are busy.",
        f"* **Deep pages cost what page 1 costs.** Page {DEEP_PAGE} of the large tenant takes "
        f"{timings[1]['median_ms'] / timings[0]['median_ms']:.2f}x the time of page 1 and "
        f"{timings[1]['median_ms'] / timings[6]['median_ms']:.2f}x the time of page 2 (the "
        "first page with a cursor to verify and a longer WHERE clause to bind and plan), "
        + (
            "and the plan reads the keyset index backwards from the cursor position with no "
            "Sort node, so the work does not grow with the page number."
            if ordered
            else "(see the plan above for how the server answers it)."
        ),
        f"* **A list call is client work and round trips, not query work.** The server plans "
        f"and runs the deep page in {server_ms:.2f} ms (planning "
        f"{plans['deep']['planning_ms']:.2f} ms, execution {plans['deep']['execution_ms']:.2f} "
        f"ms), of a whole call of {timings[1]['median_ms']:.2f} ms, of which "
        f"{timings[1]['cpu_ms']:.2f} ms is CPU time of the calling thread: psycopg decoding "
        f"{PAGE_SIZE + 1} rows of 24 columns, SQLAlchemy's result processing (JSON, UTC "
        "timestamps) and building the models. The rest is waiting: "
        f"{list_rt['round_trips']:g} round trips (pre-ping, BEGIN, the SELECT, ROLLBACK) on a "
        "busy machine. The SELECT is also parsed and planned on every call: psycopg would "
        "prepare it after 5 executions on a connection, but it forgets its prepared "
        "statements on every ROLLBACK, and every read ends in one.",
        "",
    ]


def markdown(results: dict[str, Any]) -> str:
    env, ing, lst, rt = results["env"], results["ingest"], results["list"], results["round_trips"]
    load, sizes = lst["load"], lst["sizes"]
    lines = [
        "# Benchmarks at scale: concurrent ingest and PostgreSQL list latency",
        "",
        "Written by `benchmarks/concurrency_postgres.py`; rerun with `make bench` (which runs",
        "`benchmarks/ingest_list.py` first) or the command below. The SQLite-only figures and",
        "their targets are in [benchmarks.md](benchmarks.md).",
        "",
        "**These figures are noisy.** The machine has "
        f"{env['nproc']} CPUs and other engineers' test suites (including PostgreSQL tests on "
        "the same server) were running during the measurement; see the load averages. Read "
        "them as orders of magnitude and ratios from one run, not as capacity figures.",
        "",
        f"* Date: {results['date']} (run took {results['runtime_s'] / 60:.1f} min)",
        f"* Command: `{results['command']}`{' (quick mode)' if results['quick'] else ''}",
        "* Also run by: `make bench` (`$(BIN)/python benchmarks/concurrency_postgres.py "
        "--write docs/benchmarks-scale.md`)",
        f"* Machine: {env['nproc']} CPUs ({env['cpu']}), {env['memory']} RAM, {env['kernel']}",
        f"* PostgreSQL {env['postgres']} on the same machine (TCP to 127.0.0.1), "
        f"{env['pg_settings']}",
        f"* Python {env['python']}, psycopg {env['psycopg']}, SQLAlchemy {env['sqlalchemy']}, "
        f"SQLite {env['sqlite']}, fsspec {env['fsspec']}",
        f"* Blob and SQLite directory filesystem: {env['filesystem']}",
        f"* Load average (1 / 5 / 15 min) at start: {results['load_start']}; "
        f"at end: {results['load_end']}",
        "",
        f"## Ingest: 64 KiB PNG images, {results['items']} items per configuration",
        "",
        "One catalog per database shared by all threads (pool of "
        f"{max(THREADS)} connections + {max(THREADS)} overflow), blobs as local files.",
        "",
        "| database | threads | items/s | vs 1 thread | p50 per item | p99 per item | "
        "client CPU per item | items/s per round |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for backend, label in BACKENDS.items():
        one = ing[backend][1]["items_per_s"]
        for threads, s in ing[backend].items():
            per_round = ", ".join(f"{x:.0f}" for x in s["round_rates"])
            lines.append(
                f"| {label} | {threads} | {s['items_per_s']:.1f} | "
                f"{s['items_per_s'] / one:.2f}x | {s['p50_ms']:.2f} ms | {s['p99_ms']:.2f} ms | "
                f"{s['cpu_ms']:.2f} ms | {per_round} |"
            )
    lines += [
        "",
        "### What one call sends to PostgreSQL",
        "",
        "Counted from libpq's protocol trace of one pooled connection, after warm-up (every "
        "statement had run more than psycopg's prepare threshold of 5 times):",
        "",
        "| call | round trips | pool pre-ping | BEGIN / COMMIT / ROLLBACK | statements | "
        "statements parsed and planned afresh |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{name}` | **{r['round_trips']:g}** | {r['pre_ping']:g} | "
        f"{r['begin_commit_rollback']:g} | {r['statements']:g} | {r['parsed_unprepared']:g} |"
        for name, r in rt.items()
    ]
    lines += [
        "",
        f"## List on PostgreSQL: {lst['rows']:,} assets over {lst['tenants']} tenants",
        "",
        f"`{BIG_TENANT}` holds {lst['tenant_rows'][BIG_TENANT]:,} assets "
        f"({lst['conversation_rows']:,} of them in `{MAIN_CONVERSATION}`); the other "
        f"{lst['tenants'] - 1} tenants share the rest (`{TYPICAL_TENANT}`: "
        f"{lst['tenant_rows'][TYPICAL_TENANT]:,} assets, so its last full page is "
        f"{lst['timings'][3]['page']}). {PAGE_SIZE} per page; medians over "
        f"{lst['repeats']} interleaved repetitions of `catalog.list` (the whole call: "
        "validation, cursor check, SQL, rows to models).",
        "",
        "| query | page | median | p99 | client CPU (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {t['label']} | {t['page']} | {t['median_ms']:.3f} ms | {t['p99_ms']:.3f} ms "
        f"| {t['cpu_ms']:.3f} ms |"
        for t in lst["timings"]
    ]
    lines += ["", "| ratio (medians) | value |", "|---|---:|"]
    lines += [f"| {name} | **{ratio:.2f}** |" for name, ratio in list_ratios(lst)]
    plans = lst["plans"]
    lines += [
        "",
        "Inside the server (`EXPLAIN ANALYZE`, one run each):",
        "",
        "| query | planning | execution |",
        "|---|---:|---:|",
        *(
            f"| {label} | {plans[key]['planning_ms']:.3f} ms "
            f"| {plans[key]['execution_ms']:.3f} ms |"
            for key, label in (
                ("page1", "large tenant, page 1"),
                ("deep", f"large tenant, page {DEEP_PAGE}"),
                (
                    "conversation_deep",
                    f"large tenant, conversation_id, page {lst['timings'][5]['page']}",
                ),
            )
        ),
        "",
        f"### Plan of the deep page (large tenant, page {DEEP_PAGE})",
        "",
        "The statement `list` sends (SQLAlchemy Core, parameters bound by psycopg; the "
        "run's schema name removed from the table names):",
        "",
        "```sql",
        plans["deep"]["sql"],
        "```",
        "",
        "`EXPLAIN (ANALYZE, BUFFERS)` with the same parameters:",
        "",
        "```",
        *plans["deep"]["plan"],
        "```",
        "",
        f"With `conversation_id` (page {lst['timings'][5]['page']}):",
        "",
        "```",
        *plans["conversation_deep"]["plan"],
        "```",
        "",
        "## Load time and size on disk",
        "",
        "| step | seconds |",
        "|---|---:|",
        f"| COPY of {lst['rows']:,} rows into each of the three tables (rows generated in "
        f"Python on the fly) | {load['copy']:.1f} |",
        f"| recreate the {results['index_count']} secondary indexes | {load['indexes']:.1f} |",
        f"| re-add and validate the foreign key | {load['foreign_key']:.1f} |",
        f"| `VACUUM (ANALYZE)` | {load['vacuum_analyze']:.1f} |",
        f"| **total** | **{load['total']:.1f}** |",
        "",
        "| table | rows | total (`pg_total_relation_size`) | heap | indexes (count) |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| `{s['table']}` | {s['rows']:,} | {mib(s['total'])} | {mib(s['heap'])} | "
        f"{mib(s['indexes'])} ({s['index_count']}) |"
        for s in sizes
    ]
    total = sum(s["total"] for s in sizes)
    lines += [
        f"| **all three** | | **{mib(total)}** | | |",
        "",
        "| index | table | size |",
        "|---|---|---:|",
    ]
    lines += [
        f"| `{index}` | `{s['table']}` | {mib(size)} |"
        for s in sizes
        for index, size in s["index_sizes"]
    ]
    lines += [
        "",
        f"That is about {total / lst['rows']:,.0f} bytes of database per asset (its row, its "
        "storage object, one audit event and every index), blobs not included.",
        "",
        *observations(results),
        "## How measured",
        "",
        "* **PostgreSQL isolation**: every PostgreSQL table lives in a schema made for the run "
        f"(`{SCHEMA_PREFIX}<unix time>_<random>`, through `PostgresRepository(url, "
        "schema=…)`), dropped at the end, so test suites running on the same database at the "
        "same time are not affected and do not affect the row counts.",
        "* **Ingest**: `catalog.ingest_image(tenant, png, tool_call_id=<distinct>, "
        "conversation_id=…)` of valid 64 KiB PNGs (a pool of "
        f"{IMAGE_POOL} distinct random images, built as in `ingest_list.py`). Each "
        "configuration (database x threads) ingests into a tenant of its own; the items are "
        "split round-robin over N threads released together by a barrier. Before its first "
        f"timed round each configuration ingests {results['warmup']} warm-up items at the "
        f"same thread count. The timed items are split into {ROUNDS} rounds; within a round "
        "the thread counts run in order and the two databases alternate which goes first. "
        "items/s is the items over the summed wall time (barrier release to the last thread "
        "joined); p50/p99 are over every item's own latency (`time.perf_counter_ns` around "
        "the call, so it includes waiting for locks and for the pool). Afterwards each "
        "tenant's live assets are counted: exactly warm-up + timed items, nothing lost or "
        "doubled.",
        "* **SQLite**: `SqliteRepository` on a SQLAlchemy engine with the same pool size, "
        "i.e. the library's WAL, `synchronous=NORMAL`, `BEGIN IMMEDIATE` and busy timeout. "
        "**PostgreSQL**: `PostgresRepository` defaults (`pool_pre_ping=True`, READ COMMITTED, "
        "`synchronous_commit` as shown above).",
        "* **Round trips**: a separate catalog on the ingest schema with a pool of one "
        "connection; after 10 ingests and 10 warm-up calls of each operation, libpq's "
        "protocol trace (`pgconn.trace()`) records 5 calls, and the messages the client sent "
        "are counted: every simple `Query` and every `Sync` waits for the server once; a "
        "`Parse` of the unnamed statement means the statement was parsed and planned again "
        "rather than executed as a prepared statement.",
        f"* **Data set**: {lst['rows']:,} assets, each with its storage object (the foreign "
        "key needs it) and one `created` audit event, over "
        f"{SPAN_DAYS} days ending now, oldest first, `created_at` distinct with jitter, "
        "UUIDv7 ids of the row's time, 80% images / 20% files, 60% of each tenant's assets "
        f"in one conversation. `{BIG_TENANT}` gets {lst['tenant_rows'][BIG_TENANT]:,} rows "
        "chosen at random over the whole span; every other row goes to one of the other "
        f"{lst['tenants'] - 1} tenants at random. The schema comes from the library's "
        "`create_schema()`; for the load its secondary indexes and the foreign key are "
        "dropped, the three tables are fed by three concurrent `COPY … FROM STDIN` streams "
        "(psycopg `cursor.copy()`, one raw pooled connection per table, text-format lines "
        "written in blocks of 2,000 rows), then the same indexes and constraint (the "
        "library's SQLAlchemy definitions) "
        "are recreated with `maintenance_work_mem=256MB`, and `VACUUM (ANALYZE)` runs on the "
        "three tables. The load times include generating the rows in Python.",
        "* **List**: the cursor of each deep page is collected by following `next_cursor` "
        "from page 1, as a client would. Each query is then run 10 times as warm-up, and the "
        f"{len(lst['timings'])} queries are timed {lst['repeats']} times each, interleaved "
        "(the order rotates each repetition); medians and p99 of the whole `catalog.list` "
        "call. The plans come from `EXPLAIN (ANALYZE, BUFFERS)` of the exact statement and "
        "parameters a `list` call sent (captured with SQLAlchemy's `before_cursor_execute` "
        "event), run once after the timings (a custom plan for these parameters, which is "
        "also what every `list` call gets: its statement is never prepared, see the "
        "round-trip table).",
        "",
    ]
    return "\n".join(lines)


# -- main ------------------------------------------------------------------------------------------


def drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--write", metavar="PATH", help="write a Markdown report to PATH")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work directory and the PostgreSQL schemas"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL URL ({DEFAULT_URL})")
    args = parser.parse_args(argv)

    items, warmup = (100, 16) if args.quick else (800, 40)
    rows, big_rows = (100_000, 60_000) if args.quick else (1_000_000, 100_000)
    repeats = 100 if args.quick else 300
    started = time.perf_counter()

    WORK_PARENT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="scale-", dir=WORK_PARENT))
    stamp = f"{int(time.time())}_{uuid.uuid4().hex[:8]}"
    schemas = {"ingest": f"{SCHEMA_PREFIX}{stamp}_ingest", "list": f"{SCHEMA_PREFIX}{stamp}_list"}
    print(f"work directory: {work}; PostgreSQL schemas: {', '.join(schemas.values())}")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(),
        "quick": args.quick,
        "items": items,
        "warmup": warmup,
        "load_start": load_averages(),
        "env": machine_info(args.url, work),
    }
    pool = max(THREADS)
    catalogs: dict[str, AssetCatalog] = {}
    try:
        catalogs["postgres"] = postgres_catalog(args.url, schemas["ingest"], work, pool)
        catalogs["sqlite"] = sqlite_catalog(work, pool)
        print(f"ingest: {items} items per configuration, threads {THREADS} ...", flush=True)
        results["ingest"] = bench_ingest(catalogs, items, warmup)
        results["round_trips"] = postgres_round_trips(
            args.url, schemas["ingest"], work, png_of_size()
        )
        for catalog in catalogs.values():
            catalog.close()
        catalogs.clear()

        print(f"list: {rows:,} assets over {TENANTS} tenants on PostgreSQL ...", flush=True)
        catalogs["list"] = postgres_catalog(args.url, schemas["list"], work, 4)
        repository: Any = catalogs["list"].repository
        results["index_count"] = sum(
            len(t.indexes)
            for t in (repository.tables.objects, repository.tables.assets, repository.tables.events)
        )
        results["list"] = bench_list(catalogs["list"], rows, big_rows, repeats)
    finally:
        for catalog in catalogs.values():
            catalog.close()
        if not args.keep:
            for schema in schemas.values():
                drop_schema(args.url, schema)
            shutil.rmtree(work, ignore_errors=True)
    results["load_end"] = load_averages()
    results["runtime_s"] = time.perf_counter() - started
    print_summary(results)
    if args.write:
        Path(args.write).write_text(markdown(results), encoding="utf-8")
        print(f"\nreport written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
