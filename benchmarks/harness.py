"""What the benchmark scripts share: inputs, calls timed in interleaved rounds, SQLite catalogs,
list pages, the command line, the work directory, the machine, the report. See README.md."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import math
import multiprocessing
import os
import platform
import random
import shlex
import shutil
import sqlite3
import statistics
import struct
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select

from asset_catalog import Asset, AssetCatalog, open_catalog
from asset_catalog.sql import SqlRepository

WORK_PARENT = Path(__file__).resolve().parent / ".work"
SECRET = "benchmark-secret-0123456789abcdef"
TENANT, MAIN_CONVERSATION = "tenant-bench", "conv-main"
KEPT = "<!-- Hand-written from here on: kept as it is when the script rewrites this page. -->"
K = TypeVar("K")


# -- inputs ------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of_size(size: int = 64 * 1024, width: int = 64, height: int = 64) -> bytes:
    """A valid PNG of exactly ``size`` bytes: signature, IHDR, a private ancillary ``raNd``
    chunk of random (incompressible) bytes, IDAT, IEND; every CRC correct."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
    tail = _chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1) * height)) + _chunk(b"IEND", b"")
    return head + _chunk(b"raNd", os.urandom(size - len(head) - len(tail) - 12)) + tail


def png_pool(count: int = 16) -> list[bytes]:
    return [png_of_size() for _ in range(count)]


