"""Presigned URLs, and ingest into S3 against local files; figures for docs/benchmarks-presign.md.

Two catalogs on SQLite, local files and S3 (moto's server on 127.0.0.1): ``presign`` and
``presign_many`` URLs/s against the signing step alone, ``UrlSigner.verify`` and
``open_signed``, ``ingest_image`` into S3 against local files, and a PostgreSQL + S3 gallery."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

import harness as h
from concurrency_postgres import DEFAULT_URL as PG_URL

from asset_catalog import AssetCatalog, UrlSigner
from asset_catalog.protocols import SignRequest
from asset_catalog.sql import PostgresRepository
from asset_catalog.storage import FsspecStorage

BUCKET, REGION, KEY, TENANT = "bench-bucket", "us-east-1", "testing", h.TENANT  # moto takes any key
BATCH, EXPIRES, WARMUP, ROUNDS = 100, 900, 20, 4
DISPOSITION = 'inline; filename="image.png"'
RESPONSE = {"ResponseContentDisposition": DISPOSITION, "ResponseContentType": "image/png"}
RATE = "{:,.0f}"  # URLs/s and tokens/s in the tables
SIZES = {  # full, --quick
    "ingest items": (800, 160),
    "presign calls": (3000, 600),
    "batches": (60, 15),  # presign_many of 100; also sign_many and 100 fs.sign, interleaved
    "floor calls": (3000, 600),
    "verify calls": (20000, 4000),
    "open_signed calls": (1000, 200),
    "PUT calls": (300, 60),
    "gallery calls": (1000, 200),  # list 50 + presign_many 50, PostgreSQL + S3
}


def moto_server(run: h.Run) -> str:
    """moto's S3 server on a free loopback port until the end of the run; its endpoint."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # an access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    run.callback(server.stop)
    return "http://{}:{}".format(*server.get_host_and_port())  # the port the system chose


def boto3_client(endpoint: str) -> Any:
    import boto3

    credentials = {"aws_access_key_id": KEY, "aws_secret_access_key": KEY}
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **credentials)


