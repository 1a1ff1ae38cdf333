"""Presign throughput and ingest into S3 (moto's server on loopback) against local files.

Run from the project root::

    .venv/bin/python benchmarks/presign_s3.py [--quick] [--write docs/benchmarks-presign.md]

One run starts a real S3 API server on 127.0.0.1 (``moto.server.ThreadedMotoServer``, from
``moto[server]``), creates a bucket and opens two catalogs on SQLite: one on local files
(``file://…``) and one on ``s3://bench-bucket/prefix`` through s3fs. It measures:

1. presign throughput (URLs/s): single ``presign`` calls and ``presign_many`` batches of
   100, for the catalog's own signer (local files) and for S3 (native presign when the
   library returns ``kind == "native"``), with floors: ``UrlSigner.sign`` alone,
   ``s3fs``'s ``fs.sign`` alone and botocore's ``generate_presigned_url`` alone;
2. ``UrlSigner.verify`` of catalog tokens (what ``open_signed`` checks before it touches the
   database), and the whole ``open_signed`` for comparison;
3. ``ingest_image`` throughput and latency of 64 KiB PNGs into S3 against local files, in
   alternating rounds, same SQLite database kind.

moto is an in-process Python server: S3 figures measure the client path plus a local
emulator sharing this machine's CPUs, not AWS. Figures are printed; ``--write PATH`` also
writes a Markdown report. The exit code is 0: this is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.metadata
import logging
import shutil
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ingest_list import (
    IMAGE_POOL,
    IMAGE_SIZE,
    SECRET,
    TENANT,
    WORK_PARENT,
    command_line,
    filesystem_of,
    load_average,
    machine_info,
    percentile,
    png_of_size,
    summarize,
)

from asset_catalog import AssetCatalog, open_catalog

BUCKET = "bench-bucket"
PREFIX = "prefix"
ACCESS_KEY = "testing"  # moto accepts any credentials
SECRET_KEY = "testing"
REGION = "us-east-1"
BATCH = 100
EXPIRES_IN = 900
WARMUP = 20
ROUNDS = 4
DISPOSITION = 'inline; filename="image.png"'

# (full, quick) sizes
SIZES = {
    "ingest_items": (800, 160),  # per series (local, S3)
    "single_local": (3000, 600),  # presign calls
    "single_s3": (1500, 300),
    "batches_local": (60, 15),  # presign_many calls of 100
    "batches_s3": (30, 8),
    "floor_calls": (3000, 600),  # UrlSigner.sign / fs.sign / botocore calls
    "verify_calls": (20000, 4000),
    "open_signed_calls": (1000, 200),
    "put_calls": (300, 60),
}


# -- the S3 server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server on loopback for the duration; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def storage_options(endpoint: str, signature_version: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "key": ACCESS_KEY,
        "secret": SECRET_KEY,
        "client_kwargs": {"endpoint_url": endpoint, "region_name": REGION},
    }
    if signature_version is not None:
        options["config_kwargs"] = {"signature_version": signature_version}
    return options


def url_style(url: str) -> str:
    return "SigV4" if "X-Amz-Signature" in url else "SigV2"


def boto3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


# -- timing helpers ----------------------------------------------------------------------------


def timed_calls(call: Callable[[int], Any], count: int) -> tuple[list[int], int]:
    """Run ``call(i)`` for i in range(count); per-call latencies and wall time, in ns."""
    clock = time.perf_counter_ns
    latencies: list[int] = []
    wall_start = clock()
    for i in range(count):
        t0 = clock()
        call(i)
        latencies.append(clock() - t0)
    return latencies, clock() - wall_start


def rate_row(latencies: list[int], wall_ns: int, per_call: int = 1) -> dict[str, float]:
    """URLs (or items) per second over the wall time, and latency per call."""
    ordered = sorted(latencies)
    return {
        "calls": len(ordered),
        "per_call": per_call,
        "per_s": len(ordered) * per_call / (wall_ns / 1e9),
        "p50_ms": percentile(ordered, 0.50) / 1e6,
        "p99_ms": percentile(ordered, 0.99) / 1e6,
    }


# -- 3: ingest, S3 against local files ---------------------------------------------------------


def bench_ingest(
    catalogs: dict[str, AssetCatalog], items: int
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Alternating rounds of ``ingest_image`` into each catalog; returns the summary and the
    ids ingested per catalog (the presign benchmarks reuse them)."""
    images = [png_of_size() for _ in range(IMAGE_POOL)]
    ids: dict[str, list[str]] = {name: [] for name in catalogs}

    def ingest(name: str, start: int, count: int) -> tuple[list[int], int]:
        catalog = catalogs[name]

        def one(i: int) -> None:
            n = start + i
            asset = catalog.ingest_image(
                TENANT,
                images[n % len(images)],
                tool_call_id=f"{name}-call-{n}",
                conversation_id=f"conv-{n % 8}",
            )
            ids[name].append(asset.id)

        return timed_calls(one, count)

    for name in catalogs:
        ingest(name, -WARMUP, WARMUP)
    per_round = items // ROUNDS
    latencies: dict[str, list[int]] = {name: [] for name in catalogs}
    walls = dict.fromkeys(catalogs, 0)
    ratios: list[float] = []
    names = list(catalogs)
    for r in range(ROUNDS):
        rates: dict[str, float] = {}
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
            lat, wall = ingest(name, r * per_round, per_round)
            latencies[name] += lat
            walls[name] += wall
            rates[name] = per_round / (wall / 1e9)
        ratios.append(rates["s3"] / rates["local"])
    summary: dict[str, Any] = {
        "items": per_round * ROUNDS,
        "rounds": ROUNDS,
        **{name: summarize(latencies[name], walls[name]) for name in catalogs},
        "round_ratios": ratios,
        "ratio": statistics.median(ratios),
    }
    return summary, ids


