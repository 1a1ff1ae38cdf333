"""Ingest, list and streaming-memory benchmarks for asset_catalog on SQLite + local files.

Run from the project root::

    .venv/bin/python benchmarks/ingest_list.py [--quick] [--write docs/benchmarks.md]

One run measures, in a fresh directory under ``benchmarks/.work/`` (on the project's disk,
never a tmpfs):

1. ``ingest_image`` throughput and latency for 64 KiB PNGs;
2. the raw floor in the same run (stdlib ``sqlite3`` INSERT + COMMIT and a plain file write
   with sha256), alternated with (1) in rounds, and the ratio library / floor;
3. ``list`` latency of page 1 against a deep page in a tenant of 100,000 assets;
4. peak extra memory (tracemalloc and RSS, in a fresh subprocess) while
   ``ingest_container_file`` streams 512 MiB.

Figures are printed; ``--write PATH`` also writes a Markdown report. The exit code is 0 even
when a target is missed: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import random
import shlex
import shutil
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fsspec
import sqlalchemy
from sqlalchemy import insert

from asset_catalog import AssetCatalog, open_catalog

ROOT = Path(__file__).resolve().parent.parent
WORK_PARENT = ROOT / "benchmarks" / ".work"
SECRET = "benchmark-secret-0123456789abcdef"
TENANT = "tenant-bench"
KIB = 1024
MIB = 1024 * 1024
IMAGE_SIZE = 64 * KIB
IMAGE_POOL = 16
WARMUP = 50
ROUNDS = 4
PAGE_SIZE = 50
LIST_REPEATS = 200
LOAD_BATCH = 5_000
MAIN_CONVERSATION = "conv-main"

TARGET_INGEST_RATIO = 0.7
TARGET_LIST_RATIO = 1.2
TARGET_MEMORY_MIB = 8.0


# -- inputs ------------------------------------------------------------------------------------


# The library's SqliteRepository default; the raw series use the same pragmas.
WAL_AUTOCHECKPOINT = 4000


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_of_size(size: int = IMAGE_SIZE, *, width: int = 64, height: int = 64) -> bytes:
    """A valid PNG of exactly ``size`` bytes: signature, IHDR, a private ancillary ``raNd``
    chunk of random (incompressible) bytes, IDAT, IEND; every CRC correct."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    idat = _png_chunk(b"IDAT", zlib.compress((b"\x00" + b"\x00" * width) * height))
    iend = _png_chunk(b"IEND", b"")
    signature = b"\x89PNG\r\n\x1a\n"
    padding = size - len(signature) - len(ihdr) - len(idat) - len(iend) - 12
    if padding < 0:
        raise ValueError(f"a PNG of {width}x{height} does not fit in {size} bytes")
    data = signature + ihdr + _png_chunk(b"raNd", os.urandom(padding)) + idat + iend
    assert len(data) == size
    return data


