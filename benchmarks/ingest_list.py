"""Ingest, list and streaming memory on SQLite + local files; figures for docs/benchmarks.md.

Targets: ``ingest_image`` against a raw sqlite3 + file floor, ``list`` of a deep page against
page 1, peak memory of a streamed ingest; also the SQL protocol and a one-commit one in raw
sqlite3, one ingest's phases (docs/concepts.md quotes them). Exits 0 even if a target is missed."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
import time
import tracemalloc
import uuid
from itertools import islice, repeat
from pathlib import Path
from typing import Any

import harness as h
from sqlalchemy import insert

from asset_catalog import AssetCatalog
from asset_catalog.sql import SqliteRepository

TENANT, CONV, MIB, WARMUP, ROUNDS, REPEATS = h.TENANT, h.MAIN_CONVERSATION, 2**20, 50, 4, 200
SERIES = {
    "library": "catalog.ingest_image",
    "floor": "raw floor (sqlite3 + file write)",
    "protocol": "library's SQL protocol in raw sqlite3",
    "one_commit": "one-commit protocol in raw sqlite3",
}
PHASES = [
    ("repository", "find_by_idempotency_key", "idempotency lookup (read)"),
    ("repository", "add_pending_object", "pending row (commit 1)"),
    ("storage", "write", "blob write + sha256 (fsspec)"),
    ("repository", "complete_ingest", "stored + asset + event (commit 2)"),
]
KINDS, PRAGMAS = ("objects", "assets", "events"), "journal_mode=WAL synchronous=NORMAL"
PRAGMAS += " busy_timeout=10000 foreign_keys=ON wal_autocheckpoint=4000"  # the library's
FLOOR = (  # the floor's table: agent_assets' columns, the blob's key for storage_object_id
    "id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255) NOT NULL, key VARCHAR(1024) NOT NULL, "
    "asset_type VARCHAR(16) NOT NULL, source_tool VARCHAR(32) NOT NULL, conversation_id "
    "VARCHAR(255), tool_call_id VARCHAR(255), filename VARCHAR(1024) NOT NULL, mime_type "
    "VARCHAR(255) NOT NULL, size_bytes BIGINT NOT NULL, sha256 VARCHAR(64) NOT NULL, width "
    "INTEGER, height INTEGER, metadata JSON NOT NULL, created_at BIGINT NOT NULL, updated_at "
    "BIGINT NOT NULL"
)


class Raw:
    """Ingest in stdlib sqlite3 with the library's pragmas, the blob written with ``open`` into a
    per-day directory. ``floor``: INSERT + COMMIT into a table with agent_assets' columns, key
    and keyset index; ``protocol``: the library's statements on its schema (idempotency SELECT;
    pending INSERT + COMMIT; file; UPDATE object + INSERT asset + event + COMMIT);
    ``one_commit``: no pending row (file, then INSERT stored object + asset + event + COMMIT)."""

    def __init__(self, work: Path, mode: str, images: list[bytes]) -> None:
        self.mode, self.images, path, tables = mode, images, work / f"{mode}.db", {"floor": "floor"}
        self.day = work / f"{mode}-blobs" / time.strftime("tbench/%Y/%m/%d")
        self.day.mkdir(parents=True)
        if mode != "floor":
            (repository := SqliteRepository(f"sqlite:///{path}")).create_schema()
            repository.close()
            tables = {kind: getattr(repository.tables, kind).name for kind in KINDS}
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in PRAGMAS.split():
            self.db.execute(f"PRAGMA {pragma}")
        if mode == "floor":
            self.db.execute(f"CREATE TABLE floor ({FLOOR})")
            self.db.execute("CREATE INDEX ix_floor ON floor (tenant_id, created_at, id)")
        objects, assets = tables.get("objects"), tables.get("assets")
        self.find = f"SELECT * FROM {assets} WHERE tenant_id = ? AND idempotency_key = ?"
        self.find += " AND deleted_at IS NULL"
        update = f"UPDATE {objects} SET status = 'stored', size_bytes = ?, sha256 = ? WHERE id = ?"
        self.sql = {"update": (update + " AND status = 'pending'", list[str]())}
        for kind, table in tables.items():
            cols = [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]
            marks = ", ".join("?" * len(cols))
            self.sql[kind] = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", cols)

    def commit(self, *statements: tuple[str, Any]) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        for kind, values in statements:
            sql, names = self.sql[kind]
            self.db.execute(sql, [values.get(name) for name in names] if names else values)
        self.db.execute("COMMIT")

    def ingest(self, i: int) -> None:
        oid, call, now = str(uuid.uuid4()), f"{self.mode}-call-{i}", time.time_ns() // 1000
        data = self.images[i % 16]
        key, size = f"image_generation:{call}", len(data)
        obj: h.Row = {"id": oid, "tenant_id": TENANT, "key": f"tbench/{oid}", "metadata": "{}"}
        obj |= {"filename": f"image-{oid[:13]}.png", "mime_type": "image/png", "created_at": now}
        if self.mode != "floor":
            self.db.execute(self.find, (TENANT, key)).fetchone()
        if self.mode == "protocol":
            self.commit(("objects", obj | {"status": "pending"}))
        obj |= {"size_bytes": size, "sha256": hashlib.sha256(data).hexdigest()}
        with open(self.day / f"{oid}.png", "wb") as handle:
            handle.write(data)
        asset = obj | {"id": str(uuid.uuid4()), "storage_object_id": oid, "asset_type": "image"}
        asset |= {"source_tool": "image_generation", "conversation_id": f"conv-{i % 8}"}
        asset |= {"tool_call_id": call, "width": 64, "height": 64, "metadata": '{"format": "png"}'}
        asset |= {"idempotency_key": key, "updated_at": now}
        if self.mode == "floor":
            return self.commit(("floor", asset))
        details = json.dumps({"size_bytes": size, "sha256": obj["sha256"]})
        event: h.Row = {"id": str(uuid.uuid4()), "tenant_id": TENANT, "asset_id": asset["id"]}
        event |= {"event": "created", "at": now, "details": details}
        stored: tuple[str, Any] = ("update", (size, obj["sha256"], oid))
        if self.mode == "one_commit":
            stored = ("objects", obj | {"status": "stored"})
        return self.commit(stored, ("assets", asset), ("events", event))


def phase_breakdown(catalog: AssetCatalog, ingest: Any, count: int) -> list[tuple[str, float]]:
    """Mean ms per ingest in each repository and storage call, by wrapping them (instance
    attributes shadowing the methods): a separate pass after the timed rounds."""
    spent = {label: 0 for *_, label in PHASES}
    owners = {"repository": catalog.repository, "storage": catalog.storage}
    for owner, name, label in PHASES:
        method = getattr(owners[owner], name)

        def wrapper(*args: Any, _m: Any = method, _label: str = label, **kwargs: Any) -> Any:
            t0 = time.perf_counter_ns()
            result = _m(*args, **kwargs)
            spent[_label] += time.perf_counter_ns() - t0
            return result

        setattr(owners[owner], name, wrapper)
    total = sum(h.measure(ingest, count, warmup=0).ns) / count / 1e6
    for owner, name, _ in PHASES:
        delattr(owners[owner], name)
    rows = [(label, ns / count / 1e6) for label, ns in spent.items()]
    rest = total - sum(value for _, value in rows)
    return [*rows, ("facade (validation, sniff, ids, models)", rest), ("total", total)]


def bench_ingest(work: Path, items: int) -> tuple[dict[str, h.Stats], list[tuple[str, float]]]:
    catalog = h.sqlite_catalog(work, "ingest")
    raws = {mode: Raw(work, mode, h.png_pool()) for mode in ("floor", "protocol", "one_commit")}
    library = h.ingest_call(catalog, TENANT)
    batches = {"library": h.timed(library)} | {m: h.timed(raw.ingest) for m, raw in raws.items()}
    stats = h.interleaved(batches, ROUNDS, items // ROUNDS, WARMUP)
    assert h.count_assets(catalog, TENANT) == WARMUP + len(stats["library"].ns)  # nothing lost
    phases = phase_breakdown(catalog, lambda i: library(10**6 + i), min(items // ROUNDS, 500))
    catalog.close()
    for raw in raws.values():
        raw.db.close()
    return stats, phases


def bench_list(work: Path, rows: int, page: int) -> dict[str, Any]:
    catalog = h.sqlite_catalog(work, "list")
    repository, start = h.sql_repository(catalog), time.perf_counter()
    data = h.dataset(repeat(TENANT), rows, span_s=1.5 * rows)
    with repository.engine.begin() as conn:  # SQLAlchemy Core executemany, 5,000 rows a batch
        while batch := list(islice(data, 5000)):
            conn.execute(insert(repository.tables.objects), [obj for obj, _, _ in batch])
            conn.execute(insert(repository.tables.assets), [asset for _, asset, _ in batch])
    load_s = time.perf_counter() - start
    matching, conv = h.count_assets(catalog, TENANT, CONV), {"conversation_id": CONV}
    label = f"`conversation_id` ({matching:,} matching)"
    queries = [h.ListQuery(catalog, "no filter", TENANT, 1), h.ListQuery(catalog, "", TENANT, page)]
    queries += [h.ListQuery(catalog, label, TENANT, 1, **conv)]
    queries += [h.ListQuery(catalog, "", TENANT, min(page, matching // 50), **conv)]
    h.time_queries(queries, REPEATS)
    repository.tables.usage.drop(repository.engine)  # the bulk load counted nothing: count as
    start = time.perf_counter()  # create_schema() does for a catalog from before usage()
    repository.create_schema()
    counted = {"count_s": time.perf_counter() - start, "assets": catalog.usage(TENANT).assets}
    counted["usage"] = h.measure(lambda _: catalog.usage(TENANT), REPEATS)
    catalog.close()
    return {"rows": rows, "load_s": load_s, "queries": queries, "usage": counted}


def memory_child(work: Path, mib: int) -> dict[str, Any]:
    """In a fresh process: peak memory of a streamed ingest (RSS, traced) and of an export."""
    catalog, block = h.sqlite_catalog(work, "memory"), os.urandom(MIB)

    def ingest(file_id: str, count: int = mib, data: bytes = block) -> None:
        where: dict[str, Any] = {"container_id": "c", "file_id": file_id, "filename": "big.bin"}
        asset = catalog.ingest_container_file(TENANT, repeat(data, count), **where)
        assert asset.size_bytes == count * len(data)

    def kib(field: str) -> int:
        return int(h.proc_field("/proc/self/status", field).split()[0])

    ingest("warm", 1, block[:65536])
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    rss, hwm, start = kib("VmRSS"), kib("VmHWM"), time.perf_counter()
    ingest("big-rss")
    seconds, growth = time.perf_counter() - start, kib("VmHWM") - max(hwm, rss)
    gc.collect()
    tracemalloc.start()
    ingest("big-traced")
    traced = tracemalloc.get_traced_memory()[1] / MIB
    tracemalloc.reset_peak()
    with open(os.devnull, "wb") as sink:  # export() of the tenant: every blob, as a tar
        exported = catalog.export(TENANT, sink).bytes / MIB
    export = tracemalloc.get_traced_memory()[1] / MIB
    catalog.close()
    figures = {"mib": mib, "rate": mib / seconds, "rss": rss / 1024, "growth": growth / 1024}
    return figures | {"traced": traced, "export": export, "exported": exported}


def targets(stats: dict[str, h.Stats], _: Any, lst: dict[str, Any], mem: Any) -> list[Any]:
    ingest = stats["library"].median_ratio(stats["floor"])
    first, deep = lst["queries"][:2]
    depth, worst = deep.stats.p50 / first.stats.p50, max(mem["traced"], mem["growth"])
    memory = f"peak extra memory, {mem['mib']} MiB stream (max of traced, RSS)"
    return [
        ["ingest throughput, library / raw floor", ">= 0.7", f"{ingest:.2f}", ingest >= 0.7],
        [f"list latency, page {deep.page} / page 1", "<= 1.2", f"{depth:.2f}", depth <= 1.2],
        [memory, "< 8 MiB", f"{worst:.2f} MiB", worst < 8],
    ]


def report(run: h.Run, figures: tuple[Any, ...]) -> list[str]:
    stats, phases, lst, mem = figures
    ratio = {name: stats[name].median_ratio(stats["floor"]) for name in stats}
    per_round = ", ".join(f"{r:.2f}" for r in stats["library"].ratios(stats["floor"]))
    q, items, lists = lst["queries"], len(stats["library"].ns), []
    for first, deep in (q[0], q[1]), (q[2], q[3]):
        one, far = first.stats, deep.stats
        cells = map(h.ms, (one.p50, far.p50, one.p99, far.p99))
        lists.append((f"{first.label}, page {deep.page}", *cells, f"{far.p50 / one.p50:.2f}"))
    memory = [
        ("tracemalloc peak during the call", f"{mem['traced']:.2f} MiB"),
        ("RSS growth (VmHWM after - before)", f"{mem['growth']:.2f} MiB"),
        ("RSS before the call", f"{mem['rss']:.1f} MiB"),
        ("throughput", f"{mem['rate']:.0f} MiB/s"),
        (f"`export()` of {mem['exported']:,.0f} MiB, a tar", f"{mem['export']:.2f} MiB traced"),
    ]
    verdicts = [(*row[:3], "**PASS**" if row[3] else "**FAIL**") for row in targets(*figures)]
    return h.page(
        run.header("Benchmarks"),
        "## Targets",
        h.table("measure | target | measured | result", verdicts, left=4),
        f"## Ingest: {items} images of 64 KiB (PNG), SQLite + local files",
        h.table(
            "series | items/s | p50 latency | p99 latency",
            [(label, *stats[name].cells()) for name, label in SERIES.items()],
        ),
        f"Library / floor throughput per round: {per_round}; median **{ratio['library']:.2f}**.",
        f"Protocol / floor (the library's statements in raw sqlite3): {ratio['protocol']:.2f}; "
        f"one-commit protocol / floor: {ratio['one_commit']:.2f} (medians over rounds).",
        "Where one library ingest spends its time (mean per item; a separate pass after the "
        "timed rounds, wrapping the repository and storage calls):",
        h.table("phase | mean", [(label, h.ms(value)) for label, value in phases]),
        f"## List: {lst['rows']:,} assets in one tenant, 50 per page",
        h.table(
            "query | page 1 (median) | deep page (median) | page 1 p99 | deep p99 | deep / page 1",
            lists,
        ),
        f"Bulk load of the rows (SQLAlchemy Core executemany): {lst['load_s']:.1f} s. The "
        "conversation filter is reported, not a target.",
        f"`usage()` of this tenant ({lst['usage']['assets']:,} assets): p50 "
        f"{h.ms(lst['usage']['usage'].p50)}, p99 {h.ms(lst['usage']['usage'].p99)}; counting "
        f"its counters from the rows (what `create_schema()` and revision 0003 do for a "
        f"catalog from before them): {lst['usage']['count_s']:.2f} s.",
        f"## Memory: `ingest_container_file` of a {mem['mib']} MiB stream in 1 MiB chunks",
        h.table("measure | value", memory),
        f"Sizes: {WARMUP} warm-up items per ingest series, then {ROUNDS} rounds of "
        f"{items // ROUNDS}; {REPEATS} timings of each list query.",
    )


def main(argv: list[str] | None = None) -> None:
    parser = h.options(__doc__)
    parser.add_argument("--items", type=int, help="ingest items (default 2000, --quick 300)")
    args = parser.parse_args(argv)
    items = args.items or (300 if args.quick else 2000)
    rows, page, mib = (20_000, 200, 64) if args.quick else (100_000, 1000, 512)
    with h.Run(args, "run") as run:
        print(f"ingest: {items} items + {WARMUP} warm-up per series ...", flush=True)
        stats, phases = bench_ingest(run.work, items)
        print(f"list: loading {rows:,} rows, timing page 1 and page {page} ...", flush=True)
        lst = bench_list(run.work, rows, page)
        print(f"memory: streaming {mib} MiB in a subprocess ...", flush=True)
        figures = (stats, phases, lst, h.in_subprocess(memory_child, run.work, mib))
        run.report(report(run, figures))
    for name, target, value, ok in targets(*figures):
        print(f"{'PASS' if ok else 'FAIL':4}  {name}: {value} (target {target})")
    if missed := [name for name, _, _, ok in targets(*figures) if not ok]:
        print(f"FAIL: {len(missed)} target(s) missed: {'; '.join(missed)}")


if __name__ == "__main__":
    main()