def s3_ingest_phases(catalog: AssetCatalog, count: int) -> list[tuple[str, float]]:
    """Where one S3 ingest spends its time (mean ms per item): a separate pass that wraps the
    storage's ``write`` and the s3fs calls underneath it."""
    storage: Any = catalog.storage
    fs = storage.fs
    images = [png_of_size() for _ in range(4)]
    spent: dict[str, int] = {}
    clock = time.perf_counter_ns
    wrapped: list[tuple[Any, str]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        method = getattr(owner, name, None)
        if method is None:
            return

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return method(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0) + clock() - t0

        setattr(owner, name, wrapper)
        wrapped.append((owner, name))

    wrap(storage, "write", "storage.write (whole blob upload)")
    wrap(fs, "open", "  s3fs open (file object)")
    wrap(fs, "makedirs", "  s3fs makedirs")
    wrap(fs, "exists", "  s3fs exists")
    wrap(fs, "info", "  s3fs info (HEAD)")
    try:
        latencies, _ = timed_calls(
            lambda i: catalog.ingest_image(
                TENANT, images[i % len(images)], tool_call_id=f"phase-{i}"
            ),
            count,
        )
    finally:
        for owner, name in wrapped:
            with contextlib.suppress(AttributeError):
                delattr(owner, name)
    total = sum(latencies)
    rows = [(label, ns / count / 1e6) for label, ns in spent.items()]
    write_ns = spent.get("storage.write (whole blob upload)", 0)
    return [
        *rows,
        ("everything else (SQLite commits, sniff, facade)", (total - write_ns) / count / 1e6),
        ("total", total / count / 1e6),
    ]


# -- 1: presign --------------------------------------------------------------------------------


def bench_presign_single(catalog: AssetCatalog, ids: list[str], calls: int) -> dict[str, Any]:
    kinds: dict[str, int] = {}

    def one(i: int) -> None:
        url = catalog.presign(TENANT, ids[i % len(ids)], expires_in=EXPIRES_IN)
        kinds[url.kind] = kinds.get(url.kind, 0) + 1

    for i in range(WARMUP):
        one(i)
    kinds.clear()
    return {**rate_row(*timed_calls(one, calls)), "kinds": kinds}


def bench_presign_many(catalog: AssetCatalog, ids: list[str], batches: int) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    missing = unsupported = 0
    groups = [ids[k : k + BATCH] for k in range(0, len(ids) - BATCH + 1, BATCH)]

    def one(i: int) -> None:
        nonlocal missing, unsupported
        result = catalog.presign_many(TENANT, groups[i % len(groups)], expires_in=EXPIRES_IN)
        for url in result.urls.values():
            kinds[url.kind] = kinds.get(url.kind, 0) + 1
        missing += len(result.missing)
        unsupported += len(getattr(result, "unsupported", ()))

    for i in range(2):
        one(i)
    kinds.clear()
    missing = unsupported = 0
    row = rate_row(*timed_calls(one, batches), per_call=BATCH)
    return {**row, "kinds": kinds, "missing": missing, "unsupported": unsupported}


def catalog_signer(catalog: AssetCatalog) -> Any:
    """The catalog's ``UrlSigner`` (no public accessor: the one ``open_catalog`` built)."""
    return catalog._signer  # type: ignore[attr-defined]


PRESIGN_PHASES = (
    ("repository", "get_assets_with_keys", "repository read (assets + keys)"),
    ("repository", "get_assets", "repository read (assets)"),
    ("repository", "get_asset", "repository read (asset)"),
    ("repository", "get_object", "repository read (object)"),
    ("storage", "sign", "storage.sign (s3fs `fs.sign`)"),
    ("repository", "add_events", "`url_issued` events (INSERT + COMMIT)"),
)


def presign_phases(
    catalog: AssetCatalog, ids: list[str], calls: int, batches: int
) -> dict[str, list[tuple[str, float]]]:
    """Mean ms per ``presign`` call and per ``presign_many`` batch in each collaborator
    call, by wrapping them: a separate pass after the timed series."""
    owners: dict[str, Any] = {"repository": catalog.repository, "storage": catalog.storage}
    spent: dict[str, int] = {}
    clock = time.perf_counter_ns
    wrapped: list[tuple[Any, str]] = []
    for owner, name, label in PRESIGN_PHASES:
        method = getattr(owners[owner], name, None)
        if method is None:
            continue

        def wrapper(*args: Any, _m: Any = method, _l: str = label, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return _m(*args, **kwargs)
            finally:
                spent[_l] = spent.get(_l, 0) + clock() - t0

        setattr(owners[owner], name, wrapper)
        wrapped.append((owners[owner], name))
    groups = [ids[k : k + BATCH] for k in range(0, len(ids) - BATCH + 1, BATCH)]
    out: dict[str, list[tuple[str, float]]] = {}
    try:
        for series, count, call in (
            ("single", calls, lambda i: catalog.presign(TENANT, ids[i % len(ids)])),
            ("many", batches, lambda i: catalog.presign_many(TENANT, groups[i % len(groups)])),
        ):
            spent.clear()
            latencies, _ = timed_calls(call, count)
            total = sum(latencies)
            rows = [(label, ns / count / 1e6) for label, ns in spent.items() if ns]
            rest = (total - sum(spent.values())) / count / 1e6
            out[series] = [
                *rows,
                ("the rest (validation, headers, models, tokens)", rest),
                ("total", total / count / 1e6),
            ]
    finally:
        for owner, name in wrapped:
            with contextlib.suppress(AttributeError):
                delattr(owner, name)
    return out


def object_paths(catalog: AssetCatalog, ids: list[str]) -> list[str]:
    """The s3fs paths (bucket/prefix/key) of the blobs behind ``ids``."""
    repository: Any = catalog.repository
    storage: Any = catalog.storage
    paths: list[str] = []
    for asset_id in ids:
        asset = repository.get_asset(TENANT, asset_id)
        obj = repository.get_object(asset.storage_object_id)
        paths.append(f"{storage.root}/{obj.key}")
    return paths


def bench_floors(
    catalog_local: AssetCatalog,
    catalog_s3: AssetCatalog,
    ids_s3: list[str],
    endpoint: str,
    calls: int,
) -> dict[str, Any]:
    """The signing step alone, without repository reads or audit events."""
    signer = catalog_signer(catalog_local)
    storage: Any = catalog_s3.storage
    fs = storage.fs
    paths = object_paths(catalog_s3, ids_s3[:BATCH])
    client = boto3_client(endpoint)
    now = int(time.time())

    def catalog_token(i: int) -> None:
        token = signer.sign(
            "download", {"t": TENANT, "a": ids_s3[i % len(ids_s3)], "exp": now + 900, "d": "i"}
        )
        signer.url_for(token)

    def s3fs_sign(i: int) -> None:
        fs.sign(
            paths[i % len(paths)],
            expiration=EXPIRES_IN,
            ResponseContentDisposition=DISPOSITION,
            ResponseContentType="image/png",
        )

    def botocore_sign(i: int) -> None:
        bucket, key = paths[i % len(paths)].split("/", 1)
        client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": bucket,
                "Key": key,
                "ResponseContentDisposition": DISPOSITION,
                "ResponseContentType": "image/png",
            },
            ExpiresIn=EXPIRES_IN,
        )

    out: dict[str, Any] = {}
    for name, call in (
        ("catalog_token", catalog_token),
        ("s3fs_sign", s3fs_sign),
        ("botocore_sign", botocore_sign),
    ):
        timed_calls(call, WARMUP)
        out[name] = rate_row(*timed_calls(call, calls))
    out["s3fs_sign_style"] = url_style(fs.sign(paths[0], expiration=EXPIRES_IN))
    return out