def uuid7_at(when: dt.datetime) -> str:
    """A UUIDv7 string whose timestamp is ``when`` (like the library's ids, but for any time)."""
    millis = int(when.timestamp() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62 | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


# -- statistics --------------------------------------------------------------------------------


def percentile(sorted_values: list[int], fraction: float) -> int:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[int(rank) - 1]


def summarize(latencies_ns: list[int], wall_ns: int) -> dict[str, float]:
    ordered = sorted(latencies_ns)
    return {
        "items": len(ordered),
        "items_per_s": len(ordered) / (wall_ns / 1e9),
        "p50_ms": percentile(ordered, 0.50) / 1e6,
        "p99_ms": percentile(ordered, 0.99) / 1e6,
    }


# -- 1 + 2: ingest against the raw floor -------------------------------------------------------


class RawFloor:
    """What one ingest cannot avoid: a sha256, one file write into a per-day directory (made
    once) and one INSERT + COMMIT in stdlib sqlite3 with the library's pragmas."""

    def __init__(self, work: Path) -> None:
        self.conn = sqlite3.connect(work / "floor.db", isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=10000")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        # The columns of agent_assets, with its primary key and keyset index.
        self.conn.execute(
            """CREATE TABLE floor_assets (
                id VARCHAR(36) PRIMARY KEY, tenant_id VARCHAR(255) NOT NULL,
                storage_key VARCHAR(1024) NOT NULL, asset_type VARCHAR(16) NOT NULL,
                source_tool VARCHAR(32) NOT NULL, conversation_id VARCHAR(255),
                tool_call_id VARCHAR(255), filename VARCHAR(1024) NOT NULL,
                mime_type VARCHAR(255) NOT NULL, size_bytes BIGINT NOT NULL,
                sha256 VARCHAR(64) NOT NULL, width INTEGER, height INTEGER,
                metadata JSON NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"""
        )
        self.conn.execute(
            "CREATE INDEX ix_floor_tenant_created ON floor_assets (tenant_id, created_at, id)"
        )
        now = dt.datetime.now(dt.UTC)
        self.day_dir = work / "floor-blobs" / "tbench" / f"{now:%Y}" / f"{now:%m}" / f"{now:%d}"
        self.day_dir.mkdir(parents=True)

    def ingest(self, data: bytes, tool_call_id: str, conversation_id: str) -> None:
        item_id = str(uuid.uuid4())
        digest = hashlib.sha256(data).hexdigest()
        path = self.day_dir / f"{item_id}.png"
        with open(path, "wb") as handle:
            handle.write(data)
        micros = time.time_ns() // 1000
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "INSERT INTO floor_assets VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                item_id,
                TENANT,
                str(path),
                "image",
                "image_generation",
                conversation_id,
                tool_call_id,
                f"image-{item_id[:13]}.png",
                "image/png",
                len(data),
                digest,
                64,
                64,
                '{"format": "png"}',
                micros,
                micros,
            ),
        )
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class ProtocolFloor:
    NAME = "protocol"
    """The library's own SQL protocol replayed in stdlib sqlite3, on the library's schema
    (every table and index ``create_schema`` makes): the idempotency SELECT, the pending row
    (commit 1), sha256 + file write, then UPDATE object + INSERT asset + INSERT event
    (commit 2). Not a target: it separates the cost of the schema and protocol from the cost
    of the Python layers above them."""

    def __init__(self, work: Path) -> None:
        catalog = open_catalog(
            f"sqlite:///{work / f'{self.NAME}.db'}",
            f"file://{work / f'{self.NAME}-blobs'}",
            secret=SECRET,
        )
        repository: Any = catalog.repository
        tables = repository.tables
        catalog.close()
        self.conn = sqlite3.connect(work / f"{self.NAME}.db", isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")
        objects, assets, events = tables.objects, tables.assets, tables.events
        self.columns = {t.name: [c.name for c in t.columns] for t in (objects, assets, events)}
        self.insert = {name: _insert_sql(name, cols) for name, cols in self.columns.items()}
        self.objects, self.assets, self.events = objects.name, assets.name, events.name
        self.find = (
            f"SELECT * FROM {assets.name} WHERE tenant_id = ? AND idempotency_key = ? "
            "AND deleted_at IS NULL"
        )
        self.complete = (
            f"UPDATE {objects.name} SET status = 'stored', size_bytes = ?, sha256 = ? "
            "WHERE id = ? AND status = 'pending'"
        )
        now = dt.datetime.now(dt.UTC)
        self.day_dir = work / f"{self.NAME}-blobs" / "tbench" / f"{now:%Y/%m/%d}"
        self.day_dir.mkdir(parents=True)

    def _row(self, table: str, **values: Any) -> dict[str, Any]:
        return {name: values.get(name) for name in self.columns[table]}

    def ingest(self, data: bytes, tool_call_id: str, conversation_id: str) -> None:
        key = f"image_generation:{tool_call_id}"
        self.conn.execute(self.find, (TENANT, key)).fetchone()
        object_id = str(uuid.uuid4())
        micros = time.time_ns() // 1000
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(self.insert[self.objects], self._object(object_id, micros, "pending"))
        self.conn.execute("COMMIT")
        digest = hashlib.sha256(data).hexdigest()
        with open(self.day_dir / f"{object_id}.png", "wb") as handle:
            handle.write(data)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(self.complete, (len(data), digest, object_id))
        self._publish(data, digest, object_id, micros, key, tool_call_id, conversation_id)
        self.conn.execute("COMMIT")

    def _object(self, object_id: str, micros: int, status: str, **extra: Any) -> dict[str, Any]:
        return self._row(
            self.objects,
            id=object_id,
            tenant_id=TENANT,
            key=f"tbench/{object_id}.png",
            filename=f"image-{object_id[:13]}.png",
            mime_type="image/png",
            status=status,
            created_at=micros,
            metadata="{}",
            **extra,
        )

    def _publish(
        self,
        data: bytes,
        digest: str,
        object_id: str,
        micros: int,
        key: str,
        tool_call_id: str,
        conversation_id: str,
    ) -> None:
        asset_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.conn.execute(
            self.insert[self.assets],
            self._row(
                self.assets,
                id=asset_id,
                tenant_id=TENANT,
                storage_object_id=object_id,
                asset_type="image",
                source_tool="image_generation",
                conversation_id=conversation_id,
                tool_call_id=tool_call_id,
                filename=f"image-{object_id[:13]}.png",
                mime_type="image/png",
                size_bytes=len(data),
                sha256=digest,
                width=64,
                height=64,
                metadata='{"format": "png"}',
                idempotency_key=key,
                created_at=micros,
                updated_at=micros,
            ),
        )
        self.conn.execute(
            self.insert[self.events],
            self._row(
                self.events,
                id=event_id,
                tenant_id=TENANT,
                asset_id=asset_id,
                event="created",
                at=micros,
                details=json.dumps({"size_bytes": len(data), "sha256": digest}),
            ),
        )

    def close(self) -> None:
        self.conn.close()


class OneCommitProtocol(ProtocolFloor):
    """DESIGN section 6's alternative, replayed the same way: no pending row; the blob is
    written first and one transaction inserts the stored object, the asset and its event.
    Measured to decide the open choice (see docs/concepts.md), not used by the library."""

    NAME = "one-commit"

    def ingest(self, data: bytes, tool_call_id: str, conversation_id: str) -> None:
        key = f"image_generation:{tool_call_id}"
        self.conn.execute(self.find, (TENANT, key)).fetchone()
        object_id = str(uuid.uuid4())
        micros = time.time_ns() // 1000
        digest = hashlib.sha256(data).hexdigest()
        with open(self.day_dir / f"{object_id}.png", "wb") as handle:
            handle.write(data)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            self.insert[self.objects],
            self._object(object_id, micros, "stored", size_bytes=len(data), sha256=digest),
        )
        self._publish(data, digest, object_id, micros, key, tool_call_id, conversation_id)
        self.conn.execute("COMMIT")


