"""Reliability at scale: verify() and purge() on 100,000 assets, and what durable=True costs.

Run from the project root::

    .venv/bin/python benchmarks/reliability.py [--assets N] [--write docs/benchmarks-reliability.md]

Builds the catalog with ``ingest_container_file`` (small distinct files, so the figures are
about walking rows and blobs, not about hashing gigabytes), then measures, each in a fresh
subprocess so peak memory means something:

1. ``verify()`` on the healthy catalog (must report zero findings), with and without
   checksums: wall time, objects and blobs per second, peak traced memory and RSS growth;
2. ``verify()`` after damage planted on purpose (blobs removed, truncated, rewritten with
   other bytes of the same size, stray blobs added): must report exactly that damage;
3. ``purge()`` of 10% of the assets deleted past retention;
4. ``ingest_image`` of 64 KiB PNGs with ``open_catalog(durable=True)`` (SQLite
   ``synchronous=FULL``, blobs and directories fsynced) against the default, in alternating
   rounds.

The exit code is 1 if verify's findings are not exactly the planted ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from ingest_list import (
    WORK_PARENT,
    command_line,
    filesystem_of,
    load_average,
    machine_info,
    png_of_size,
    summarize,
)

from asset_catalog import AssetCatalog, FindingKind, open_catalog

SECRET = "benchmark-secret-0123456789abcdef"
TENANTS = 20
DAMAGE = 25  # of each kind


def open_work(work: Path) -> AssetCatalog:
    return open_catalog(f"sqlite:///{work}/catalog.db", f"file://{work}/blobs", secret=SECRET)


def build(work: Path, assets: int) -> dict[str, float]:
    """Ingest ``assets`` small CSV files over TENANTS tenants and 1,000 conversations."""
    catalog = open_work(work)
    start = time.perf_counter()
    total = 0
    for i in range(assets):
        content = f"id,{i}\nvalue,{i * 7919}\n".encode() * 8
        total += len(content)
        catalog.ingest_container_file(
            f"tenant-{i % TENANTS}",
            content,
            container_id="cntr",
            file_id=f"file-{i}",
            filename=f"result-{i}.csv",
            conversation_id=f"conv-{i % 1000}",
        )
        if i and i % 10_000 == 0:
            rate = i / (time.perf_counter() - start)
            print(f"  ingested {i:,} ({rate:.0f}/s)", flush=True)
    catalog.close()
    return {"seconds": time.perf_counter() - start, "mean_bytes": total / max(assets, 1)}


def measure_verify(work: Path, *, checksums: bool, trace: bool) -> dict[str, Any]:
    """Run in a subprocess: one verify(), timed or traced."""
    catalog = open_work(work)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    calls = 0

    def progress(_: object) -> None:
        nonlocal calls
        calls += 1

    start = time.perf_counter()
    report = catalog.verify(checksums=checksums, progress=progress)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    catalog.close()
    return {
        "seconds": seconds,
        "objects": report.objects_checked,
        "blobs": report.blobs_checked,
        "bytes_hashed": report.bytes_hashed,
        "counts": {str(k): v for k, v in report.counts.items() if v},
        "progress_calls": calls,
        "traced_peak_mib": peak / 2**20,
        "rss_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base_rss) / 1024,
    }


def in_subprocess(work: Path, **kwargs: Any) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(work), json.dumps(kwargs)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def plant_damage(work: Path) -> dict[str, int]:
    """Damage the catalog behind its back, DAMAGE times per kind."""
    catalog = open_work(work)
    storage = catalog.storage
    keys = [k for _, k in zip(range(3 * DAMAGE), storage.iter_keys(), strict=False)]
    for key in keys[:DAMAGE]:
        storage.delete(key)
    for key in keys[DAMAGE : 2 * DAMAGE]:
        with storage.open(key) as stream:
            data = stream.read()
        storage.write(key, [data[:-1]])
    for key in keys[2 * DAMAGE :]:
        with storage.open(key) as stream:
            data = stream.read()
        storage.write(key, [bytes([data[0] ^ 1]) + data[1:]])
    for n in range(DAMAGE):
        storage.write(f"stray/{n:04d}.bin", [b"left by someone else"])
    catalog.close()
    return {
        str(FindingKind.MISSING_BLOB): DAMAGE,
        str(FindingKind.SIZE_MISMATCH): DAMAGE,
        str(FindingKind.CHECKSUM_MISMATCH): DAMAGE,
        str(FindingKind.ORPHAN_BLOB): DAMAGE,
    }


def measure_purge(work: Path) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    catalog = open_work(work)
    catalog.clock = lambda: now
    start = time.perf_counter()
    # Conversation c only has assets of tenant c % TENANTS: 10% of all assets.
    deleted = sum(
        catalog.delete_conversation(f"tenant-{c % TENANTS}", f"conv-{c}") for c in range(100)
    )
    delete_s = time.perf_counter() - start
    catalog.clock = lambda: now + dt.timedelta(days=31)
    start = time.perf_counter()
    report = catalog.purge(dt.timedelta(days=30))
    purge_s = time.perf_counter() - start
    again = catalog.purge(dt.timedelta(days=30))
    catalog.close()
    return {
        "deleted": deleted,
        "delete_s": delete_s,
        "purged_assets": report.assets_purged,
        "purged_objects": report.objects_purged,
        "purge_s": purge_s,
        "second_run": [again.assets_purged, again.objects_purged],
    }


def measure_durable(work: Path, items: int, rounds: int = 4) -> dict[str, Any]:
    """ingest_image throughput, default against durable=True, alternating rounds."""
    images = [png_of_size() for _ in range(16)]
    catalogs = {
        mode: open_catalog(
            f"sqlite:///{work}/{mode}.db",
            f"file://{work}/{mode}-blobs",
            secret=SECRET,
            durable=mode == "durable",
        )
        for mode in ("default", "durable")
    }
    latencies: dict[str, list[int]] = {mode: [] for mode in catalogs}
    walls = dict.fromkeys(catalogs, 0)
    per_round = items // rounds
    for catalog in catalogs.values():  # warm-up: schema, directories, caches
        for i in range(20):
            catalog.ingest_image("warm", images[i % 16], tool_call_id=f"w{i}")
    for r in range(rounds):
        for mode, catalog in catalogs.items():
            start = time.perf_counter_ns()
            for i in range(per_round):
                t0 = time.perf_counter_ns()
                catalog.ingest_image("t", images[i % 16], tool_call_id=f"r{r}-{i}")
                latencies[mode].append(time.perf_counter_ns() - t0)
            walls[mode] += time.perf_counter_ns() - start
    for catalog in catalogs.values():
        catalog.close()
    result = {mode: summarize(latencies[mode], walls[mode]) for mode in catalogs}
    result["ratio"] = result["durable"]["items_per_s"] / result["default"]["items_per_s"]
    return result


def markdown(results: dict[str, Any]) -> str:
    env = results["env"]
    lines = [
        "# Benchmarks: reliability — verify(), purge() and durable ingest",
        "",
        f"Command: `{results['command']}`, {results['date']}.",
        "",
        f"Machine: {env['nproc']} cores ({env['cpu']}), {env['kernel']}, Python {env['python']},"
        f" SQLite {env['sqlite']}; work directory on {env['filesystem']}; load average"
        f" {results['load_start']} at start, {results['load_end']} at the end.",
        "",
        f"Catalog: {results['assets']:,} assets (files of"
        f" {results['build']['mean_bytes']:.0f} bytes on average) over {TENANTS} tenants,"
        " SQLite + local files, built with `ingest_container_file` in"
        f" {results['build']['seconds']:.0f} s.",
        "",
        "## verify()",
        "",
        "Each run in a fresh process: time from a run without tracing; peak traced memory"
        " (tracemalloc) and RSS growth from a second, traced run.",
        "",
        "| run | findings | objects | blobs | wall s | objects/s | traced peak MiB "
        "| RSS growth MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, key in (
        ("healthy, checksums on", "healthy"),
        ("healthy, checksums off (sizes only)", "healthy_sizes"),
        ("after planted damage, checksums on", "damaged"),
    ):
        timed, traced = results[key], results[key + "_traced"]
        findings = sum(timed["counts"].values())
        lines.append(
            f"| {label} | {findings} | {timed['objects']:,} | {timed['blobs']:,} "
            f"| {timed['seconds']:.1f} | {timed['objects'] / timed['seconds']:,.0f} "
            f"| {traced['traced_peak_mib']:.2f} | {traced['rss_growth_mib']:.1f} |"
        )
    planted = ", ".join(f"{k} {v}" for k, v in sorted(results["planted"].items()))
    found = ", ".join(f"{k} {v}" for k, v in sorted(results["damaged"]["counts"].items()))
    purge = results["purge"]
    lines += [
        "",
        f"Planted: {planted}. Found: {found}"
        f" ({'exactly the planted damage' if results['exact'] else 'NOT what was planted'}).",
        "",
        "Memory is bounded by the batch and the largest storage directory, not by the catalog:"
        " rows are read 500 at a time, blobs listed one directory (one tenant's day; here"
        f" {results['assets'] // TENANTS:,} files, all ingested the same day) at a time, and at"
        " most `max_findings` findings are kept.",
        "",
        "## purge()",
        "",
        f"`delete_conversation` of {purge['deleted']:,} assets took {purge['delete_s']:.1f} s;"
        f" `purge(30 days)` 31 days later removed {purge['purged_assets']:,} assets and"
        f" {purge['purged_objects']:,} object rows in {purge['purge_s']:.2f} s"
        f" ({purge['purged_assets'] / max(purge['purge_s'], 1e-9):,.0f} assets/s); a second run"
        f" purged {purge['second_run'][0]} / {purge['second_run'][1]}.",
        "",
        "## What `durable=True` costs",
        "",
        f"`ingest_image` of 64 KiB PNGs, {results['durable']['default']['items']:,} per mode in"
        " alternating rounds, fresh SQLite files and blob directories:",
        "",
        "| mode | items/s | p50 ms | p99 ms |",
        "|---|---|---|---|",
    ]
    for mode, label in (
        ("default", "default (`synchronous=NORMAL`, no fsync)"),
        ("durable", "`durable=True` (`synchronous=FULL`, blob + directory fsync)"),
    ):
        row = results["durable"][mode]
        lines.append(
            f"| {label} | {row['items_per_s']:,.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} |"
        )
    lines += [
        "",
        f"Durable / default throughput: {results['durable']['ratio']:.2f}.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--durable-items", type=int, default=2_000)
    parser.add_argument("--write", type=Path)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure_verify(Path(args.child[0]), **json.loads(args.child[1]))))
        return 0

    work = WORK_PARENT / f"verify-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    results: dict[str, Any] = {
        "command": command_line(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "env": machine_info(work),
        "load_start": load_average(),
        "assets": args.assets,
    }
    print(f"work directory: {work} [{filesystem_of(work)}]")
    try:
        print(f"building {args.assets:,} assets ...", flush=True)
        results["build"] = build(work, args.assets)
        for key, checksums in (("healthy", True), ("healthy_sizes", False)):
            results[key] = in_subprocess(work, checksums=checksums, trace=False)
            results[key + "_traced"] = in_subprocess(work, checksums=checksums, trace=True)
            print(key, results[key], flush=True)
        results["planted"] = plant_damage(work)
        results["damaged"] = in_subprocess(work, checksums=True, trace=False)
        results["damaged_traced"] = in_subprocess(work, checksums=True, trace=True)
        print("damaged", results["damaged"], flush=True)
        results["exact"] = (
            results["damaged"]["counts"] == results["planted"]
            and not results["healthy"]["counts"]
            and not results["healthy_sizes"]["counts"]
        )
        results["purge"] = measure_purge(work)
        print("purge", results["purge"], flush=True)
        results["durable"] = measure_durable(work, args.durable_items)
        print("durable", results["durable"], flush=True)
        results["load_end"] = load_average()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    text = markdown(results)
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0 if results["exact"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