def bench_upload_floors(catalog_s3: AssetCatalog, endpoint: str, calls: int) -> dict[str, Any]:
    """One 64 KiB PUT to the same server without the catalog: s3fs ``pipe_file`` (what the
    storage's write amounts to for a small blob) and a boto3 client's ``put_object``."""
    storage: Any = catalog_s3.storage
    fs = storage.fs
    client = boto3_client(endpoint)
    data = png_of_size()

    def s3fs_put(i: int) -> None:
        fs.pipe_file(f"{BUCKET}/floor/s3fs-{i}.png", data)

    def boto3_put(i: int) -> None:
        client.put_object(Bucket=BUCKET, Key=f"floor/boto3-{i}.png", Body=data)

    out: dict[str, Any] = {}
    for name, call in (("s3fs_put", s3fs_put), ("boto3_put", boto3_put)):
        timed_calls(lambda i, call=call: call(-1 - i), 5)
        out[name] = rate_row(*timed_calls(call, calls))
    return out


def check_native_url(catalog: AssetCatalog, asset_id: str) -> dict[str, Any]:
    """Fetch one presigned URL of the S3 catalog over HTTP (once, not timed)."""
    url = catalog.presign(TENANT, asset_id, expires_in=EXPIRES_IN)
    info: dict[str, Any] = {"kind": url.kind, "style": "-"}
    if url.kind != "native":
        return info
    info["style"] = url_style(url.url)
    with urllib.request.urlopen(url.url, timeout=10) as response:  # loopback only
        body = response.read()
        info.update(
            status=response.status,
            bytes=len(body),
            content_type=response.headers.get("Content-Type"),
            disposition=response.headers.get("Content-Disposition"),
        )
    return info


