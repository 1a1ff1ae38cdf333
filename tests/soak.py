"""A soak under mixed load: worker processes (and one HTTP client of the FastAPI router on
uvicorn) ingest, list, presign, download, link and delete across tenants of their own for a
bounded time while a maintenance process loops ``reconcile()`` and ``verify()``; afterwards
each worker's model of what it did must agree exactly with the catalog.

``tests/test_soak.py`` runs a short version on both stacks (SQLite + local files, PostgreSQL
+ S3 on moto); a long one runs from the command line and prints its report::

    .venv/bin/python -m tests.soak --seconds 300 --stack postgres-s3
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx2
import uvicorn
from fastapi import FastAPI, Header, Request

from asset_catalog import AssetCatalog, AssetCatalogError, AssetNotFound, UrlSigner
from asset_catalog.fastapi import assets_router
from asset_catalog.sql import PostgresRepository, SqliteRepository
from asset_catalog.storage import FsspecStorage

from .images import png_bytes

SECRET = "soak-secret-0123456789abcdef-0123"
STACKS = ("sqlite-local", "postgres-s3")


@attrs.frozen
class Stack:
    """Where the catalog lives, as every process opens it."""

    database: str
    schema: str | None
    storage: str
    options: dict[str, Any]

    def open(self) -> AssetCatalog:
        if self.schema is None:
            repository: Any = SqliteRepository(self.database)
        else:
            repository = PostgresRepository(self.database, schema=self.schema)
        repository.create_schema()
        storage = FsspecStorage.from_url(self.storage, **self.options)
        return AssetCatalog(repository=repository, storage=storage, signer=self.signer())

    def signer(self) -> UrlSigner:
        return UrlSigner(SECRET, base_url="/api/assets/download")


@attrs.define
class Outcome:
    """What one worker did and saw."""

    tenant: str
    ops: collections.Counter[str] = attrs.field(factory=collections.Counter)
    errors: collections.Counter[str] = attrs.field(factory=collections.Counter)
    live: dict[str, str] = attrs.field(factory=dict)  # asset id -> sha256
    deleted: set[str] = attrs.field(factory=set)
    problems: list[str] = attrs.field(factory=list)  # disagreements seen while running

    def data(self) -> dict[str, Any]:
        """A plain copy to send back to the coordinating process."""
        return {
            "tenant": self.tenant,
            "ops": dict(self.ops),
            "errors": dict(self.errors),
            "live": dict(self.live),
            "deleted": sorted(self.deleted),
            "problems": list(self.problems),
        }


def fetch(catalog: AssetCatalog, url: Any, http: httpx2.Client) -> bytes:
    """A presigned URL's bytes: a catalog token through ``open_signed``, S3's over HTTP."""
    if url.kind == "catalog":
        download = catalog.open_signed(url.token)
        with contextlib.closing(download.stream) as stream:
            return b"".join(iter(lambda: stream.read(1 << 20), b""))
    response = http.get(url.url)
    response.raise_for_status()
    return response.content


def library_worker(stack: Stack, tenant: str, others: list[str], seconds: float, seed: int) -> Any:
    """Random calls of the facade on ``tenant``; ``others`` are the other workers' tenants,
    whose ids this worker tries too (they must stay invisible)."""
    rng, out, catalog = random.Random(seed), Outcome(tenant), stack.open()
    http, n, deadline = httpx2.Client(timeout=30), 0, time.monotonic() + seconds
    foreign = [f"{t}-id-{k}" for t in others for k in range(3)]
    while time.monotonic() < deadline:
        n += 1
        op = rng.choice(["image", "file", "list", "presign", "many", "link", "delete"])
        try:
            step(catalog, http, rng, out, op, n, foreign)
            out.ops[op] += 1
        except AssetCatalogError as exc:
            out.errors[type(exc).__name__] += 1
        except Exception as exc:
            out.errors[f"untyped {type(exc).__name__}"] += 1
            out.problems.append(f"{op}: {exc!r}")
    catalog.close()
    http.close()
    return out.data()


def step(
    catalog: AssetCatalog,
    http: httpx2.Client,
    rng: random.Random,
    out: Outcome,
    op: str,
    n: int,
    foreign: list[str],
) -> None:
    tenant, mine = out.tenant, sorted(out.live)
    if op == "image":
        data = png_bytes(rng.randint(2, 64), rng.randint(2, 64))
        asset = catalog.ingest_image(tenant, data, tool_call_id=f"call-{n}", conversation_id="c")
        out.live[asset.id] = hashlib.sha256(data).hexdigest()
    elif op == "file":
        data = os.urandom(rng.randint(1, 3 << 20))  # streamed in 256 KiB pieces
        pieces = (data[i : i + (256 << 10)] for i in range(0, len(data), 256 << 10))
        asset = catalog.ingest_container_file(
            tenant, pieces, container_id="cntr", file_id=f"f{n}", filename="out.bin"
        )
        out.live[asset.id] = hashlib.sha256(data).hexdigest()
    elif op == "list":
        seen = [a for page in pages(catalog, tenant) for a in page]
        if any(a.tenant_id != tenant for a in seen):
            out.problems.append("list answered another tenant's asset")
        if {a.id for a in seen} != set(out.live):
            out.problems.append(f"list: {len(seen)} assets, the model has {len(out.live)}")
    elif op == "presign" and mine:
        asset_id = rng.choice(mine)
        data = fetch(catalog, catalog.presign(tenant, asset_id, actor="soak"), http)
        if hashlib.sha256(data).hexdigest() != out.live[asset_id]:
            out.problems.append(f"download of {asset_id}: other bytes")
    elif op == "many":
        ids = rng.sample(mine, min(5, len(mine))) + rng.sample(foreign, 2)
        batch = catalog.presign_many(tenant, ids, window=300)
        if set(batch.urls) != set(ids) - set(foreign):
            out.problems.append("presign_many: live ids missing or foreign ids signed")
    elif op == "link" and mine:
        catalog.link_message(tenant, f"msg-{n}", asset_ids=rng.sample(mine, min(3, len(mine))))
    elif op == "delete" and mine:
        asset_id = rng.choice(mine)
        catalog.delete(tenant, asset_id, actor="soak")
        out.deleted.add(asset_id)
        del out.live[asset_id]
        with contextlib.suppress(AssetNotFound):
            catalog.get(tenant, asset_id)
            out.problems.append(f"{asset_id} still visible after delete")


def pages(catalog: AssetCatalog, tenant: str) -> Iterator[tuple[Any, ...]]:
    cursor = None
    while True:
        page = catalog.list(tenant, limit=100, cursor=cursor)
        yield page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def http_worker(base: str, tenant: str, other: str, seconds: float, seed: int) -> Any:
    """The same kind of mix through the FastAPI router, as a page would: ingests by the
    library (uploads), then list, download URLs, downloads and deletes over HTTP."""
    rng, out, deadline = random.Random(seed), Outcome(tenant), time.monotonic() + seconds
    headers = {"X-Tenant": tenant}
    with httpx2.Client(base_url=f"{base}/api", timeout=30, headers=headers) as http:
        while time.monotonic() < deadline:
            op = rng.choice(["upload", "list", "urls", "delete"])
            try:
                http_step(http, rng, out, op, other)
                out.ops[f"http {op}"] += 1
            except Exception as exc:
                out.errors[f"untyped {type(exc).__name__}"] += 1
                out.problems.append(f"http {op}: {exc!r}")
    return out.data()


def http_step(http: httpx2.Client, rng: random.Random, out: Outcome, op: str, other: str) -> None:
    mine = sorted(out.live)
    if op == "upload":
        data = os.urandom(rng.randint(1, 200_000))
        response = http.post("/soak-upload", content=data)
        response.raise_for_status()
        out.live[response.json()["id"]] = hashlib.sha256(data).hexdigest()
    elif op == "list":
        seen, cursor = [], None
        while True:
            body = http.get(
                "/assets", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
            )
            body.raise_for_status()
            seen += [a["id"] for a in body.json()["items"]]
            if (cursor := body.json()["next_cursor"]) is None:
                break
        if set(seen) != set(out.live):
            out.problems.append(f"http list: {len(seen)} assets, the model has {len(out.live)}")
        theirs = http.get("/assets", headers={"X-Tenant": other}).json()["items"]
        if {a["id"] for a in theirs} & set(out.live):
            out.problems.append("another tenant's list showed this tenant's asset")
    elif op == "urls" and mine:
        ids = rng.sample(mine, min(8, len(mine)))
        urls = http.post("/assets/download-urls", json={"ids": ids}).json()["urls"]
        for asset_id, url in urls.items():
            data = httpx2.get(url["url"], timeout=30).content
            if hashlib.sha256(data).hexdigest() != out.live[asset_id]:
                out.problems.append(f"http download of {asset_id}: other bytes")
    elif op == "delete" and mine:
        asset_id = rng.choice(mine)
        if http.delete(f"/assets/{asset_id}").status_code != 204:
            out.problems.append(f"http delete of {asset_id} refused")
        out.deleted.add(asset_id)
        del out.live[asset_id]
        if http.get(f"/assets/{asset_id}").status_code != 404:
            out.problems.append(f"{asset_id} still served after delete")


def serve(stack: Stack, sock: socket.socket) -> None:  # a process of its own
    catalog = stack.open()
    app = FastAPI()

    def tenant(x_tenant: str = Header()) -> str:
        return x_tenant

    @app.post("/api/soak-upload")
    async def upload(request: Request, x_tenant: str = Header()) -> dict[str, str]:
        data = await request.body()
        return {"id": catalog.ingest_upload(x_tenant, data, filename="up.bin").id}

    app.include_router(assets_router(catalog, tenant=tenant), prefix="/api")
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])


def maintenance(stack: Stack, seconds: float) -> Any:
    """reconcile() and verify() in a loop beside the workers."""
    catalog, runs, findings = stack.open(), 0, collections.Counter[str]()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        catalog.reconcile(older_than=dt.timedelta(minutes=5))
        report = catalog.verify(checksums=False)
        findings.update(kind.value for kind in report.counts)
        runs += 1
    catalog.close()
    return {"runs": runs, "findings": dict(findings)}


@attrs.frozen
class Report:
    stack: str
    seconds: float
    ops: dict[str, int]
    errors: dict[str, int]
    problems: list[str]
    maintenance_runs: int
    findings: dict[str, int]
    live: int
    deleted: int

    @property
    def ok(self) -> bool:
        return not (self.problems or self.findings or self.errors)

    def lines(self) -> list[str]:
        return [
            f"soak on {self.stack} for {self.seconds:.0f} s: {sum(self.ops.values()):,} "
            f"operations, {self.live:,} assets live and {self.deleted:,} deleted at the end",
            "operations: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.ops.items())),
            f"errors by type: {self.errors or 'none'}",
            f"maintenance: {self.maintenance_runs} reconcile + verify rounds, findings "
            f"{self.findings or 'none'}",
            f"disagreements with the model: {len(self.problems)}",
            *self.problems[:20],
        ]


@contextlib.contextmanager
def stack_of(name: str, work: Path, s3: Any = None) -> Iterator[Stack]:
    """A fresh catalog on ``name``: a SQLite file and a directory, or a PostgreSQL schema
    of its own and a bucket on ``s3`` (a moto server; one of its own when not given)."""
    if name == "sqlite-local":
        yield Stack(f"sqlite:///{work / 'soak.db'}", None, f"file://{work / 'blobs'}", {})
        return
    from sqlalchemy import create_engine

    from .backends import POSTGRES_URL, S3Server, drop_schema, new_test_schema_name

    server, schema = s3 or S3Server(), new_test_schema_name()
    try:
        fs = server.filesystem()
        bucket = server.new_bucket(fs)
        yield Stack(POSTGRES_URL, schema, f"s3://{bucket}", server.storage_options())
    finally:
        engine = create_engine(POSTGRES_URL)
        drop_schema(engine, schema)
        engine.dispose()
        if s3 is None:
            server.stop()


def run(name: str, seconds: float, workers: int = 3, s3: Any = None) -> Report:
    """The soak on stack ``name`` for ``seconds``: ``workers`` library workers, one HTTP
    worker, one maintenance loop; then the final check against the workers' models."""
    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp, stack_of(name, Path(tmp), s3) as stack:
        stack.open().close()  # the schema, before the processes race to create it
        tenants = [f"soak-{k}-{uuid.uuid4().hex[:6]}" for k in range(workers + 1)]
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)  # clients queue until the server process serves
        server = spawn.Process(target=serve, args=(stack, sock), daemon=True)
        server.start()
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        try:
            with spawn.Pool(workers + 2) as pool:
                jobs = [
                    pool.apply_async(
                        library_worker, (stack, t, [u for u in tenants if u != t], seconds, k)
                    )
                    for k, t in enumerate(tenants[:workers])
                ]
                jobs.append(
                    pool.apply_async(http_worker, (base, tenants[-1], tenants[0], seconds, 99))
                )
                care = pool.apply_async(maintenance, (stack, seconds))
                outcomes = [job.get(timeout=seconds + 300) for job in jobs]
                cared = care.get(timeout=seconds + 300)
        finally:
            server.terminate()
            server.join(10)
            sock.close()
        return final_check(name, seconds, stack, outcomes, cared)


