"""verify() and purge() on 100,000 assets, and what durable=True costs; figures for
docs/benchmarks-reliability.md. Each ``verify()`` runs in a fresh subprocess, on the healthy
catalog and after planting damage; exits 1 unless it reports exactly the planted damage."""

from __future__ import annotations

import datetime as dt
import resource
import time
import tracemalloc
from pathlib import Path
from typing import Any

import harness as h

from asset_catalog import AssetCatalog, FindingKind

TENANTS, DAMAGE = 20, 25  # damage: of each kind
VERIFY_COLUMNS = (
    "run | findings | objects | blobs | wall s | objects/s | traced peak MiB | RSS growth MiB"
)
RUNS = {
    "healthy": ("healthy, checksums on", True),
    "sizes": ("healthy, checksums off (sizes only)", False),
    "damaged": ("after planted damage, checksums on", True),
}


def build(work: Path, assets: int) -> dict[str, float]:
    """``assets`` small CSV files over TENANTS tenants and 1,000 conversations."""
    catalog, start, total = h.sqlite_catalog(work), time.perf_counter(), 0
    for i in range(assets):
        content = f"id,{i}\nvalue,{i * 7919}\n".encode() * 8
        total += len(content)
        where: dict[str, Any] = {"container_id": "c", "file_id": f"f{i}", "filename": "r.csv"}
        where["conversation_id"] = f"conv-{i % 1000}"
        catalog.ingest_container_file(f"tenant-{i % TENANTS}", content, **where)
        if i and i % 10_000 == 0:
            print(f"  ingested {i:,} ({i / (time.perf_counter() - start):.0f}/s)", flush=True)
    catalog.close()
    return {"seconds": time.perf_counter() - start, "mean_bytes": total / assets}


def verify_child(work: Path, checksums: bool, trace: bool) -> dict[str, Any]:
    """In a fresh process: one ``verify()``, timed, or traced for its peak memory."""
    catalog, base_rss = h.sqlite_catalog(work), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    report = catalog.verify(checksums=checksums)
    seconds, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]
    catalog.close()
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024
    counts = {str(kind): n for kind, n in report.counts.items() if n}
    figures = {"seconds": seconds, "objects": report.objects_checked, "counts": counts}
    return figures | {"blobs": report.blobs_checked, "traced": peak / 2**20, "rss": growth}


def plant_damage(work: Path) -> dict[str, int]:
    """Damage the catalog behind its back, DAMAGE times per kind."""
    catalog = h.sqlite_catalog(work)
    storage = catalog.storage
    keys = [key for _, key in zip(range(3 * DAMAGE), storage.iter_keys(), strict=False)]
    for key in keys[:DAMAGE]:
        storage.delete(key)
    for n, key in enumerate(keys[DAMAGE:]):
        with storage.open(key) as stream:
            data = stream.read()
        storage.write(key, [data[:-1] if n < DAMAGE else bytes([data[0] ^ 1]) + data[1:]])
    for n in range(DAMAGE):
        storage.write(f"stray/{n:04d}.bin", [b"left by someone else"])
    catalog.close()
    kinds = ("MISSING_BLOB", "SIZE_MISMATCH", "CHECKSUM_MISMATCH", "ORPHAN_BLOB")
    return {str(FindingKind[kind]): DAMAGE for kind in kinds}


def measure_purge(work: Path) -> dict[str, Any]:
    catalog, now = h.sqlite_catalog(work), dt.datetime.now(dt.UTC)
    catalog.clock = lambda: now
    start = time.perf_counter()
    # Conversation c only has assets of tenant c % TENANTS: 100 of them hold 10% of the assets.
    conversations = [(f"tenant-{c % TENANTS}", f"conv-{c}") for c in range(100)]
    deleted = sum(catalog.delete_conversation(*conversation) for conversation in conversations)
    delete_s = time.perf_counter() - start
    catalog.clock = lambda: now + dt.timedelta(days=31)
    start = time.perf_counter()
    report = catalog.purge(dt.timedelta(days=30))
    purge_s = time.perf_counter() - start
    again = catalog.purge(dt.timedelta(days=30))
    catalog.close()
    figures = {"deleted": deleted, "delete_s": delete_s, "purge_s": purge_s, "report": report}
    return figures | {"again": (again.assets_purged, again.objects_purged)}