def bench_ingest(catalogs: dict[str, AssetCatalog], items: int) -> tuple[Any, dict[str, list[str]]]:
    """Interleaved rounds of ``ingest_image`` into each catalog; the ids, for presigning."""
    ids = {name: list[str]() for name in catalogs}

    def series(name: str) -> h.Batch:
        ingest = h.ingest_call(catalogs[name], TENANT)
        return h.timed(lambda i: ids[name].append(ingest(i).id))

    return h.interleaved({n: series(n) for n in catalogs}, ROUNDS, items // ROUNDS, WARMUP), ids


def bench_presign(catalog: AssetCatalog, ids: list[str], calls: int, batches: int) -> list[Any]:
    """``presign`` cycling through the ids and ``presign_many`` over fixed groups of 100; the
    kinds of URL returned."""
    kinds: Counter[str] = Counter()
    groups = [ids[k : k + BATCH] for k in range(0, len(ids) - BATCH + 1, BATCH)]

    def single(i: int) -> None:
        kinds[catalog.presign(TENANT, ids[i % len(ids)], expires_in=EXPIRES).kind] += 1

    def many(i: int) -> None:
        result = catalog.presign_many(TENANT, groups[i % len(groups)], expires_in=EXPIRES)
        assert len(result.urls) == BATCH
        kinds.update(url.kind for url in result.urls.values())

    return [h.measure(single, calls), h.measure(many, batches, 2, BATCH), kinds]


def bench_floors(
    local: AssetCatalog, s3: AssetCatalog, ids: list[str], endpoint: str, n: dict[str, int]
) -> dict[str, h.Stats]:
    """The signing step alone: no repository read, no audit event (S3: 100 URLs interleaved)."""
    storage, repository = s3.storage, s3.repository
    assert isinstance(storage, FsspecStorage)
    keys = [key for _, key in repository.get_assets_with_keys(TENANT, ids[:BATCH])]
    paths, data = [f"{storage.root}/{key}" for key in keys], h.png_of_size()
    signer, client, exp = local.signer, boto3_client(endpoint), int(time.time()) + EXPIRES

    def token(i: int) -> None:  # the payload presign signs
        payload = {"t": TENANT, "a": ids[i % BATCH], "exp": exp, "d": "i"}
        signer.url_for(signer.sign("download", payload))

    def boto3_sign(i: int) -> None:
        bucket, key = paths[i % BATCH].split("/", 1)
        params = {"Bucket": bucket, "Key": key, **RESPONSE}
        client.generate_presigned_url("get_object", Params=params, ExpiresIn=EXPIRES)

    def s3fs_put(i: int) -> None:
        storage.fs.pipe_file(f"{BUCKET}/floor/s3fs-{i}.png", data)

    def boto3_put(i: int) -> None:
        client.put_object(Bucket=BUCKET, Key=f"floor/boto3-{i}.png", Body=data)

    many = [SignRequest(key, EXPIRES, "image.png", "image/png", DISPOSITION) for key in keys]
    old = h.timed(lambda i: [storage.fs.sign(p, expiration=EXPIRES, **RESPONSE) for p in paths])
    new = h.timed(lambda i: storage.sign_many(many))  # ``old``: what FsspecStorage.sign did
    signing = h.interleaved({"s3fs_many": old, "sign_many": new}, ROUNDS, n["batches"] // ROUNDS, 2)
    signing["s3fs_many"].per_call = signing["sign_many"].per_call = BATCH  # URLs/s
    calls, puts = n["floor calls"], n["PUT calls"]
    counts = {token: calls, boto3_sign: calls, s3fs_put: puts, boto3_put: puts}
    return signing | {call.__name__: h.measure(call, count) for call, count in counts.items()}


def bench_gallery(run: h.Run, s3_options: dict[str, Any], calls: int) -> h.Stats:
    """``list(limit=50)`` + ``presign_many`` of those 50 on PostgreSQL (own schema) + S3."""
    repository = PostgresRepository(PG_URL, schema=f"ac_bench_{time.time_ns()}_gallery")
    drop = f'DROP SCHEMA IF EXISTS "{repository.tables.assets.schema}" CASCADE'
    connect = repository.engine.connect
    storage = FsspecStorage.from_url(f"s3://{BUCKET}/gallery", **s3_options)
    catalog = AssetCatalog(repository=repository, storage=storage, signer=UrlSigner(h.SECRET))
    run.callback(lambda: (catalog.close(), c := connect(), c.exec_driver_sql(drop), c.commit()))
    repository.create_schema()
    list(map(h.ingest_call(catalog, TENANT), range(200)))
    page = lambda: [a.id for a in catalog.list(TENANT, limit=50).items]  # noqa: E731
    return h.measure(lambda i: catalog.presign_many(TENANT, page(), expires_in=EXPIRES), calls)


def bench_tokens(catalog: AssetCatalog, ids: list[str], n: int, opens: int) -> dict[str, h.Stats]:
    """``UrlSigner.verify`` of catalog tokens, and the whole ``open_signed``."""
    tokens = [catalog.presign(TENANT, a, expires_in=EXPIRES).token or "" for a in ids[:BATCH]]
    now = time.time()
    verify = h.measure(lambda i: catalog.signer.verify("download", tokens[i % BATCH], now=now), n)
    opened = h.measure(lambda i: catalog.open_signed(tokens[i % BATCH]).stream.close(), opens)
    return {"verify": verify, "open_signed": opened}


def report(run: h.Run, f: dict[str, Any]) -> list[str]:
    (local, local_many, _), (s3, s3_many, kinds), ingest = f["local"], f["s3"], f["ingest"]
    returned = ", ".join(f"`{kind}`" for kind in sorted(kinds))
    rows = [
        ("catalog signer: `presign` (SQLite + local files)", 1, local),
        (f"catalog signer: `presign_many` of {BATCH} (SQLite + local files)", BATCH, local_many),
        (f"S3: `presign` (returned {returned})", 1, s3),
        (f"S3: `presign_many` of {BATCH}", BATCH, s3_many),
        ("floor: `UrlSigner.sign` + `url_for` alone", 1, f["token"]),
        (f"floor: s3fs `fs.sign(path, expiration=…)` x {BATCH}", BATCH, f["s3fs_many"]),
        (f"floor: `FsspecStorage.sign_many` of {BATCH} (one pass)", BATCH, f["sign_many"]),
        ("floor: boto3 client `generate_presigned_url` alone", 1, f["boto3_sign"]),
    ]
    whole = "whole `open_signed` (verify, asset + object reads, open the file, `downloaded` event)"
    tokens = [
        ("`UrlSigner.verify` only (what `open_signed` checks first)", f["verify"]),
        (f"{whole}, stream closed unread", f["open_signed"]),
    ]
    ingests = [
        ("local files (`file://`)", *ingest["local"].cells()),
        ("S3 (moto on loopback)", *ingest["s3"].cells()),
        ("floor: s3fs `pipe_file` of 64 KiB alone (PUTs/s)", *f["s3fs_put"].cells()),
        ("floor: boto3 `put_object` of 64 KiB alone (PUTs/s)", *f["boto3_put"].cells()),
    ]
    per_round = ", ".join(f"{r:.2f}" for r in ingest["s3"].ratios(ingest["local"]))
    ratio = ingest["s3"].median_ratio(ingest["local"])
    native = (
        f"The S3 catalog returned native URLs (`PresignedUrl.kind == 'native'`, {f['style']}), "
        "signed in one pass by `FsspecStorage.sign_many`."
        if set(kinds) == {"native"}
        else f"**Native presign was not available** (the S3 catalog returned {returned}): the "
        "S3 rows measure the catalog's own signer, and the s3fs `fs.sign` floor is the native "
        "baseline."
    )
    won, g = f["sign_many"].median_ratio(f["s3fs_many"]), f["gallery"]
    gallery = f"gallery on PostgreSQL + S3: p50 (p99 {h.ms(g.p99)})"
    targets = [
        ("S3 signing, `sign_many` / s3fs", f"{won:.1f}x", "≥ 10x", ["FAIL", "PASS"][won >= 10]),
        (gallery, h.ms(g.p50), "≤ 5 ms", ["FAIL", "PASS"][g.p50 <= 5]),
    ]
    sizes = ", ".join(f"{name} {pair[run.quick]}" for name, pair in SIZES.items())
    dists = ["s3fs", "aiobotocore", "botocore", "boto3", "moto"]
    return h.page(
        run.header("Benchmarks: presigned URLs and S3 ingest", dists),
        "**S3 here is moto's server** on 127.0.0.1, an in-process Python emulator sharing the "
        "CPUs with the client, not AWS. Presigning makes no request, so presign figures carry "
        "over; S3 ingest figures do not.",
        "## Targets",
        h.table("figure | measured | target | result", targets),
        "## Presign throughput",
        h.table(
            "series | URLs per call | URLs/s | p50 per call | p99 per call",
            [(label, n, *stats.cells(RATE)) for label, n, stats in rows],
        ),
        native,
        "## Catalog tokens: verifying",
        h.table("series | tokens/s | p50 | p99", [(label, *x.cells(RATE)) for label, x in tokens]),
        f"## Ingest: {len(ingest['s3'].ns)} images of 64 KiB (PNG) per series, SQLite database",
        h.table("storage | items/s | p50 latency | p99 latency", ingests),
        f"S3 / local throughput per round: {per_round}; median **{ratio:.2f}**.",
        f"Sizes: {sizes}; {WARMUP} warm-up calls before each series.",
        f"Derived: {BATCH} URLs take {f['s3fs_many'].p50:.1f} ms (p50) through s3fs's `fs.sign`, "
        f"{f['sign_many'].p50:.2f} ms through `sign_many`; a bare `put_object` takes "
        f"{f['boto3_put'].p50:.1f} ms of the {ingest['s3'].p50:.1f} ms (p50) of an S3 ingest.",
    )


def main(argv: list[str] | None = None) -> None:
    args = h.options(__doc__).parse_args(argv)
    n = {name: pair[args.quick] for name, pair in SIZES.items()}
    with h.Run(args, "presign") as run:
        endpoint = moto_server(run)
        boto3_client(endpoint).create_bucket(Bucket=BUCKET)
        s3_options: dict[str, Any] = {"key": KEY, "secret": KEY}
        s3_options["client_kwargs"] = {"endpoint_url": endpoint, "region_name": REGION}
        local = h.sqlite_catalog(run.work, "local")
        s3 = h.sqlite_catalog(run.work, "s3", f"s3://{BUCKET}/prefix", storage_options=s3_options)
        catalogs = {"local": local, "s3": s3}
        for catalog in catalogs.values():
            run.callback(catalog.close)
        print(f"moto at {endpoint}; ingest: {n['ingest items']} items per catalog", flush=True)
        ingest, ids = bench_ingest(catalogs, n["ingest items"])
        print("presign: catalog signer and S3, floors, tokens ...", flush=True)
        f: dict[str, Any] = {"ingest": ingest}
        for name, catalog in catalogs.items():
            f[name] = bench_presign(catalog, ids[name], n["presign calls"], n["batches"])
        url = s3.presign(TENANT, ids["s3"][0]).url
        f["style"] = "SigV4" if "X-Amz-Signature" in url else "SigV2"
        f |= bench_floors(local, s3, ids["s3"], endpoint, n)
        f |= bench_tokens(local, ids["local"], n["verify calls"], n["open_signed calls"])
        f["gallery"] = bench_gallery(run, s3_options, n["gallery calls"])
        run.report(report(run, f))


if __name__ == "__main__":
    main()
