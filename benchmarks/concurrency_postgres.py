"""Ingest with 1-8 threads on PostgreSQL and SQLite, and ``list`` on 1,000,000 assets on
PostgreSQL (bulk-loaded with COPY); figures for docs/benchmarks-scale.md. PostgreSQL work
happens in schemas of the run's own (``ac_bench_…``), dropped at the end unless ``--keep``."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import harness as h
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from asset_catalog import AssetCatalog, UrlSigner
from asset_catalog.sql import PostgresRepository, SqliteRepository, SqlRepository
from asset_catalog.storage import FsspecStorage

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_URL = os.environ.get("ASSET_CATALOG_BENCH_POSTGRES_URL", LOCAL_URL)
THREADS, ROUNDS, DEEP, TENANTS = (1, 2, 4, 8), 2, 1000, 100
BIG, TYPICAL, MAIN = "tenant-big", "tenant-007", h.MAIN_CONVERSATION
BACKENDS, DISTS = {"postgres": "PostgreSQL", "sqlite": "SQLite"}, ["psycopg"]
SETTINGS = "fsync jit max_connections random_page_cost shared_buffers synchronous_commit work_mem"


def catalog_on(repository: SqlRepository, blobs: Path) -> AssetCatalog:
    repository.create_schema()
    storage = FsspecStorage.from_url(f"file://{blobs}")
    signer = UrlSigner(h.SECRET)  # no thumbnails: the ingest protocol alone is measured
    return AssetCatalog(repository=repository, storage=storage, signer=signer, variant_sizes={})


def bench_ingest(catalogs: dict[str, AssetCatalog], items: int, warmup: int) -> dict[str, Any]:
    cpus: dict[Any, list[int]] = {key: [] for key in itertools.product(catalogs, THREADS)}
    batches = {(b, n): h.threaded(catalogs[b], n, f"t{n}", cpu) for (b, n), cpu in cpus.items()}
    names = list(catalogs)

    def order(r: int) -> list[tuple[str, int]]:  # thread counts in order, databases alternating
        return [(b, n) for t, n in enumerate(THREADS) for b in names[:: -1 if (r + t) % 2 else 1]]

    stats = h.interleaved(batches, ROUNDS, items // ROUNDS, warmup, order)
    for (backend, n), s in stats.items():  # nothing lost, nothing doubled
        assert h.count_assets(catalogs[backend], f"t{n}") == warmup + len(s.ns)
    cpu = {key: sum(cpus[key][1:]) / len(s.ns) / 1e6 for key, s in stats.items()}  # [0]: warm-up
    return {"stats": stats, "cpu": cpu}


def qualified(table: Any) -> str:
    return f'"{table.schema}"."{table.name}"'


def cell(value: object) -> str:
    """``value`` in COPY's text format (no value here holds a tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return json.dumps(value) if isinstance(value, dict) else str(value)


def bulk_load(repository: SqlRepository, rows: int, big_rows: int) -> dict[str, float]:
    """Drop secondary indexes and the foreign key, COPY into the three tables at once (a connection
    each), recreate both as the library defines them, VACUUM (ANALYZE). Seconds per step, size."""
    engine, t = repository.engine, repository.tables
    tables = (t.objects, t.assets, t.events)
    indexes = [i for table in tables for i in sorted(table.indexes, key=lambda i: str(i.name))]
    foreign_keys = list(t.assets.foreign_key_constraints)
    rng, start = random.Random(7), time.perf_counter()
    big, others = set(rng.sample(range(rows), big_rows)), [f"tenant-{k:03d}" for k in range(1, 100)]
    tenants = (BIG if i in big else rng.choice(others) for i in range(rows))
    data = h.dataset(tenants, rows, span_s=180 * 86_400)
    with engine.begin() as conn:
        for statement in [*map(DropConstraint, foreign_keys), *map(DropIndex, indexes)]:
            conn.execute(statement)
    first = next(data)
    with contextlib.ExitStack() as conns:  # closed after the commits
        raws = [conns.enter_context(contextlib.closing(engine.raw_connection())) for _ in tables]
        with contextlib.ExitStack() as stack:
            copies = []
            for raw, table, row in zip(raws, tables, first, strict=True):
                names = ", ".join(map(json.dumps, row))  # "quoted" identifiers
                sql = f"COPY {qualified(table)} ({names}) FROM STDIN"
                cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
                copies.append(stack.enter_context(cursor.copy(sql)))
            data = itertools.chain([first], data)
            while block := list(itertools.islice(data, 2000)):  # text-format lines, 2,000 rows
                for copy, part in zip(copies, zip(*block, strict=True), strict=True):
                    copy.write("".join("\t".join(map(cell, row.values())) + "\n" for row in part))
        for raw in raws:
            raw.commit()
    seconds = {"copy": time.perf_counter() - start}
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for index in indexes:
            conn.execute(CreateIndex(index))
        seconds["indexes"] = time.perf_counter() - start - sum(seconds.values())
        for fk in foreign_keys:
            conn.execute(AddConstraint(fk))
    seconds["foreign_key"] = time.perf_counter() - start - sum(seconds.values())
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM (ANALYZE) {qualified(table)}"))
    seconds["vacuum"] = time.perf_counter() - start - sum(seconds.values())
    seconds["total"] = time.perf_counter() - start
    sizes = " + ".join(f"pg_total_relation_size('{qualified(table)}')" for table in tables)
    with engine.connect() as conn:  # with their indexes and TOAST
        size = int(conn.execute(text(f"SELECT {sizes}")).scalar_one())
    return seconds | {"indexes_count": len(indexes), "size": size}


