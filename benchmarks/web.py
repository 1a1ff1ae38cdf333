"""Requests/s and p50/p99 through the FastAPI adapter; figures for docs/benchmarks-web.md.
uvicorn (its own process) serves 2,000 images on SQLite + local files; one keep-alive client
asks ``GET /api/assets`` (50) and ``POST /api/assets/download-urls`` (50 ids) of the router
and of bare routes making the same catalog calls, in interleaved rounds."""

from __future__ import annotations

import multiprocessing
import socket
from pathlib import Path
from typing import Any

import harness as h
import httpx2

ROWS, IDS = 2_000, 50


def serve(work: Path, sock: socket.socket) -> None:  # the server process
    import uvicorn
    from fastapi import FastAPI

    from asset_catalog import to_json
    from asset_catalog.fastapi import assets_router

    catalog, app = h.sqlite_catalog(work), FastAPI()
    app.include_router(assets_router(catalog, tenant=lambda: h.TENANT), prefix="/api")
    app.get("/bare/assets")(lambda: to_json(catalog.list(h.TENANT, limit=50)))

    @app.post("/bare/download-urls")
    def bare_urls(body: dict[str, list[str]]) -> Any:
        return to_json(catalog.presign_many(h.TENANT, body["ids"], window=300))

    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def measure(run: h.Run, rounds: int, per_round: int) -> dict[str, h.Stats]:
    ingest = h.ingest_call(catalog := h.sqlite_catalog(run.work), h.TENANT)
    ids = [ingest(i).id for i in range(ROWS)][-IDS:]
    catalog.close()
    # A free port, listening before the server starts: requests wait in the backlog until it
    # serves. IPPROTO_TCP: asyncio then sets TCP_NODELAY, as when uvicorn binds the port itself.
    sock = run.enter_context(socket.socket(proto=socket.IPPROTO_TCP))
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(run.work, sock))
    server.start()
    run.callback(server.terminate)
    url = "http://{}:{}".format(*sock.getsockname())
    http = run.enter_context(httpx2.Client(base_url=url, timeout=30))

    def call(request: str, **kw: Any) -> h.Batch:  # request: "METHOD /path"
        method, path = request.split()
        return h.timed(lambda _: http.request(method, path, **kw).raise_for_status())

    body = {"json": {"ids": ids}}
    series = {
        "GET /api/assets (router)": call("GET /api/assets", params={"limit": 50}),
        "GET, bare route": call("GET /bare/assets"),
        "POST /api/assets/download-urls (router)": call("POST /api/assets/download-urls", **body),
        "POST, bare route": call("POST /bare/download-urls", **body),
    }
    return h.interleaved(series, rounds, per_round, 50)


def report(run: h.Run, stats: dict[str, h.Stats], rounds: int) -> list[str]:
    names = list(stats)
    get, post = (stats[a].median_ratio(stats[b]) for a, b in (names[:2], names[2:]))
    return h.page(
        run.header("Benchmarks: the web adapter (FastAPI)", ("fastapi", "uvicorn")),
        f"SQLite + local files, {ROWS:,} images of one tenant; one keep-alive client, "
        f"{rounds} interleaved rounds. Requests/s over the run, latencies per request:",
        h.table("request | requests/s | p50 | p99", [(n, *stats[n].cells()) for n in names]),
        f"The router's throughput is {get:.2f}x the bare route's for the list and "
        f"{post:.2f}x for the URLs (medians of the per-round ratios).",
    )


def main(argv: list[str] | None = None) -> None:
    args = h.options(__doc__).parse_args(argv)
    rounds, per_round = (4, 100) if args.quick else (10, 300)
    with h.Run(args, "web") as run:
        run.report(report(run, measure(run, rounds, per_round), rounds))


if __name__ == "__main__":
    main()