def uuid7(micros: int, rng: random.Random) -> str:
    """A UUIDv7 string for the time ``micros`` (like the library's ids, for any time)."""
    rand = rng.getrandbits(74)
    value = (micros // 1000) << 80 | 0x7 << 76 | (rand >> 62) << 64 | 0b10 << 62
    h = f"{value | (rand & ((1 << 62) - 1)):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


Row = dict[str, Any]  # a row for the bulk load: column name -> value
KINDS = [("image", "image_generation", "image/png", "png")] * 8 + [
    ("file", "code_interpreter", "text/csv", "csv"),
    ("file", "code_interpreter", "application/pdf", "pdf"),
]


def dataset(tenants: Iterable[str], rows: int, span_s: float) -> Iterator[tuple[Row, Row, Row]]:
    """Rows for a bulk load, oldest first: per asset its stored object, the live asset and its
    ``created`` event. ``created_at`` distinct over ``span_s`` seconds ending now (even steps
    plus jitter), UUIDv7 ids of that time, 60% in MAIN_CONVERSATION, 80% images / 20% files."""
    rng, step = random.Random(20240601), int(span_s * 1e6) // rows
    choice = rng.choice
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(microseconds=step * rows)
    for i, tenant in zip(range(rows), tenants, strict=False):
        offset = step * i + rng.randrange(step)
        created, (kind, tool, mime, ext) = start + dt.timedelta(microseconds=offset), choice(KINDS)
        oid, aid, eid = (uuid7(int(start.timestamp()) * 10**6 + offset, rng) for _ in range(3))
        size, digest = rng.randrange(10_000, 2_000_000), f"{rng.getrandbits(256):064x}"
        common: Row = {"tenant_id": tenant, "filename": f"{kind}-{i}.{ext}"}
        common |= {"mime_type": mime, "size_bytes": size, "sha256": digest}
        obj = {"id": oid, **common, "key": f"{tenant}/{created:%Y/%m/%d}/{oid}.{ext}"}
        asset = {"id": aid, **common, "storage_object_id": oid, "asset_type": kind}
        asset |= {"source_tool": tool, "message_id": f"msg-{i // 3}", "tool_call_id": f"call-{i}"}
        asset |= {"conversation_id": MAIN_CONVERSATION if i % 10 < 6 else f"conv-{i % 10}"}
        agent, user = f"agent-{i % 3}", f"user-{i % 17}"
        asset |= {"response_id": f"resp-{i // 3}", "agent_key": agent, "user_id": user}
        if kind == "image":
            asset |= {"container_id": None, "openai_file_id": None, "width": 1024, "height": 1024}
            asset |= {"metadata": {"format": ext, "quality": "high"}}
            asset |= {"idempotency_key": f"image_generation:call-{i}"}
        else:
            asset |= {"container_id": "cntr-1", "openai_file_id": f"file-{i}", "width": None}
            asset |= {"height": None, "metadata": {}}
            asset |= {"idempotency_key": f"code_interpreter:6:cntr-1:file-{i}"}
        event: Row = {"id": eid, "tenant_id": tenant, "asset_id": aid, "event": "created"}
        event |= {"actor": agent, "at": created, "details": {"size_bytes": size, "sha256": digest}}
        obj |= {"status": "stored", "created_at": created, "metadata": {}}
        yield obj, asset | {"created_at": created, "updated_at": created}, event


# -- timing ------------------------------------------------------------------------------------
Batch = Callable[[int, int], tuple[list[int], int]]  # (start, count) -> per-item ns, wall ns
Order = Callable[[int], list[K]]  # the series of round r, in the order they run


class Stats:
    """Per-call latencies and wall time of one series, over its rounds."""

    def __init__(self, per_call: int = 1) -> None:
        self.ns: list[int] = []
        self.wall_ns, self.per_call = 0, per_call
        self.rates: list[float] = []  # items (URLs) per second, round by round

    def add(self, ns: list[int], wall_ns: int) -> Stats:
        self.ns += ns
        self.wall_ns += wall_ns
        self.rates.append(len(ns) * self.per_call / (wall_ns / 1e9))
        return self

    @property
    def per_s(self) -> float:
        return len(self.ns) * self.per_call / (self.wall_ns / 1e9)

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile of the latencies, in ms."""
        return sorted(self.ns)[max(1, math.ceil(len(self.ns) * fraction)) - 1] / 1e6

    p50 = property(lambda self: self.percentile(0.50))
    p99 = property(lambda self: self.percentile(0.99))

    def cells(self, rate: str = "{:,.1f}", digits: int = 3) -> list[str]:
        """items/s, p50 and p99 for a table row."""
        return [rate.format(self.per_s), ms(self.p50, digits), ms(self.p99, digits)]

    def ratios(self, other: Stats) -> list[float]:
        """Throughput over ``other``'s, round by round."""
        return [x / y for x, y in zip(self.rates, other.rates, strict=True)]

    def median_ratio(self, other: Stats) -> float:
        return statistics.median(self.ratios(other))


def timed(call: Callable[[int], object], step: int = 1) -> Batch:
    """A batch of ``call(i)`` for every ``step``-th item, each timed with ``perf_counter_ns``."""

    def batch(start: int, count: int) -> tuple[list[int], int]:
        clock, ns = time.perf_counter_ns, []
        wall = clock()
        for i in range(start, start + count, step):
            t0 = clock()
            call(i)
            ns.append(clock() - t0)
        return ns, clock() - wall

    return batch


def measure(call: Callable[[int], object], count: int, warmup: int = 20, per: int = 1) -> Stats:
    """``warmup`` calls, then ``count`` timed ones."""
    batch = timed(call)
    batch(-warmup, warmup)
    return Stats(per).add(*batch(0, count))


def interleaved(
    batches: dict[K, Batch], rounds: int, per_round: int, warmup: int, order: Order[K] | None = None
) -> dict[K, Stats]:
    """Warm every series up, then ``rounds`` rounds that each run every series once
    (``per_round`` items), so drift hits them alike; the order rotates (or is ``order(r)``)."""
    keys = list(batches)
    for batch in batches.values():
        batch(-warmup, warmup)
    stats = {key: Stats() for key in keys}
    for r in range(rounds):
        for key in order(r) if order else keys[r % len(keys) :] + keys[: r % len(keys)]:
            stats[key].add(*batches[key](r * per_round, per_round))
    return stats


# -- the catalog -------------------------------------------------------------------------------
def sqlite_catalog(work: Path, name: str = "catalog", blobs: str = "", **kw: Any) -> AssetCatalog:
    """``open_catalog`` on SQLite ``work/name.db``, blobs at ``blobs`` or in ``work/name-blobs``."""
    blobs = blobs or f"file://{work}/{name}-blobs"
    return open_catalog(f"sqlite:///{work}/{name}.db", blobs, secret=SECRET, **kw)


def ingest_call(catalog: AssetCatalog, tenant: str) -> Callable[[int], Asset]:
    """``call(i)``: ``ingest_image`` of PNG ``i % 16``, tool call ``c<i>``, in ``conv-<i % 8>``."""
    images = png_pool()
    return lambda i: catalog.ingest_image(
        tenant, images[i % 16], conversation_id=f"conv-{i % 8}", tool_call_id=f"c{i}"
    )


def threaded(catalog: AssetCatalog, threads: int, tenant: str, cpu: list[int]) -> Batch:
    """Batches of ingests split round-robin over ``threads`` threads released by one barrier:
    per-item latencies, wall time to the last item; the process's CPU time per batch to ``cpu``."""
    ingest = timed(ingest_call(catalog, tenant), step=threads)

    def batch(start: int, count: int) -> tuple[list[int], int]:
        barrier = threading.Barrier(threads)

        def worker(k: int) -> list[int]:  # items start + k, start + k + threads, ...
            barrier.wait()
            return ingest(start + k, count - k)[0]

        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(worker, range(threads)))
        wall = time.perf_counter_ns() - t0
        cpu.append(time.process_time_ns() - c0)
        return [ns for part in parts for ns in part], wall

    return batch