# -- 2: verify -------------------------------------------------------------------------------


def bench_verify(
    catalog: AssetCatalog, ids: list[str], verify_calls: int, open_calls: int
) -> dict[str, Any]:
    tokens: list[str] = []
    for asset_id in ids[:BATCH]:
        url = catalog.presign(TENANT, asset_id, expires_in=EXPIRES_IN)
        assert url.kind == "catalog", url.kind
        assert url.token is not None
        tokens.append(url.token)
    signer = catalog_signer(catalog)
    now = time.time()

    def verify(i: int) -> None:
        signer.verify("download", tokens[i % len(tokens)], now=now)

    def open_signed(i: int) -> None:
        download = catalog.open_signed(tokens[i % len(tokens)])
        download.stream.close()

    timed_calls(verify, WARMUP)
    timed_calls(open_signed, WARMUP)
    return {
        "verify": rate_row(*timed_calls(verify, verify_calls)),
        "open_signed": rate_row(*timed_calls(open_signed, open_calls)),
    }


# -- environment and report --------------------------------------------------------------------


def versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for dist in ("asset-catalog", "s3fs", "aiobotocore", "botocore", "boto3", "moto"):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def kinds_text(kinds: dict[str, int]) -> str:
    return ", ".join(f"`{k}` x{n}" for k, n in sorted(kinds.items())) or "-"