def bench_list(catalog: AssetCatalog, rows: int, big_rows: int, repeats: int) -> dict[str, Any]:
    print(f"  loading {rows:,} assets (+ objects, events) with COPY ...", flush=True)
    load = bulk_load(h.sql_repository(catalog), rows, big_rows)
    counts = {t: h.count_assets(catalog, t) for t in (BIG, TYPICAL)}
    counts[MAIN] = h.count_assets(catalog, BIG, MAIN)
    print("  collecting the deep pages' cursors ...", flush=True)
    query, conv, large = h.ListQuery, {"conversation_id": MAIN}, "large tenant"
    queries = [
        query(catalog, large, BIG, 1),
        query(catalog, large, BIG, DEEP),
        query(catalog, "typical tenant", TYPICAL, 1),
        query(catalog, "typical tenant", TYPICAL, counts[TYPICAL] // 50),
        query(catalog, f"{large}, conversation_id", BIG, 1, **conv),
        query(catalog, f"{large}, conversation_id", BIG, min(DEEP, counts[MAIN] // 50), **conv),
        query(catalog, large, BIG, 2),  # the first page with a cursor: against page 1000, depth
    ]
    print(f"  timing {len(queries)} queries x {repeats}, interleaved ...", flush=True)
    h.time_queries(queries, repeats)
    return {"load": load, "counts": counts, "queries": queries, "rows": rows, "repeats": repeats}


def server(admin: Engine) -> str:
    with admin.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        query = "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(:names)"
        rows = conn.execute(text(query + " ORDER BY name"), {"names": SETTINGS.split()}).all()
    settings = ", ".join(f"`{name}={value}`" for name, value in rows)
    return f"* PostgreSQL {version} on the same machine (TCP to 127.0.0.1), {settings}"


def report(run: h.Run, pg: str, ing: dict[str, Any], lst: dict[str, Any]) -> list[str]:
    stats, q, load, counts = ing["stats"], lst["queries"], lst["load"], lst["counts"]
    threads = []
    for (backend, n), s in stats.items():
        speedup, cpu = s.per_s / stats[backend, 1].per_s, h.ms(ing["cpu"][backend, n], 2)
        row = (BACKENDS[backend], n, f"{s.per_s:.1f}", f"{speedup:.2f}x", *s.cells("", 2)[1:])
        threads.append((*row, cpu, ", ".join(f"{x:.0f}" for x in s.rates)))
    pages = [(x.label, x.page, *map(h.ms, (x.stats.p50, x.stats.p99, x.cpu.p50))) for x in q]
    pairs = [
        (f"large tenant page {DEEP} / page 1", 1, 0),
        (f"large tenant page {DEEP} / page 2", 1, 6),
        (f"typical tenant page {q[3].page} / page 1", 3, 2),
        (f"large tenant, conversation_id, page {q[5].page} / page 1", 5, 4),
    ]
    ratios = [(label, f"**{q[a].stats.p50 / q[b].stats.p50:.2f}**") for label, a, b in pairs]
    steps = [
        (f"COPY of {lst['rows']:,} rows into each of the three tables (made in Python)", "copy"),
        (f"recreate the {load['indexes_count']} secondary indexes", "indexes"),
        ("re-add and validate the foreign key", "foreign_key"),
        ("`VACUUM (ANALYZE)`", "vacuum"),
        ("**total**", "total"),
    ]
    size, top = load["size"], max(THREADS)
    return h.page(
        run.header("Benchmarks at scale: concurrent ingest and PostgreSQL list latency", DISTS, pg),
        "The SQLite-only figures and their targets are in [benchmarks.md](benchmarks.md). **These "
        f"figures are noisy**: {run.cpus} CPUs, shared with other test suites (PostgreSQL ones "
        "included); read them as orders of magnitude and as ratios within this run.",
        f"## Ingest: 64 KiB PNG images, {len(stats['postgres', 1].ns)} items per configuration",
        f"One catalog per database shared by all threads (pool of {top} connections + {top} "
        f"overflow), blobs as local files; {ROUNDS} interleaved rounds.",
        h.table(
            "database | threads | items/s | vs 1 thread | p50 per item | p99 per item | "
            "client CPU per item | items/s per round",
            threads,
        ),
        f"## List on PostgreSQL: {lst['rows']:,} assets over {TENANTS} tenants",
        f"`{BIG}` holds {counts[BIG]:,} assets ({counts[MAIN]:,} of them in `{MAIN}`); the "
        f"other {TENANTS - 1} tenants share the rest (`{TYPICAL}`: {counts[TYPICAL]:,} assets, "
        f"so its last full page is {q[3].page}). 50 per page; medians over {lst['repeats']} "
        "interleaved repetitions of the whole `catalog.list` call.",
        h.table("query | page | median | p99 | client CPU (median)", pages),
        h.table("ratio (medians) | value", ratios),
        "## Load time and size on disk",
        h.table("step | seconds", [(label, f"{load[key]:.1f}") for label, key in steps]),
        f"The three tables with their indexes (`pg_total_relation_size`): {size / 2**20:,.1f} "
        f"MiB, about {size / lst['rows']:,.0f} bytes per asset (its row, its storage object, "
        "one audit event and every index), blobs not included.",
    )


def main(argv: list[str] | None = None) -> None:
    parser = h.options(__doc__)
    parser.add_argument("--url", default=DEFAULT_URL, help=f"PostgreSQL URL ({DEFAULT_URL})")
    args = parser.parse_args(argv)
    items, warmup = (100, 16) if args.quick else (800, 40)
    rows, big_rows, repeats = (100_000, 60_000, 100) if args.quick else (1_000_000, 100_000, 300)
    stamp = f"ac_bench_{int(time.time())}_{uuid.uuid4().hex[:8]}"
    schemas = {"ingest": f"{stamp}_ingest", "list": f"{stamp}_list"}
    catalogs: dict[str, AssetCatalog] = {}
    with h.Run(args, "scale") as run:
        print(f"PostgreSQL schemas: {', '.join(schemas.values())}")
        pg = server(admin := create_engine(args.url))
        try:
            pool: dict[str, Any] = {"pool_size": max(THREADS), "max_overflow": max(THREADS)}
            repository = PostgresRepository(args.url, schema=schemas["ingest"], **pool)
            catalogs["postgres"] = catalog_on(repository, run.work / "pg-blobs")
            engine = create_engine(f"sqlite:///{run.work}/ingest.db", **pool)
            catalogs["sqlite"] = catalog_on(SqliteRepository(engine), run.work / "sqlite-blobs")
            print(f"ingest: {items} items per configuration, threads {THREADS} ...", flush=True)
            ingest = bench_ingest(catalogs, items, warmup)
            for name in ("postgres", "sqlite"):
                catalogs.pop(name).close()
            print(f"list: {rows:,} assets over {TENANTS} tenants on PostgreSQL ...", flush=True)
            repository = PostgresRepository(args.url, schema=schemas["list"], pool_size=4)
            catalogs["list"] = catalog_on(repository, run.work / "list-blobs")
            lst = bench_list(catalogs["list"], rows, big_rows, repeats)
        finally:
            for catalog in catalogs.values():
                catalog.close()
            with admin.begin() as conn:
                for schema in [] if args.keep else schemas.values():
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
        run.report(report(run, pg, ingest, lst))


if __name__ == "__main__":
    main()