class ListQuery:
    """One ``catalog.list`` page of 50; its cursor found by following ``next_cursor``."""

    def __init__(
        self, catalog: AssetCatalog, label: str, tenant: str, page: int, **filters: Any
    ) -> None:
        self.catalog, self.label, self.tenant, self.page = catalog, label, tenant, page
        self.filters, self.cursor = filters, None
        for _ in range(page - 1):
            self.cursor = catalog.list(tenant, limit=50, cursor=self.cursor, **filters).next_cursor
            assert self.cursor is not None, f"{label}: fewer than {page} pages"
        assert len(self()) == 50
        self.stats, self.cpu = Stats(), Stats()  # wall and thread CPU time per call

    def __call__(self) -> tuple[Any, ...]:
        return self.catalog.list(self.tenant, limit=50, cursor=self.cursor, **self.filters).items


def time_queries(queries: Sequence[ListQuery], repeats: int, warmup: int = 10) -> None:
    """Every query ``warmup`` times, then ``repeats`` interleaved timings (order rotating)."""
    for query in queries:
        for _ in range(warmup):
            query()
    for r in range(repeats):
        for query in [*queries[r % len(queries) :], *queries[: r % len(queries)]]:
            c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
            query()
            query.stats.ns.append(time.perf_counter_ns() - t0)
            query.cpu.ns.append(time.thread_time_ns() - c0)


def sql_repository(catalog: AssetCatalog) -> SqlRepository:
    assert isinstance(catalog.repository, SqlRepository)
    return catalog.repository


def count_assets(catalog: AssetCatalog, tenant: str, conversation: str | None = None) -> int:
    """Live assets of ``tenant`` (in ``conversation``), counted in SQL."""
    repository = sql_repository(catalog)
    a = repository.tables.assets
    stmt = select(func.count()).where(a.c.tenant_id == tenant, a.c.deleted_at.is_(None))
    if conversation is not None:
        stmt = stmt.where(a.c.conversation_id == conversation)
    with repository.engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