def presign_rows(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    p, f = results["presign"], results["floors"]
    s3_kind = kinds_text(p["s3_single"]["kinds"])
    return [
        ("catalog signer: `presign` (SQLite + local files)", "1", p["local_single"]),
        (
            f"catalog signer: `presign_many` of {BATCH} (SQLite + local files)",
            str(BATCH),
            p["local_many"],
        ),
        (f"S3: `presign` (returned {s3_kind})", "1", p["s3_single"]),
        (
            f"S3: `presign_many` of {BATCH} (returned {kinds_text(p['s3_many']['kinds'])})",
            str(BATCH),
            p["s3_many"],
        ),
        ("floor: `UrlSigner.sign` + `url_for` alone", "1", f["catalog_token"]),
        ("floor: s3fs `fs.sign(path, expiration=…)` alone", "1", f["s3fs_sign"]),
        ("floor: boto3 client `generate_presigned_url` alone", "1", f["botocore_sign"]),
        *sigv4_rows(results),
    ]


def sigv4_rows(results: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    v4 = results["sigv4"]
    return [
        (f"S3, `signature_version='s3v4'`: `presign` ({v4['check']['style']})", "1", v4["single"]),
        (
            f"S3, `signature_version='s3v4'`: `presign_many` of {BATCH}",
            str(BATCH),
            v4["many"],
        ),
        ("floor, `signature_version='s3v4'`: s3fs `fs.sign` alone", "1", v4["fs_sign"]),
    ]


def native_available(results: dict[str, Any]) -> bool:
    return set(results["presign"]["s3_single"]["kinds"]) == {"native"}


UPLOAD_FLOORS = {
    "s3fs_put": "floor: s3fs `pipe_file` of 64 KiB alone",
    "boto3_put": "floor: boto3 `put_object` of 64 KiB alone",
}


def print_summary(results: dict[str, Any]) -> None:
    ing, ver = results["ingest"], results["verify"]
    print()
    print("== presign (URLs/s; latency per call)")
    for label, per_call, row in presign_rows(results):
        print(
            f"  {label[:70]:70} {row['per_s']:9.0f} URLs/s   p50 {row['p50_ms']:7.3f} ms"
            f"   p99 {row['p99_ms']:7.3f} ms   ({row['calls']} calls x {per_call})"
        )
    if not native_available(results):
        print("  NOTE: the S3 catalog did not return native URLs; the s3fs floor is the baseline")
    print(f"  native URL check: {results['native_check']}")
    for name, label in (("local", "catalog signer"), ("s3", "S3 native")):
        for series, unit in (("single", "per presign"), ("many", "per presign_many of 100")):
            print(f"  {label}, where the time goes ({unit}, separate pass):")
            for phase, ms in results["phases"][name][series]:
                print(f"    {phase:50} {ms:8.3f} ms")
    print("== catalog tokens")
    for label, key in (("UrlSigner.verify", "verify"), ("open_signed (whole)", "open_signed")):
        row = ver[key]
        print(
            f"  {label:24} {row['per_s']:9.0f} tokens/s   p50 {row['p50_ms']:7.3f} ms   "
            f"p99 {row['p99_ms']:7.3f} ms"
        )
    print(f"== ingest_image, {ing['items']} x 64 KiB PNG per series ({ing['rounds']} rounds)")
    for name, label in (("local", "SQLite + local files"), ("s3", "SQLite + S3 (moto)")):
        s = ing[name]
        print(
            f"  {label:24} {s['items_per_s']:8.1f} items/s   p50 {s['p50_ms']:7.3f} ms   "
            f"p99 {s['p99_ms']:7.3f} ms"
        )
    for name, label in UPLOAD_FLOORS.items():
        s = results["upload_floors"][name]
        print(
            f"  {label:40} {s['per_s']:8.1f} PUTs/s   p50 {s['p50_ms']:7.3f} ms   "
            f"p99 {s['p99_ms']:7.3f} ms"
        )
    rounds = ", ".join(f"{r:.2f}" for r in ing["round_ratios"])
    print(f"  S3 / local per round: {rounds}; median {ing['ratio']:.2f}")
    print("  where one S3 ingest spends its time (mean, separate pass):")
    for label, ms in results["s3_phases"]:
        print(f"    {label:50} {ms:7.3f} ms")


def markdown(results: dict[str, Any]) -> str:
    env, ver, ing = results["env"], results["versions"], results["ingest"]
    tok, check = results["verify"], results["native_check"]
    floors = results["floors"]
    lines = [
        "# Benchmarks: presigned URLs and S3 ingest",
        "",
        "Written by `benchmarks/presign_s3.py`; rerun with `make bench`. Figures depend on the",
        "machine and on whatever else it was doing (other test suites may have been running);",
        "compare figures within this report, not across machines.",
        "",
        f"* Date: {results['date']}",
        f"* Command: `{results['command']}`{' (quick mode)' if results['quick'] else ''}",
        f"* Machine: {env['nproc']} CPUs ({env['cpu']}), {env['kernel']}",
        f"* Python {env['python']}, SQLite {env['sqlite']}, SQLAlchemy {env['sqlalchemy']}, "
        f"fsspec {env['fsspec']}, s3fs {ver['s3fs']}, aiobotocore {ver['aiobotocore']}, "
        f"botocore {ver['botocore']}, boto3 {ver['boto3']}, moto {ver['moto']}, "
        f"asset-catalog {ver['asset-catalog']}",
        f"* Work directory filesystem: {env['filesystem']}",
        f"* Load average (1 min) at start / end: {env['load']} / {results['load_end']}",
        "",
        "**S3 here is moto's server** (`moto.server.ThreadedMotoServer`) on 127.0.0.1: an "
        "in-process Python emulator sharing this machine's CPUs with the client. S3 figures "
        "measure the client path (s3fs, aiobotocore, HTTP on loopback) plus the emulator, "
        "not AWS: real S3 adds network round trips (tens of ms per PUT) and removes the "
        "emulator's CPU. Presigning makes no request at all, so presign figures do carry over.",
        "",
        "## Presign throughput",
        "",
        "| series | URLs per call | URLs/s | p50 per call | p99 per call |",
        "|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {label} | {per_call} | {row['per_s']:,.0f} | {row['p50_ms']:.3f} ms "
        f"| {row['p99_ms']:.3f} ms |"
        for label, per_call, row in presign_rows(results)
    ]
    if native_available(results):
        native_note = (
            "The S3 catalog returned native URLs (`PresignedUrl.kind == 'native'`), signed "
            f"by s3fs's `fs.sign` ({floors['s3fs_sign_style']} query-string signature with "
            "this client configuration)."
        )
    else:
        native_note = (
            "**Native presign was not available** from the library in this run (the S3 "
            f"catalog returned {kinds_text(results['presign']['s3_single']['kinds'])}): the "
            "S3 rows above then measure the catalog's own signer on an S3-backed catalog, "
            "and the s3fs `fs.sign` floor is the native baseline."
        )
    lines += ["", native_note]
    if "status" in check:
        lines += [
            "",
            f"One native URL fetched over HTTP (not timed): status {check['status']}, "
            f"{check['bytes']:,} bytes, `Content-Type: {check['content_type']}`, "
            f"`Content-Disposition: {check['disposition']}`.",
        ]
    lines += [
        "",
        "Where the time goes (mean ms per call; a separate pass after the timed series that "
        "wraps the repository and storage calls):",
        "",
        "| phase | catalog signer, `presign` | catalog signer, `presign_many` of 100 "
        "| S3, `presign` | S3, `presign_many` of 100 |",
        "|---|---:|---:|---:|---:|",
    ]
    tables = [dict(results["phases"][n][k]) for n in ("local", "s3") for k in ("single", "many")]
    labels = [label for _, _, label in PRESIGN_PHASES] + [
        "the rest (validation, headers, models, tokens)",
        "total",
    ]
    for label in labels:
        if any(label in t for t in tables):
            cells = " | ".join(f"{t[label]:.3f}" if label in t else "-" for t in tables)
            lines.append(f"| {label} | {cells} |")
    lines += [
        "",
        "## Catalog tokens: verifying",
        "",
        "| series | tokens/s | p50 | p99 |",
        "|---|---:|---:|---:|",
    ]
    for label, key in (
        ("`UrlSigner.verify` only (what `open_signed` checks first)", "verify"),
        (
            "whole `open_signed` (verify, asset + object reads, open the file, "
            "`downloaded` event), stream closed unread",
            "open_signed",
        ),
    ):
        row = tok[key]
        lines.append(
            f"| {label} | {row['per_s']:,.0f} | {row['p50_ms']:.3f} ms | {row['p99_ms']:.3f} ms |"
        )
    lines += [
        "",
        f"## Ingest: {ing['items']} images of 64 KiB (PNG) per series, SQLite database",
        "",
        "| storage | items/s | p50 latency | p99 latency |",
        "|---|---:|---:|---:|",
    ]
    for name, label in (("local", "local files (`file://`)"), ("s3", "S3 (moto on loopback)")):
        s = ing[name]
        lines.append(
            f"| {label} | {s['items_per_s']:.1f} | {s['p50_ms']:.3f} ms | {s['p99_ms']:.3f} ms |"
        )
    for name, label in UPLOAD_FLOORS.items():
        s = results["upload_floors"][name]
        lines.append(
            f"| {label} (PUTs/s) | {s['per_s']:.1f} | {s['p50_ms']:.3f} ms | {s['p99_ms']:.3f} ms |"
        )
    lines += [
        "",
        "S3 / local throughput per round: "
        + ", ".join(f"{r:.2f}" for r in ing["round_ratios"])
        + f"; median **{ing['ratio']:.2f}**.",
        "",
        "Where one S3 ingest spends its time (mean per item; a separate pass after the timed "
        "rounds that wraps the storage's `write` and the s3fs calls under it; indented rows "
        "are part of the row above):",
        "",
        "| phase | mean |",
        "|---|---:|",
    ]
    lines += [f"| {label.strip()} | {ms:.3f} ms |" for label, ms in results["s3_phases"]]
    lines += [
        "",
        "## How measured",
        "",
        "* Everything runs in a fresh directory under `benchmarks/.work/` (the SQLite files "
        "and the local blobs), removed afterwards. The moto server keeps its objects in "
        "memory.",
        f"* Two catalogs: `open_catalog('sqlite:///…/local.db', 'file://…', secret=…)` and "
        f"`open_catalog('sqlite:///…/s3.db', 's3://{BUCKET}/{PREFIX}', secret=…, "
        f"storage_options={{'key': …, 'secret': …, 'client_kwargs': {{'endpoint_url': "
        f"'http://127.0.0.1:<port>', 'region_name': '{REGION}'}}}})`; the bucket is created "
        "with boto3 first.",
        f"* **Ingest**: `ingest_image(tenant, png, tool_call_id=<unique>, conversation_id=…)` "
        f"with valid PNGs of exactly {IMAGE_SIZE // 1024} KiB (the generator of "
        f"`ingest_list.py`, a pool of {IMAGE_POOL}); {WARMUP} warm-up items per catalog, then "
        f"{ing['rounds']} rounds of {ing['items'] // ing['rounds']} items per catalog, the "
        "order rotating each round. Latency per item with `time.perf_counter_ns`; items/s "
        "over the rounds' wall time.",
        f"* **Presign**: over the ingested assets, `presign(tenant, id, expires_in="
        f"{EXPIRES_IN})` cycling through the ids, and `presign_many(tenant, ids, expires_in="
        f"{EXPIRES_IN})` over fixed groups of {BATCH} distinct ids, after warm-up. URLs/s is "
        f"calls/s for `presign` and {BATCH} x batches/s for `presign_many`. Every call "
        "includes what the library does per call: the repository read(s), the signing and the "
        "`url_issued` audit events (one INSERT + COMMIT per call, one per batch).",
        "* **Floors** (the signing step alone): `UrlSigner.sign('download', payload)` + "
        "`url_for`; s3fs `fs.sign(path, expiration=…, ResponseContentDisposition=…, "
        "ResponseContentType=…)` (what `FsspecStorage.sign` calls); a boto3 S3 client's "
        "`generate_presigned_url('get_object', …)` with the same parameters.",
        "* **Verify**: tokens from `presign` on the local catalog; `UrlSigner.verify('download', "
        "token, now=…)` in a loop, and the whole `open_signed(token)` with the stream closed "
        "unread.",
        "* Sizes: "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in results["sizes"].items())
        + ".",
        "",
    ]
    lines += analysis(results)
    return "\n".join(lines)


def analysis(results: dict[str, Any]) -> list[str]:
    p, f, ing = results["presign"], results["floors"], results["ingest"]
    phases = {label.strip(): ms for label, ms in results["s3_phases"]}
    upload = phases.get("storage.write (whole blob upload)", 0.0)
    total = phases.get("total", 0.0)
    s3_many = dict(results["phases"]["s3"]["many"])
    sign_ms = s3_many.get("storage.sign (s3fs `fs.sign`)", 0.0)
    put = results["upload_floors"]["boto3_put"]
    return [
        "## Reading the figures",
        "",
        f"* **Catalog signer**: signing a token alone runs at "
        f"{f['catalog_token']['per_s']:,.0f}/s and verifying one at "
        f"{results['verify']['verify']['per_s']:,.0f}/s, so the token is never the cost. A "
        f"single `presign` ({p['local_single']['per_s']:,.0f}/s) pays an asset read and one "
        f"audit-event commit; `presign_many` pays them once per batch "
        f"({p['local_many']['per_s']:,.0f} URLs/s) and is then bound by inserting 100 "
        "`url_issued` events and by per-URL Python work (download headers, models, JSON).",
        f"* **S3 native**: s3fs's `fs.sign` alone reaches {f['s3fs_sign']['per_s']:,.0f}/s "
        f"against {f['botocore_sign']['per_s']:,.0f}/s for a plain boto3 client presigning "
        "the same URL: every s3fs call is a synchronous wrapper that hands a coroutine to "
        "fsspec's event-loop thread and blocks until it is done, and botocore builds each "
        "URL through its event hooks. Presigning makes no request, so that thread hop is "
        f"pure overhead, paid per URL: in a `presign_many` of {BATCH} on S3 the signing is "
        f"{sign_ms:.1f} of {s3_many.get('total', 0.0):.1f} ms, so the batch gains much "
        "less over single calls than the catalog signer's batch does.",
        "* **URL style**: with no `signature_version` configured botocore presigns S3 URLs "
        f"with **{results['native_check'].get('style', '?')}** in regions that still accept "
        "it (us-east-1 here); `storage_options={…, 'config_kwargs': {'signature_version': "
        "'s3v4'}}` gives SigV4 URLs (the `s3v4` rows), a little slower to sign.",
        f"* **Ingest into S3**: {ing['s3']['items_per_s']:.1f} items/s against "
        f"{ing['local']['items_per_s']:.1f} for local files (median ratio {ing['ratio']:.2f}). "
        f"Of {total:.1f} ms per S3 item, {upload:.1f} ms is the blob upload (one PUT of "
        f"64 KiB), and a bare boto3 `put_object` to the same server takes {put['p50_ms']:.1f} "
        "ms (p50): the emulator, a Python server in this same process competing for the GIL "
        "and the two CPUs, dominates. The catalog adds its SQLite work on top, as with local "
        "files.",
        "",
    ]


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--write", metavar="PATH", help="write a Markdown report to PATH")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    size = {name: pair[1 if args.quick else 0] for name, pair in SIZES.items()}

    WORK_PARENT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="presign-", dir=WORK_PARENT))
    print(f"work directory: {work} [{filesystem_of(work)}]")
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command_line(),
        "quick": args.quick,
        "env": machine_info(work),
        "versions": versions(),
        "sizes": size,
    }
    started = time.perf_counter()
    catalogs: dict[str, AssetCatalog] = {}
    try:
        with moto_server() as endpoint:
            print(f"moto S3 server at {endpoint}", flush=True)
            boto3_client(endpoint).create_bucket(Bucket=BUCKET)
            catalogs["local"] = open_catalog(
                f"sqlite:///{work / 'local.db'}", f"file://{work / 'blobs'}", secret=SECRET
            )
            catalogs["s3"] = open_catalog(
                f"sqlite:///{work / 's3.db'}",
                f"s3://{BUCKET}/{PREFIX}",
                secret=SECRET,
                storage_options=storage_options(endpoint),
            )
            local, s3 = catalogs["local"], catalogs["s3"]
            print(f"ingest: {size['ingest_items']} items per catalog ...", flush=True)
            results["ingest"], ids = bench_ingest(catalogs, size["ingest_items"])
            print("ingest: S3 phase breakdown ...", flush=True)
            results["s3_phases"] = s3_ingest_phases(s3, 100 if args.quick else 200)
            print("presign: catalog signer and S3 ...", flush=True)
            results["presign"] = {
                "local_single": bench_presign_single(local, ids["local"], size["single_local"]),
                "local_many": bench_presign_many(local, ids["local"], size["batches_local"]),
                "s3_single": bench_presign_single(s3, ids["s3"], size["single_s3"]),
                "s3_many": bench_presign_many(s3, ids["s3"], size["batches_s3"]),
            }
            results["native_check"] = check_native_url(s3, ids["s3"][0])
            results["phases"] = {
                "local": presign_phases(local, ids["local"], 300, 10),
                "s3": presign_phases(s3, ids["s3"], 300, 10),
            }
            print("presign: floors ...", flush=True)
            results["floors"] = bench_floors(local, s3, ids["s3"], endpoint, size["floor_calls"])
            print("presign: S3 with signature_version='s3v4' ...", flush=True)
            catalogs["s3v4"] = open_catalog(
                f"sqlite:///{work / 's3.db'}",
                f"s3://{BUCKET}/{PREFIX}",
                secret=SECRET,
                storage_options=storage_options(endpoint, "s3v4"),
            )
            v4 = catalogs["s3v4"]
            v4_fs: Any = v4.storage
            v4_path = object_paths(v4, ids["s3"][:1])[0]
            results["sigv4"] = {
                "single": bench_presign_single(v4, ids["s3"], size["single_s3"]),
                "many": bench_presign_many(v4, ids["s3"], size["batches_s3"]),
                "fs_sign": rate_row(
                    *timed_calls(
                        lambda i: v4_fs.fs.sign(v4_path, expiration=EXPIRES_IN),
                        size["floor_calls"],
                    )
                ),
                "check": check_native_url(v4, ids["s3"][0]),
            }
            print("ingest: 64 KiB PUT floors ...", flush=True)
            results["upload_floors"] = bench_upload_floors(s3, endpoint, size["put_calls"])
            print("verify: catalog tokens ...", flush=True)
            results["verify"] = bench_verify(
                local, ids["local"], size["verify_calls"], size["open_signed_calls"]
            )
    finally:
        for catalog in catalogs.values():
            catalog.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    results["load_end"] = load_average()
    results["seconds"] = time.perf_counter() - started
    print_summary(results)
    print(f"\n(run took {results['seconds']:.0f} s)")
    if args.write:
        Path(args.write).write_text(markdown(results), encoding="utf-8")
        print(f"report written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