def final_check(
    name: str, seconds: float, stack: Stack, outcomes: list[Any], cared: dict[str, Any]
) -> Report:
    """Everything quiet: reconcile() everything, verify() with checksums, and each tenant's
    catalog equal to its worker's model (live ids and bytes, deleted ids invisible)."""
    ops: collections.Counter[str] = collections.Counter()
    errors: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    findings = collections.Counter(cared["findings"])
    catalog = stack.open()
    try:
        catalog.reconcile(older_than=dt.timedelta(0))
        report = catalog.verify()
        findings.update({k.value: v for k, v in report.counts.items()})
        for out in outcomes:
            ops.update(out["ops"])
            errors.update(out["errors"])
            problems += out["problems"]
            listed = {a.id: a.sha256 for page in pages(catalog, out["tenant"]) for a in page}
            if listed != out["live"]:
                problems.append(f"{out['tenant']}: the catalog and the model disagree")
            for asset_id in out["deleted"]:
                with contextlib.suppress(AssetNotFound):
                    catalog.get(out["tenant"], asset_id)
                    problems.append(f"{asset_id}: deleted, still there")
    finally:
        catalog.close()
    return Report(
        name,
        seconds,
        dict(ops),
        dict(errors),
        problems,
        cared["runs"],
        dict(findings),
        sum(len(o["live"]) for o in outcomes),
        sum(len(o["deleted"]) for o in outcomes),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--stack", choices=STACKS, action="append")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the reports as JSON")
    args = parser.parse_args(argv)
    reports = [run(name, args.seconds, args.workers) for name in args.stack or STACKS]
    for report in reports:
        print(json.dumps(attrs.asdict(report)) if args.json else "\n".join(report.lines()))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