# -- command line, machine, work directory, report ---------------------------------------------
def options(doc: str) -> argparse.ArgumentParser:
    """The options every script has; scripts add their own."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, about a minute")
    parser.add_argument("--write", metavar="PATH", help="also write the Markdown report to PATH")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser


def in_subprocess(function: Callable[..., dict[str, Any]], *args: object) -> dict[str, Any]:
    """``function(*args)`` in a fresh interpreter (multiprocessing's spawn), its result."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def filesystem_of(path: Path) -> str:
    best, found, real = "", "unknown", str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        device, mount, fstype = line.split()[:3]
        mount = mount.replace("\\040", " ")
        if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, found = mount, f"{fstype} ({device} on {mount})"
    return found


def proc_field(path: str, name: str) -> str:
    lines = Path(path).read_text().splitlines()
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith(name)), "?")


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


class Run(contextlib.ExitStack):
    """One run: options, machine, report; a fresh work directory under ``benchmarks/.work/``
    (removed after the callbacks unless ``--keep``)."""

    def __init__(self, args: argparse.Namespace, name: str) -> None:
        super().__init__()
        self.args, self.quick, self.started = args, bool(args.quick), time.perf_counter()
        self.date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.load_start = load_average()
        python = Path(sys.executable)
        python = python.relative_to(Path.cwd()) if python.is_relative_to(Path.cwd()) else python
        self.command = shlex.join([str(python), *sys.argv])
        WORK_PARENT.mkdir(exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=WORK_PARENT))
        self.cpus = len(os.sched_getaffinity(0))
        memory = int(proc_field("/proc/meminfo", "MemTotal").split()[0]) / 2**20
        cpu = proc_field("/proc/cpuinfo", "model name")
        self.machine = f"{self.cpus} CPUs ({cpu}), {memory:.1f} GiB RAM, {platform.system()} "
        self.machine += platform.release()
        print(f"work directory: {self.work} [{filesystem_of(self.work)}]", flush=True)
        if not args.keep:
            self.callback(shutil.rmtree, self.work, ignore_errors=True)

    def header(self, title: str, dists: Sequence[str] = (), *extra: str) -> list[str]:
        """The page's title and when, how and on what the figures were measured."""
        quick = " (**quick mode**: smaller sizes, not the figures the docs quote)" * self.quick
        minutes = (time.perf_counter() - self.started) / 60
        libs = ("SQLAlchemy", "fsspec", *dists, "asset-catalog")
        libs_text = ", ".join(f"{lib} {importlib.metadata.version(lib)}" for lib in libs)
        return [
            f"# {title}",
            "",
            f"Written by `benchmarks/{Path(sys.argv[0]).name}`; rerun with `make bench`. Figures "
            "depend on the machine and on whatever else it was doing: compare figures within "
            "one run (ratios, interleaved rounds), not across machines.",
            "",
            f"* Date: {self.date} (run took {minutes:.1f} min)",
            f"* Command: `{self.command}`{quick}",
            f"* Machine: {self.machine}",
            f"* Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {libs_text}",
            f"* Work directory filesystem: {filesystem_of(self.work)}",
            f"* Load average (1 / 5 / 15 min): {self.load_start} at start, {load_average()} at end",
            *extra,
            "",
        ]

    def report(self, lines: list[str]) -> None:
        """Print the report; ``--write PATH`` also writes it, keeping the page from KEPT on."""
        text = "\n".join(lines).rstrip("\n") + "\n"
        print("\n" + text)
        if self.args.write:
            path = Path(self.args.write)
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            kept = "\n" + old[old.index(KEPT) :] if KEPT in old else ""
            path.write_text(text + kept, encoding="utf-8")
            print(f"report written to {path}")


def ms(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f} ms"


def page(*blocks: str | list[str]) -> list[str]:
    """Report lines: a string (paragraph, heading) then a blank line; a list (table) as it is."""
    return [line for block in blocks for line in ([block, ""] if isinstance(block, str) else block)]


def table(header: str, rows: Iterable[Sequence[object]], left: int = 1) -> list[str]:
    """A Markdown table of ``"a | b"`` columns (the first ``left`` left-aligned), a blank line."""
    rule = "|".join("---" if i < left else "---:" for i in range(header.count(" | ") + 1))
    body = ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return [f"| {header} |", f"|{rule}|", *body, ""]
