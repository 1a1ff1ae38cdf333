"""A short tour of asset_catalog on the embedded default: SQLite + local files.

Run it with ``make demo``. It plays the part of a chat backend whose agents just produced
two generated images and a Code Interpreter report, then does what the host's routes would:
link them to the persisted message, list them, issue download URLs and serve one.

With ``--serve`` (what ``make demo`` passes; ``make demo SERVE=0`` leaves it out) it then
captures two recorded agent turns (OpenAI Responses API results with generated images, a
Code Interpreter chart and container files, answered by a recording: no network) with
``asset_catalog.openai``, and serves the FastAPI app with the Images / Files page at
http://127.0.0.1:8000 until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import socket
import struct
import zlib
from pathlib import Path
from typing import Any

from asset_catalog import AssetCatalog, AssetNotFound, open_catalog

RECORDED = Path(__file__).with_name("recorded") / "turns.json"
TENANT = "tenant-acme"


def sample_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour, as image_generation would return it (before base64)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def walkthrough(catalog: AssetCatalog, tenant: str) -> None:
    """The catalog's calls, one by one, as a host's code would make them."""

    # 1. The agent's image_generation calls return base64 images.
    sunrise = catalog.ingest_image(
        tenant,
        base64.b64encode(sample_png(1024, 768, (250, 160, 60))).decode(),
        conversation_id="conv_1",
        tool_call_id="ig_001",
        response_id="resp_1",
        agent_key="designer",
        format="png",
        quality="high",
        revised_prompt="A sunrise over the sea, warm colours",
    )
    logo = catalog.ingest_image(
        tenant,
        sample_png(512, 512, (30, 90, 200)),
        conversation_id="conv_1",
        tool_call_id="ig_002",
        response_id="resp_1",
        agent_key="designer",
        format="png",
    )
    # The tool call is retried (a network blip): the catalog returns the same asset.
    again = catalog.ingest_image(
        tenant, sample_png(1024, 768, (250, 160, 60)), tool_call_id="ig_001"
    )
    print(f"ingested image {sunrise.filename}: {sunrise.width}x{sunrise.height}")
    print(f"ingested image {logo.filename}: {logo.width}x{logo.height}")
    print(f"retried tool call ig_001 -> same asset: {again.id == sunrise.id}")

    # 2. Code Interpreter wrote a CSV into its container; stream it in.
    report = catalog.ingest_container_file(
        tenant,
        io.BytesIO(b"region,revenue\nnorth,120\nsouth,95\n"),
        container_id="cntr_1",
        file_id="cfile_1",
        filename="/mnt/data/revenue.csv",
        conversation_id="conv_1",
        response_id="resp_1",
    )
    print(f"ingested file  {report.filename}: {report.mime_type}, {report.size_bytes} bytes")

    # 3. The host persisted the assistant message: link everything from that response.
    linked = catalog.link_message(tenant, "msg_42", response_id="resp_1", actor="app")
    print(f"linked {linked} assets to msg_42")

    # 4. The conversation's gallery: images only, newest first, paginated.
    page = catalog.list(tenant, asset_type="image", conversation_id="conv_1", limit=1)
    names = [a.filename for a in page.items]
    while page.next_cursor:
        page = catalog.list(
            tenant, asset_type="image", conversation_id="conv_1", limit=1, cursor=page.next_cursor
        )
        names += [a.filename for a in page.items]
    print(f"gallery of conv_1 (2 pages of 1): {names}")

    # 5. Thumbnails: one call presigns the whole grid.
    batch = catalog.presign_many(tenant, [sunrise.id, logo.id, "no-such-id"], expires_in=300)
    print(f"presigned {len(batch.urls)} thumbnails, missing: {list(batch.missing)}")

    # 6. A download link, and the host route that serves it.
    url = catalog.presign(tenant, report.id, expires_in=300)
    print(f"download URL ({url.kind}), expires {url.expires_at:%H:%M:%S} UTC:\n  {url.url}")
    # Your download route receives the token (the URL's last path segment):
    asset, stream, headers = catalog.open_signed(url.url.rsplit("/", 1)[1])
    with stream:
        body = stream.read()
    print(f"served {asset.filename}: {len(body)} bytes, {headers['Content-Disposition']}")

    # 7. The user deletes the report; it is gone from every call, and audited.
    catalog.delete(tenant, report.id, actor="user:7")
    try:
        catalog.get(tenant, report.id)
    except AssetNotFound:
        print("deleted revenue.csv: get() now raises AssetNotFound")
    trail = [(e.event.value, e.actor) for e in catalog.events(tenant, report.id)]
    print(f"audit trail of revenue.csv: {trail}")

    # 8. Another tenant sees nothing of this.
    print(f"tenant-other sees {len(catalog.list('tenant-other').items)} assets")


def recorded_openai(recording: dict[str, Any]) -> Any:
    """A real ``OpenAI`` client whose HTTP is answered by the recording (httpx2's
    MockTransport): ``responses.create`` by the recorded response of the prompt, container
    file downloads by the recorded files."""
    import httpx2
    import openai

    answers = {turn["prompt"]: turn["response"] for turn in recording["turns"]}

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/responses":
            return httpx2.Response(200, json=answers[json.loads(request.content)["input"]])
        _, _, _, container_id, _, file_id, _ = request.url.path.split("/")
        content = recording["container_files"][f"{container_id}/{file_id}"]
        return httpx2.Response(200, content=content.encode())

    http = httpx2.Client(transport=httpx2.MockTransport(answer))
    return openai.OpenAI(
        api_key="sk-recorded", base_url="http://openai.recorded/v1", http_client=http
    )


def capture_recorded_turns(catalog: AssetCatalog, tenant: str) -> None:
    """What a chat backend does after each agent turn: capture its images and files."""
    from asset_catalog.openai import ingest_response

    recording = json.loads(RECORDED.read_text())
    client = recorded_openai(recording)
    for turn in recording["turns"]:
        response = client.responses.create(model="gpt-5", input=turn["prompt"])
        report = ingest_response(
            catalog, tenant, response, client=client,
            conversation_id=turn["conversation_id"], message_id=turn["message_id"],
        )  # fmt: skip
        names = ", ".join(a.filename for a in report.assets)
        print(f"captured {turn['conversation_id']} ({response.id}): {names}")


def serve(catalog: AssetCatalog, tenant: str, port: int) -> None:
    """The host app: the catalog's API under /api and its page, for one signed-in tenant."""
    import uvicorn
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse

    from asset_catalog.fastapi import assets_router

    app = FastAPI(title="asset_catalog demo")
    router = assets_router(catalog, tenant=lambda: tenant, actor=lambda: "demo-user")
    app.include_router(router, prefix="/api")
    app.add_api_route("/", lambda: RedirectResponse("/api/assets/page"), include_in_schema=False)
    listening = socket.create_server(("127.0.0.1", port))  # requests queue from here on
    print(f"Images / Files page: http://127.0.0.1:{port}/  (Ctrl+C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the Ctrl+C it handled
        server.run(sockets=[listening])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("data", nargs="?", default="demo-data", type=Path)
    parser.add_argument("--serve", action="store_true", help="capture recorded turns, serve")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    args.data.mkdir(exist_ok=True)
    catalog = open_catalog(
        f"sqlite:///{args.data / 'assets.db'}",
        f"file://{args.data / 'asset-blobs'}",
        secret="demo-secret-change-me-0123456789",
        base_url="https://chat.example/assets/download",
    )
    try:
        walkthrough(catalog, TENANT)
        if args.serve:
            capture_recorded_turns(catalog, TENANT)
            serve(catalog, TENANT, args.port)
    finally:
        catalog.close()
    print(f"data kept under {args.data.resolve()}")


if __name__ == "__main__":
    main()
