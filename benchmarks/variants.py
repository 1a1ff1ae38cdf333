"""Thumbnails: what deriving them at ingest costs, what they save a gallery page; figures for
docs/benchmarks-variants.md. On SQLite and local files, catalogs making no variants and the
default WebP thumbnail: ``ingest_image`` of photographic-like PNGs in interleaved rounds, the
bytes of a 50-image page with thumbnails and originals, ``presign_many`` of 50 of each."""

from __future__ import annotations

import io
import statistics

import harness as h
from PIL import Image
from sqlalchemy import event

SIZES = {(1024, 1024): "1024 x 1024", (1536, 1024): "1536 x 1024"}
FULL, QUICK, COUNT = (6, 8), (3, 4), 50  # (rounds, ingests per round), images on a page


def photo_png(size: tuple[int, int], seed: int) -> bytes:
    """Noise at four scales over a gradient: detail at every size, like a photograph (flat
    colour or plain noise would flatter both the PNG and the thumbnail)."""
    w, h = size
    layers = [
        Image.effect_noise((s, s * h // w), 40 + seed).resize(size, Image.Resampling.BICUBIC)
        for s in (8, 32, 128, 512)
    ]
    fine, ramp = Image.effect_noise(size, 10), Image.linear_gradient("L").resize(size)
    a, b, c, d = layers
    four = ((a, b, c, fine), (b, c, d, ramp), (d, a, ramp, fine))
    mix = [Image.blend(Image.blend(p, q, 0.5), Image.blend(r, t, 0.5), 0.5) for p, q, r, t in four]
    out = io.BytesIO()
    Image.merge("RGB", mix).save(out, "PNG")
    return out.getvalue()


def ingester(catalog: h.AssetCatalog, pool: list[bytes], tag: str) -> h.Batch:
    return h.timed(lambda i: catalog.ingest_image(h.TENANT, pool[i % 4], tool_call_id=f"{tag}{i}"))


def ingest_rows(run: h.Run, plain: h.AssetCatalog, thumbs: h.AssetCatalog, pools: dict) -> tuple:
    rows, costs = [], []
    for size, pool in pools.items():
        tag = f"{size[0]}-"
        series = {"none": ingester(plain, pool, tag), "thumb": ingester(thumbs, pool, tag)}
        stats = h.interleaved(series, *(QUICK if run.quick else FULL), warmup=2)
        none, thumb = stats["none"], stats["thumb"]
        mib = f"{statistics.median(len(p) for p in pool) / 2**20:.2f} MiB"
        costs.append(thumb.p50 - none.p50)
        cost, ratio = h.ms(costs[-1], 1), f"{thumb.median_ratio(none):.2f}"
        rows.append([SIZES[size], mib, h.ms(none.p50, 1), h.ms(thumb.p50, 1), cost, ratio])
    return rows, COUNT * statistics.mean(costs) / 1000


def gallery_rows(thumbs: h.AssetCatalog, pools: dict) -> tuple[list, list, float]:
    """A page of COUNT images (half of each size), as the Images page loads it."""
    pool = [image for images in zip(*pools.values(), strict=True) for image in images]
    ids = [
        thumbs.ingest_image(h.TENANT, pool[n % 8], tool_call_id=f"g{n}").id for n in range(COUNT)
    ]
    lineages = [thumbs.lineage(h.TENANT, i) for i in ids]
    full = sum(lin.asset.size_bytes for lin in lineages)
    small = sum(v.size_bytes for lin in lineages for v in lin.variants)
    marks = sum(len(lin.asset.placeholder or "") for lin in lineages)
    transfer = [
        ["originals", f"{full:,}", "100 %"],
        ["thumbnails (WebP, 256 px)", f"{small:,}", f"{100 * small / full:.2f} %"],
        ["placeholders (in the list's JSON)", f"{marks:,}", f"{100 * marks / full:.3f} %"],
    ]
    reads: list[bool] = []  # the SELECTs SQLAlchemy runs (events go on the driver's cursor)
    engine = h.sql_repository(thumbs).engine
    event.listen(engine, "before_cursor_execute", lambda *a: reads.append(a[2][:6] == "SELECT"))
    batches, counts = {}, {}
    for v in ("thumbnail", None):
        reads.clear()
        thumbs.presign_many(h.TENANT, ids, variant=v)
        counts[v] = reads.count(True)
        batches[v] = h.timed(lambda _i, v=v: thumbs.presign_many(h.TENANT, ids, variant=v))
    stats = h.interleaved(batches, rounds=6, per_round=20, warmup=5)
    presign = [
        [v or "original", f"{s.per_s * COUNT:,.0f}", h.ms(s.p50), h.ms(s.p99), counts[v]]
        for v, s in stats.items()
    ]
    return transfer, presign, stats["thumbnail"].median_ratio(stats[None])


def main() -> None:
    args = h.options(__doc__ or "").parse_args()
    with h.Run(args, "variants") as run:
        plain = h.sqlite_catalog(run.work, "plain", variant_sizes={})
        thumbs = h.sqlite_catalog(run.work, "thumbs")
        pools = {size: [photo_png(size, seed) for seed in range(4)] for size in SIZES}
        rows, first_view = ingest_rows(run, plain, thumbs, pools)
        transfer, presign, ratio = gallery_rows(thumbs, pools)
        costs = "image | PNG | ingest p50, no variants | with thumbnail | difference | ratio"
        run.report(h.page(
            run.header("Benchmarks: thumbnails (variants)", ("Pillow",)),
            "## Deriving the thumbnail at ingest (SQLite, local files)",
            h.table(costs, rows),
            f"Derived on first request instead, the first view of a {COUNT}-image page (half of "
            f"each size) would wait {first_view:.1f} s for its {COUNT} derivations.",
            f"## A gallery page of {COUNT} images",
            h.table("what the page loads | bytes | share of the originals", transfer),
            f"## presign_many of {COUNT} ids",
            h.table("variant | URLs/s | p50 per batch | p99 per batch | SELECT queries", presign),
            f"Median throughput ratio, thumbnails over originals: {ratio:.2f}.",
        ))  # fmt: skip


if __name__ == "__main__":
    main()