def _insert_sql(table: str, columns: list[str]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    params = ", ".join(f":{c}" for c in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({params})"


def _timed_batch(
    run_one: Callable[[bytes, str, str], Any], images: list[bytes], start: int, count: int, tag: str
) -> tuple[list[int], int]:
    latencies: list[int] = []
    clock = time.perf_counter_ns
    wall_start = clock()
    for i in range(start, start + count):
        data = images[i % len(images)]
        t0 = clock()
        run_one(data, f"{tag}-call-{i}", f"conv-{i % 8}")
        latencies.append(clock() - t0)
    return latencies, clock() - wall_start


PHASES = (
    ("repository", "find_by_idempotency_key", "idempotency lookup (read)"),
    ("repository", "add_pending_object", "pending row (commit 1)"),
    ("storage", "write", "blob write + sha256 (fsspec)"),
    ("repository", "complete_ingest", "stored + asset + event (commit 2)"),
)


def _phase_breakdown(
    catalog: AssetCatalog, images: list[bytes], count: int
) -> list[tuple[str, float]]:
    """Mean time per ingest in each collaborator call, by wrapping the catalog's repository
    and storage methods. A separate diagnostic pass, after (and not part of) the timed
    rounds."""
    spent: dict[str, int] = {label: 0 for _, _, label in PHASES}
    owners = {"repository": catalog.repository, "storage": catalog.storage}
    clock = time.perf_counter_ns

    def timed(method: Callable[..., Any], label: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return method(*args, **kwargs)
            finally:
                spent[label] += clock() - t0

        return wrapper

    for owner, name, label in PHASES:
        setattr(owners[owner], name, timed(getattr(owners[owner], name), label))
    try:
        latencies, _ = _timed_batch(
            lambda data, call, conv: catalog.ingest_image(
                TENANT, data, tool_call_id=call, conversation_id=conv
            ),
            images,
            0,
            count,
            "phase",
        )
    finally:
        for owner, name, _ in PHASES:
            delattr(owners[owner], name)
    total = sum(latencies)
    rows = [(label, spent[label] / count / 1e6) for _, _, label in PHASES]
    rest = (total - sum(spent.values())) / count / 1e6
    return [
        *rows,
        ("facade (validation, sniff, ids, models)", rest),
        ("total", total / count / 1e6),
    ]


def bench_ingest(work: Path, items: int) -> dict[str, Any]:
    images = [png_of_size() for _ in range(IMAGE_POOL)]
    catalog = open_catalog(
        f"sqlite:///{work / 'ingest.db'}", f"file://{work / 'ingest-blobs'}", secret=SECRET
    )
    floor = RawFloor(work)
    protocol = ProtocolFloor(work)
    one_commit = OneCommitProtocol(work)

    def library(data: bytes, tool_call_id: str, conversation_id: str) -> None:
        catalog.ingest_image(
            TENANT, data, tool_call_id=tool_call_id, conversation_id=conversation_id
        )

    series: dict[str, Callable[[bytes, str, str], Any]] = {
        "library": library,
        "floor": floor.ingest,
        "protocol": protocol.ingest,
        "one_commit": one_commit.ingest,
    }
    per_round = items // ROUNDS
    latencies: dict[str, list[int]] = {name: [] for name in series}
    walls = dict.fromkeys(series, 0)
    ratios: list[float] = []
    protocol_ratios: list[float] = []
    one_commit_ratios: list[float] = []
    try:
        for name, run_one in series.items():
            _timed_batch(run_one, images, 0, WARMUP, f"warm-{name}")
        names = list(series)
        for r in range(ROUNDS):
            rates: dict[str, float] = {}
            for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
                lat, wall = _timed_batch(series[name], images, r * per_round, per_round, name)
                latencies[name] += lat
                walls[name] += wall
                rates[name] = per_round / (wall / 1e9)
            ratios.append(rates["library"] / rates["floor"])
            protocol_ratios.append(rates["protocol"] / rates["floor"])
            one_commit_ratios.append(rates["one_commit"] / rates["floor"])
        # Sanity: every library ingest is listed (warm-up included).
        total = 0
        page = catalog.list(TENANT, limit=500)
        while True:
            total += len(page.items)
            if page.next_cursor is None:
                break
            page = catalog.list(TENANT, limit=500, cursor=page.next_cursor)
        assert total == WARMUP + per_round * ROUNDS, total
        phases = _phase_breakdown(catalog, images, min(per_round, 500))
    finally:
        catalog.close()
        floor.close()
        protocol.close()
        one_commit.close()
    return {
        "items": per_round * ROUNDS,
        "rounds": ROUNDS,
        "image_bytes": IMAGE_SIZE,
        **{name: summarize(latencies[name], walls[name]) for name in series},
        "round_ratios": ratios,
        "ratio": statistics.median(ratios),
        "protocol_ratio": statistics.median(protocol_ratios),
        "one_commit_ratio": statistics.median(one_commit_ratios),
        "phases": phases,
    }


# -- 3: list page 1 against a deep page --------------------------------------------------------


def _bulk_load(catalog: AssetCatalog, rows: int) -> None:
    """Insert ``rows`` stored objects and live assets of one tenant through SQLAlchemy Core."""
    repository: Any = catalog.repository
    tables, engine = repository.tables, repository.engine
    rng = random.Random(20240601)
    newest = dt.datetime.now(dt.UTC).replace(microsecond=0)
    conversations = [MAIN_CONVERSATION] * 6 + [f"conv-{k}" for k in range(4)]
    kinds = [("image", "image_generation", "image/png", "png")] * 8 + [
        ("file", "code_interpreter", "text/csv", "csv"),
        ("file", "code_interpreter", "application/pdf", "pdf"),
    ]
    # Oldest first, 1.5 s apart plus jitter below the step: created_at values are distinct.
    start = newest - dt.timedelta(seconds=1.5 * rows)
    with engine.begin() as conn:
        for base in range(0, rows, LOAD_BATCH):
            objects: list[dict[str, Any]] = []
            assets: list[dict[str, Any]] = []
            for i in range(base, min(base + LOAD_BATCH, rows)):
                created = start + dt.timedelta(
                    microseconds=1_500_000 * i + rng.randrange(1_000_000)
                )
                asset_type, tool, mime, ext = rng.choice(kinds)
                object_id, asset_id = uuid7_at(created), uuid7_at(created)
                digest = hashlib.sha256(object_id.encode()).hexdigest()
                name = f"{asset_type}-{i}.{ext}"
                size = rng.randrange(10_000, 2_000_000)
                objects.append(
                    {
                        "id": object_id,
                        "tenant_id": TENANT,
                        "key": f"tbench/{created:%Y/%m/%d}/{object_id}.{ext}",
                        "filename": name,
                        "mime_type": mime,
                        "size_bytes": size,
                        "sha256": digest,
                        "status": "stored",
                        "created_at": created,
                        "deleted_at": None,
                        "metadata": {},
                    }
                )
                image = asset_type == "image"
                assets.append(
                    {
                        "id": asset_id,
                        "tenant_id": TENANT,
                        "storage_object_id": object_id,
                        "asset_type": asset_type,
                        "source_tool": tool,
                        "conversation_id": conversations[i % len(conversations)],
                        "message_id": f"msg-{i // 3}",
                        "tool_call_id": f"call-{i}",
                        "response_id": f"resp-{i // 3}",
                        "container_id": None if image else "cntr-1",
                        "openai_file_id": None if image else f"file-{i}",
                        "agent_key": "agent-a" if i % 3 else "agent-b",
                        "user_id": "user-1",
                        "filename": name,
                        "mime_type": mime,
                        "size_bytes": size,
                        "sha256": digest,
                        "width": 1024 if image else None,
                        "height": 1024 if image else None,
                        "metadata": {"format": ext, "quality": "high"} if image else {},
                        "idempotency_key": (
                            f"image_generation:call-{i}"
                            if image
                            else f"code_interpreter:6:cntr-1:file-{i}"
                        ),
                        "created_at": created,
                        "updated_at": created,
                        "deleted_at": None,
                    }
                )
            conn.execute(insert(tables.objects), objects)
            conn.execute(insert(tables.assets), assets)


def _page_timings(catalog: AssetCatalog, page: int, repeats: int, **filters: Any) -> dict[str, Any]:
    cursor = None
    for _ in range(page - 1):
        cursor = catalog.list(TENANT, limit=PAGE_SIZE, cursor=cursor, **filters).next_cursor
        assert cursor is not None, "not enough rows for the deep page"
    first = catalog.list(TENANT, limit=PAGE_SIZE, **filters)
    deep = catalog.list(TENANT, limit=PAGE_SIZE, cursor=cursor, **filters)
    assert len(first.items) == len(deep.items) == PAGE_SIZE
    assert deep.items[0].created_at < first.items[-1].created_at
    clock = time.perf_counter_ns
    first_ns: list[int] = []
    deep_ns: list[int] = []
    for _ in range(repeats):  # interleaved, so drift hits both alike
        t0 = clock()
        catalog.list(TENANT, limit=PAGE_SIZE, **filters)
        t1 = clock()
        catalog.list(TENANT, limit=PAGE_SIZE, cursor=cursor, **filters)
        t2 = clock()
        first_ns.append(t1 - t0)
        deep_ns.append(t2 - t1)
    p1, pn = statistics.median(first_ns), statistics.median(deep_ns)
    return {
        "page": page,
        "page1_ms": p1 / 1e6,
        "deep_ms": pn / 1e6,
        "page1_p99_ms": percentile(sorted(first_ns), 0.99) / 1e6,
        "deep_p99_ms": percentile(sorted(deep_ns), 0.99) / 1e6,
        "ratio": pn / p1,
    }


def bench_list(work: Path, rows: int, page: int) -> dict[str, Any]:
    catalog = open_catalog(
        f"sqlite:///{work / 'list.db'}", f"file://{work / 'list-blobs'}", secret=SECRET
    )
    try:
        t0 = time.perf_counter()
        _bulk_load(catalog, rows)
        load_s = time.perf_counter() - t0
        unfiltered = _page_timings(catalog, page, LIST_REPEATS)
        matching = rows * 6 // 10
        conv_page = min(page, matching // PAGE_SIZE)
        by_conversation = _page_timings(
            catalog, conv_page, LIST_REPEATS, conversation_id=MAIN_CONVERSATION
        )
    finally:
        catalog.close()
    return {
        "rows": rows,
        "load_s": load_s,
        "unfiltered": unfiltered,
        "conversation": {**by_conversation, "matching": matching},
    }


# -- 4: memory while streaming a large container file (in a fresh subprocess) ------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def memory_child(work: Path, mib: int) -> dict[str, Any]:
    catalog = open_catalog(
        f"sqlite:///{work / 'memory.db'}", f"file://{work / 'memory-blobs'}", secret=SECRET
    )
    block = os.urandom(MIB)

    def chunks(count: int) -> Iterator[bytes]:
        for _ in range(count):
            yield block

    # Warm up every code path (imports, pools, caches) with a small ingest first.
    catalog.ingest_container_file(
        TENANT, os.urandom(64 * KIB), container_id="cntr", file_id="warm", filename="warm.bin"
    )
    gc.collect()
    reset = _reset_peak_rss()
    rss_before, hwm_before = _status_kib("VmRSS"), _status_kib("VmHWM")
    t0 = time.perf_counter()
    asset = catalog.ingest_container_file(
        TENANT, chunks(mib), container_id="cntr", file_id="big-rss", filename="big.bin"
    )
    seconds = time.perf_counter() - t0
    hwm_after = _status_kib("VmHWM")
    assert asset.size_bytes == mib * MIB
    gc.collect()
    tracemalloc.start()
    asset = catalog.ingest_container_file(
        TENANT, chunks(mib), container_id="cntr", file_id="big-traced", filename="big.bin"
    )
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert asset.size_bytes == mib * MIB
    catalog.close()
    return {
        "mib": mib,
        "seconds": seconds,
        "mib_per_s": mib / seconds,
        "hwm_reset": reset,
        "rss_before_mib": rss_before / KIB,
        "rss_growth_mib": (hwm_after - max(hwm_before, rss_before)) / KIB,
        "traced_peak_mib": traced_peak / MIB,
    }


def bench_memory(work: Path, mib: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(mib), "--work-dir", str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory subprocess failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- environment and report --------------------------------------------------------------------


def filesystem_of(path: Path) -> str:
    best, fstype, device = "", "unknown", ""
    real = str(path.resolve())
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1].replace("\\040", " ")
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype, device = mount, fields[2], fields[0]
    return f"{fstype} ({device} on {best})"


def machine_info(work: Path) -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "fsspec": fsspec.__version__,
        "load": load_average(),
        "filesystem": filesystem_of(work),
    }


def load_average() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def command_line() -> str:
    python = Path(sys.executable)
    try:
        shown = str(python.relative_to(Path.cwd()))
    except ValueError:
        shown = str(python)
    return shlex.join([shown, *sys.argv])


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def targets(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    ingest = results["ingest"]["ratio"]
    listing = results["list"]["unfiltered"]
    memory = results["memory"]
    worst = max(memory["traced_peak_mib"], memory["rss_growth_mib"])
    return [
        (
            "ingest throughput, library / raw floor",
            f">= {TARGET_INGEST_RATIO}",
            f"{ingest:.2f}",
            ingest >= TARGET_INGEST_RATIO,
        ),
        (
            f"list latency, page {listing['page']} / page 1",
            f"<= {TARGET_LIST_RATIO}",
            f"{listing['ratio']:.2f}",
            listing["ratio"] <= TARGET_LIST_RATIO,
        ),
        (
            f"peak extra memory, {memory['mib']} MiB stream (max of traced, RSS)",
            f"< {TARGET_MEMORY_MIB:g} MiB",
            f"{worst:.2f} MiB",
            worst < TARGET_MEMORY_MIB,
        ),
    ]


def print_summary(results: dict[str, Any]) -> None:
    ing, lst, mem = results["ingest"], results["list"], results["memory"]
    print()
    print(f"== ingest_image, {ing['items']} x 64 KiB PNG ({ing['rounds']} alternating rounds)")
    for name, label in SERIES.items():
        s = ing[name]
        print(
            f"  {label:38} {s['items_per_s']:8.1f} items/s   "
            f"p50 {s['p50_ms']:7.3f} ms   p99 {s['p99_ms']:7.3f} ms"
        )
    rounds = ", ".join(f"{r:.2f}" for r in ing["round_ratios"])
    print(f"  ratio library/floor per round: {rounds}; median {ing['ratio']:.2f}")
    print(f"  ratio protocol/floor (not a target): {ing['protocol_ratio']:.2f}")
    print(f"  ratio one-commit protocol/floor (not a target): {ing['one_commit_ratio']:.2f}")
    print("  where one library ingest spends its time (mean, separate pass):")
    for label, ms in ing["phases"]:
        print(f"    {label:42} {ms:7.3f} ms")
    print(f"== list, {lst['rows']:,} assets in one tenant (bulk load {lst['load_s']:.1f} s)")
    for label, key in (("no filter", "unfiltered"), ("conversation_id", "conversation")):
        q = lst[key]
        print(
            f"  {label:16} page 1 {q['page1_ms']:7.3f} ms   page {q['page']} "
            f"{q['deep_ms']:7.3f} ms   ratio {q['ratio']:.2f}"
        )
    rate = f"{mem['mib_per_s']:.0f} MiB/s"
    print(f"== ingest_container_file, {mem['mib']} MiB in 1 MiB chunks ({rate})")
    print(
        f"  tracemalloc peak {mem['traced_peak_mib']:.2f} MiB   "
        f"RSS growth {mem['rss_growth_mib']:.2f} MiB (peak reset: {mem['hwm_reset']})"
    )
    print("== targets")
    for name, target, value, ok in targets(results):
        print(f"  {verdict(ok):4}  {name}: {value} (target {target})")
    failed = [name for name, _, _, ok in targets(results) if not ok]
    if failed:
        print(f"\nFAIL: {len(failed)} target(s) missed: {'; '.join(failed)}")


SERIES = {
    "library": "catalog.ingest_image",
    "floor": "raw floor (sqlite3 + file write)",
    "protocol": "library's SQL protocol in raw sqlite3",
    "one_commit": "one-commit protocol in raw sqlite3",
}


def markdown(results: dict[str, Any]) -> str:
    ing, lst, mem, env = results["ingest"], results["list"], results["memory"], results["env"]
    unf, conv = lst["unfiltered"], lst["conversation"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/ingest_list.py`; rerun with `make bench`. Figures depend on the",
        "machine and on whatever else it was doing; compare ratios, not absolute numbers.",
        "",
        f"* Date: {results['date']}",
        f"* Command: `{results['command']}`{' (quick mode)' if results['quick'] else ''}",
        f"* Machine: {env['nproc']} CPUs ({env['cpu']}), {env['kernel']}",
        f"* Python {env['python']}, SQLite {env['sqlite']}, SQLAlchemy {env['sqlalchemy']}, "
        f"fsspec {env['fsspec']}",
        f"* Work directory filesystem: {env['filesystem']}",
        f"* Load average (1 min) at start / end: {env['load']} / {results['load_end']}",
        "",
        "## Targets",
        "",
        "| measure | target | measured | result |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {t} | {v} | **{verdict(ok)}** |" for n, t, v, ok in targets(results)]
    lines += [
        "",
        f"## Ingest: {ing['items']} images of 64 KiB (PNG), SQLite + local files",
        "",
        "| series | items/s | p50 latency | p99 latency |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {SERIES[name]} | {ing[name]['items_per_s']:.1f} | {ing[name]['p50_ms']:.3f} ms "
        f"| {ing[name]['p99_ms']:.3f} ms |"
        for name in SERIES
    ]
    lines += [
        "",
        "Library / floor throughput per round: "
        + ", ".join(f"{r:.2f}" for r in ing["round_ratios"])
        + f"; median **{ing['ratio']:.2f}**.",
        "",
        "Reading the series: the library's own statements replayed in raw sqlite3 (no Python "
        f"layers at all) reach {ing['protocol_ratio']:.2f} of the floor, and DESIGN section "
        "6's one-commit alternative (no pending row) replayed the same way reaches "
        f"{ing['one_commit_ratio']:.2f}. The floor writes one row with one index; the "
        "catalog's data model writes three rows (object, asset, audit event) and keeps the "
        "indexes every list filter needs, an idempotency index and the pending row that lets "
        "`reconcile()` find crash leftovers by query. When creating the file dominates (a slow "
        "disk) those rows are small change and the ratio rises; when the disk is fast, the "
        "rows dominate and no Python-side change can reach 0.7 (the protocol series is the "
        "ceiling for this schema). See the analysis below.",
        "",
        "Where one library ingest spends its time (mean per item, a separate pass after the "
        "timed rounds, wrapping the repository and storage calls):",
        "",
        "| phase | mean |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {ms:.3f} ms |" for label, ms in ing["phases"]]
    lines += [
        "",
        f"## List: {lst['rows']:,} assets in one tenant, {PAGE_SIZE} per page",
        "",
        "| query | page 1 (median) | deep page (median) | page 1 p99 | deep p99 | deep / page 1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, q in (
        ("no filter", unf),
        (f"`conversation_id` ({q_match(conv)} matching)", conv),
    ):
        lines.append(
            f"| {label}, page {q['page']} | {q['page1_ms']:.3f} ms | {q['deep_ms']:.3f} ms | "
            f"{q['page1_p99_ms']:.3f} ms | {q['deep_p99_ms']:.3f} ms | {q['ratio']:.2f} |"
        )
    lines += [
        "",
        f"Bulk load of the rows (SQLAlchemy Core executemany): {lst['load_s']:.1f} s.",
        "The conversation filter is reported, not a target.",
        "",
        f"## Memory: `ingest_container_file` of a {mem['mib']} MiB stream in 1 MiB chunks",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| tracemalloc peak during the call | {mem['traced_peak_mib']:.2f} MiB |",
        f"| RSS growth (VmHWM after - before) | {mem['rss_growth_mib']:.2f} MiB |",
        f"| RSS before the call | {mem['rss_before_mib']:.1f} MiB |",
        f"| throughput | {mem['mib_per_s']:.0f} MiB/s |",
        "",
        "## How measured",
        "",
        "* Everything runs in a fresh directory under `benchmarks/.work/` on the project's disk "
        "(not a tmpfs), removed afterwards.",
        f"* **Ingest**: `open_catalog('sqlite:///…', 'file://…', secret=…)`, then "
        f"`ingest_image(tenant, png, tool_call_id=<unique>, conversation_id=…)` with valid "
        f"PNGs of exactly 64 KiB (signature, IHDR, a private `raNd` chunk of random bytes, "
        f"IDAT, IEND; a pool of {IMAGE_POOL} distinct images). {WARMUP} warm-up items each, "
        f"then {ing['rounds']} rounds of {ing['items'] // ing['rounds']} items per series. "
        "Latency per item with "
        "`time.perf_counter_ns`; items/s over the rounds' wall time.",
        "* **Raw floor**: stdlib `sqlite3` with the library's pragmas (WAL, "
        "`synchronous=NORMAL`, busy timeout, foreign keys), one `BEGIN IMMEDIATE` + INSERT "
        "+ COMMIT per item into a table with `agent_assets`' columns, primary key and keyset "
        "index; plus sha256 of the bytes and `open(path, 'wb').write(data)` into one per-day "
        "directory created once. The ratio is the median over rounds of "
        "(library items/s) / (floor items/s).",
        "* **Protocol series** (diagnostic): the library's own statements (idempotency SELECT; "
        "pending INSERT + COMMIT; sha256 + file write; UPDATE + INSERT asset + INSERT event "
        "+ COMMIT) in stdlib sqlite3 on the schema `create_schema` builds, alternated in the "
        "same rounds. The three series rotate which goes first in each round.",
        f"* **List**: {lst['rows']:,} stored objects and live assets of one tenant, bulk-loaded "
        "through SQLAlchemy Core into the repository's own tables in executemany batches of "
        f"{LOAD_BATCH:,} (distinct `created_at` 1.5 s apart with jitter, UUIDv7 ids, 60% in "
        "one conversation, 80% images / 20% files, no ANALYZE). The deep page's cursor is "
        "collected by following `next_cursor` once; then `catalog.list(tenant, limit=50)` "
        f"and `catalog.list(tenant, limit=50, cursor=deep)` are timed interleaved, "
        f"{LIST_REPEATS} times each; medians.",
        "* **One-commit series** (diagnostic): as the protocol series but without the "
        "pending row: sha256 + file write, then INSERT stored object + INSERT asset + INSERT "
        "event + COMMIT.",
        "* **Memory**: a fresh subprocess opens a catalog, warms up with one 64 KiB ingest, "
        "resets the peak RSS (`/proc/self/clear_refs` = 5), then ingests a generator that "
        f"yields one reused random 1 MiB block {mem['mib']} times; RSS growth is VmHWM after "
        "the call minus RSS before. A second ingest of the same stream runs under "
        "`tracemalloc` (started just before the call) for the peak of traced allocations.",
        "",
        "## Analysis: the ingest target",
        "",
        "(Written with the figures of the runs of 2026-11-25.) The issue's 0.7 target "
        "assumes that creating the file dominates an ingest. On this "
        "machine that depends on the moment: the same floor measured between 0.2 ms and 2 ms "
        "per item within one hour (other workloads share the disk). When the file write is "
        "slow the library reached 0.51-0.59 of the floor; when it is fast the ratio falls to "
        "0.2-0.3, because then the database rows dominate, and the floor writes one row with "
        "one index while an ingest must write three rows (storage object, asset, audit event) "
        "with the keyset indexes every list filter needs, the idempotency index, and the "
        "pending row of DESIGN section 4.",
        "",
        "What was done to close the gap (each measured with this script): the ingest path's "
        "fixed statements are compiled once from the SQLAlchemy Core tables and executed on "
        "the driver cursor (3.5 ms to 1.2 ms of CPU per item); local files are written with "
        "the built-in `open` rather than fsspec's wrapper; every SQLite table is WITHOUT "
        "ROWID (one b-tree fewer per row); indexes no query uses were dropped; "
        "`wal_autocheckpoint` is 4000 pages, so the checkpoint's fsync is paid a quarter as "
        "often (p99 went from ~20 ms to ~5 ms). The protocol series shows the ceiling of "
        "this schema without any Python; the library sits below it by the cost of its "
        "validation, sniffing and bookkeeping (about 0.2 ms per item).",
        "",
        "The open choice of DESIGN section 6 (one durable commit instead of the pending row) "
        "is measured by the one-commit series: it gains one commit per item, but it can only "
        "find crash leftovers by listing recent storage prefixes, and it cannot refuse to "
        "publish a blob that `reconcile()` already removed except by a clock-based rule. "
        "The catalog keeps the pending row (see docs/concepts.md).",
        "",
    ]
    return "\n".join(lines)


def q_match(conv: dict[str, Any]) -> str:
    return f"{conv['matching']:,}"


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--write", metavar="PATH", help="write a Markdown report to PATH")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--items", type=int, help="ingest items (default 2000, quick 300)")
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--work-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child is not None:
        print(json.dumps(memory_child(args.work_dir, args.memory_child)))
        return 0

    items = args.items or (300 if args.quick else 2000)
    rows, page = (20_000, 200) if args.quick else (100_000, 1000)
    stream_mib = 64 if args.quick else 512

    WORK_PARENT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=WORK_PARENT))
    print(f"work directory: {work} [{filesystem_of(work)}]")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(),
        "quick": args.quick,
        "env": machine_info(work),
    }
    try:
        print(f"ingest: {items} items + {WARMUP} warm-up, library and floor ...", flush=True)
        results["ingest"] = bench_ingest(work, items)
        print(f"list: loading {rows:,} rows, timing page 1 and page {page} ...", flush=True)
        results["list"] = bench_list(work, rows, page)
        print(f"memory: streaming {stream_mib} MiB in a subprocess ...", flush=True)
        results["memory"] = bench_memory(work, stream_mib)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["load_end"] = load_average()
    print_summary(results)
    if args.write:
        Path(args.write).write_text(markdown(results), encoding="utf-8")
        print(f"\nreport written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
