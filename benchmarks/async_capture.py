"""The event loop's longest stall while agent outputs are ingested, and what slim_items
saves; figures for docs/benchmarks-async.md.

Ten 5 MiB base64 images and ten 5 MiB container files (async streams of 256 KiB chunks) are
ingested at once into SQLite + local files, by sync calls inside ``async def`` and through
AsyncAssetCatalog in interleaved rounds; a 1 ms ticker measures how late the loop runs. Each
mode's first round also opens the worker threads and connections: it is reported on its own."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import harness as h

from asset_catalog import AsyncAssetCatalog
from asset_catalog.openai import slim_items

TARGET_MS, CHUNK = 15.0, 256 * 1024


async def stream_of(data: bytes) -> AsyncIterator[bytes]:
    for at in range(0, len(data), CHUNK):
        await asyncio.sleep(0)
        yield data[at : at + CHUNK]


async def lateness(run: Callable[[str], Awaitable[object]], count: int) -> list[float]:
    """``count`` images and ``count`` files at once; how late each 1 ms tick was, in ms."""
    stop, late = asyncio.Event(), []

    async def ticks() -> None:
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            late.append((time.perf_counter() - start - 0.001) * 1000)

    ticker = asyncio.create_task(ticks())
    await asyncio.sleep(0.01)
    await asyncio.gather(*(run(kind) for _ in range(count) for kind in ("image", "file")))
    stop.set()
    await ticker
    return sorted(late)


def measure(run: h.Run, count: int, rounds: int, size: int) -> dict[str, list[list[float]]]:
    image = base64.b64encode(h.png_of_size(size, 1024, 1024)).decode()
    data, tags = os.urandom(size), iter(range(10**9))
    catalog = h.sqlite_catalog(run.work)
    acatalog = AsyncAssetCatalog(catalog)
    file_args = {"container_id": "c", "filename": "out.bin"}

    async def blocking(kind: str) -> object:  # sync calls in async def: what hosts did
        if kind == "image":
            return catalog.ingest_image("t", image, tool_call_id=f"s{next(tags)}")
        chunks = [data[at : at + CHUNK] for at in range(0, len(data), CHUNK)]
        return catalog.ingest_container_file("t", chunks, file_id=f"s{next(tags)}", **file_args)

    async def awaited(kind: str) -> object:
        if kind == "image":
            return await acatalog.ingest_image("t", image, tool_call_id=f"a{next(tags)}")
        return await acatalog.ingest_container_file(
            "t", stream_of(data), file_id=f"a{next(tags)}", **file_args
        )

    modes = {"sync calls in async def": blocking, "AsyncAssetCatalog": awaited}
    results: dict[str, list[list[float]]] = {name: [] for name in modes}
    for number in range(rounds):
        for name in list(modes)[:: 1 if number % 2 == 0 else -1]:
            results[name].append(asyncio.run(lateness(modes[name], count)))
            print(f"{name} round {number + 1}: {results[name][-1][-1]:.1f} ms", flush=True)
    catalog.close()
    return results


def report(run: h.Run, results: dict[str, list[list[float]]], count: int, size: int) -> list[str]:
    items: list[dict[str, object]] = [{"type": "message", "role": "user", "content": "draw"}]
    items += [
        {"type": "image_generation_call", "id": f"ig_{n}", "status": "completed",
         "result": base64.b64encode(os.urandom(1_500_000)).decode()}
        for n in range(10)
    ]  # fmt: skip
    slim = slim_items(items)
    before, after = len(json.dumps(items)), len(json.dumps(slim.items))
    rows, measured = [], len(next(iter(results.values()))) - 1
    for name, (first, *rounds) in results.items():
        longest = statistics.median(r[-1] for r in rounds)
        p99 = statistics.median(r[int(len(r) * 0.99) - 1] for r in rounds)
        verdict = "PASS" if longest <= TARGET_MS else "FAIL"
        target = f"≤ {TARGET_MS:.0f} ms: {verdict}" if name == "AsyncAssetCatalog" else "—"
        rows.append((name, f"{longest:.1f} ms", f"{p99:.1f} ms", f"{first[-1]:.1f} ms", target))
    return h.page(
        run.header("Benchmarks: the event loop while agent outputs are ingested"),
        f"{count} base64 images and {count} container files of {size / 2**20:.0f} MiB at once, "
        f"{measured} interleaved rounds per mode after a first one; lateness of a "
        "1 ms ticker (medians over those rounds):",
        h.table("mode | longest stall | p99 lateness | longest, first round (cold) | target", rows),
        f"`slim_items` on a conversation of 10 images of {slim.bytes_removed / 10 / 2**20:.1f} "
        f"MiB of base64 each: {before:,} bytes of JSON before, {after:,} after; "
        f"{slim.bytes_removed:,} bytes of payload removed.",
    )


def main(argv: list[str] | None = None) -> None:
    args = h.options(__doc__).parse_args(argv)
    count, rounds, size = (4, 3, 2 * 2**20) if args.quick else (10, 6, 5 * 2**20)
    with h.Run(args, "async") as run:
        run.report(report(run, measure(run, count, rounds, size), count, size))


if __name__ == "__main__":
    main()