def measure_durable(work: Path, items: int) -> dict[str, h.Stats]:
    """``ingest_image`` of 64 KiB PNGs, the default against durable=True, interleaved rounds."""
    images, modes = h.png_pool(), ("default", "durable")
    catalogs = {mode: h.sqlite_catalog(work, mode, durable=mode == "durable") for mode in modes}

    def series(catalog: AssetCatalog) -> h.Batch:
        return h.timed(lambda i: catalog.ingest_image("t", images[i % 16], tool_call_id=f"c{i}"))

    stats = h.interleaved({mode: series(c) for mode, c in catalogs.items()}, 4, items // 4, 20)
    for catalog in catalogs.values():
        catalog.close()
    return stats


def report(run: h.Run, results: dict[str, Any]) -> list[str]:
    verify_rows = []
    for key, (label, _) in RUNS.items():
        run_, traced = results[key], results[key + "_traced"]
        counts = (sum(run_["counts"].values()), f"{run_['objects']:,}", f"{run_['blobs']:,}")
        timing = (f"{run_['seconds']:.1f}", f"{run_['objects'] / run_['seconds']:,.0f}")
        memory = (f"{traced['traced']:.2f}", f"{traced['rss']:.1f}")
        verify_rows.append((label, *counts, *timing, *memory))
    planted = ", ".join(f"{k} {v}" for k, v in sorted(results["planted"].items()))
    found = ", ".join(f"{k} {v}" for k, v in sorted(results["damaged"]["counts"].items()))
    verdict = "exactly the planted damage" if results["exact"] else "**NOT what was planted**"
    purge, durable, build = results["purge"], results["durable"], results["build"]
    purged, ratio = purge["report"], durable["durable"].per_s / durable["default"].per_s
    modes = {
        "default": "default (`synchronous=NORMAL`, no fsync)",
        "durable": "`durable=True` (`synchronous=FULL`, blob + directory fsync)",
    }
    return h.page(
        run.header("Benchmarks: reliability — verify(), purge() and durable ingest"),
        f"Catalog: {results['assets']:,} assets (files of {build['mean_bytes']:.0f} bytes on "
        f"average) over {TENANTS} tenants, SQLite + local files, built with "
        f"`ingest_container_file` in {build['seconds']:.0f} s.",
        "## verify()",
        "Each run in a fresh process: time from a run without tracing; peak traced memory "
        "(tracemalloc) and RSS growth from a second, traced run.",
        h.table(VERIFY_COLUMNS, verify_rows),
        f"Planted: {planted}. Found: {found} ({verdict}). The largest storage directory (one "
        f"tenant's day) holds {results['assets'] // TENANTS:,} files.",
        "## purge()",
        f"`delete_conversation` of {purge['deleted']:,} assets took {purge['delete_s']:.1f} s; "
        f"`purge(30 days)` 31 days later removed {purged.assets_purged:,} assets and "
        f"{purged.objects_purged:,} object rows in {purge['purge_s']:.2f} s "
        f"({purged.assets_purged / purge['purge_s']:,.0f} assets/s); a second run purged "
        f"{purge['again'][0]} / {purge['again'][1]}.",
        "## What `durable=True` costs",
        f"`ingest_image` of 64 KiB PNGs, {len(durable['default'].ns):,} per mode in 4 "
        "interleaved rounds, fresh SQLite files and blob directories:",
        h.table(
            "mode | items/s | p50 | p99",
            [(modes[m], *durable[m].cells("{:,.0f}", 2)) for m in modes],
        ),
        f"Durable / default throughput: {ratio:.2f}.",
    )


def main(argv: list[str] | None = None) -> int:
    parser = h.options(__doc__)
    parser.add_argument("--assets", type=int, help="catalog size (default 100,000, --quick 5,000)")
    parser.add_argument("--durable-items", type=int, help="per mode (default 2,000, --quick 400)")
    args = parser.parse_args(argv)
    assets = args.assets or (5_000 if args.quick else 100_000)
    with h.Run(args, "verify") as run:
        results: dict[str, Any] = {"assets": assets}
        print(f"building {assets:,} assets ...", flush=True)
        results["build"] = build(run.work, assets)
        for key, (_, checksums) in RUNS.items():
            if key == "damaged":
                results["planted"] = plant_damage(run.work)
            for suffix, trace in (("", False), ("_traced", True)):
                results[key + suffix] = h.in_subprocess(verify_child, run.work, checksums, trace)
            print(key, results[key], flush=True)
        healthy = not results["healthy"]["counts"] and not results["sizes"]["counts"]
        results["exact"] = healthy and results["damaged"]["counts"] == results["planted"]
        results["purge"] = measure_purge(run.work)
        durable_items = args.durable_items or (400 if args.quick else 2000)
        results["durable"] = measure_durable(run.work, durable_items)
        run.report(report(run, results))
    return 0 if results["exact"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
