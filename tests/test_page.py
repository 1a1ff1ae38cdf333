"""The Images / Files page in a real browser: headless Chromium driven by Playwright, against
each adapter on a real server on loopback (FastAPI's router on uvicorn, Flask's blueprint on
werkzeug), over a SQLite + local-files catalog.

Skipped without Chromium (``/usr/bin/chromium``), Playwright, FastAPI or uvicorn; failed
instead in CI. ``ASSET_CATALOG_WRITE_SCREENSHOT=1`` also writes ``docs/page.png``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from asset_catalog import AssetCatalog, AssetNotFound, UrlSigner
from asset_catalog.sql import SqliteRepository
from asset_catalog.storage import FsspecStorage

from .backends import SECRET, in_ci
from .clocks import ManualClock
from .images import png_bytes
from .web_apps import fastapi_app, flask_app

try:
    from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
except ImportError:  # checked by the browser fixture: skipped locally, failed in CI
    sync_playwright = None
try:
    from fastapi import FastAPI
except ImportError:  # likewise
    FastAPI = None
try:
    import flask
except ImportError:  # likewise
    flask = None

pytestmark = [pytest.mark.browser, pytest.mark.variants]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "page.png"
CONVERSATION_URL = "/chat/{conversation_id}#{message_id}"
A, B = "tenant-a", "tenant-b"
CSV = b"region,revenue\nnorth,120\nsouth,95\n"


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)", pytrace=False)
    pytest.skip(reason)


# -- the app under test ------------------------------------------------------------------------


def _gradient_png(width: int, height: int, start: tuple[int, ...], end: tuple[int, ...]) -> bytes:
    """An RGB PNG shading from ``start`` (top left) to ``end`` (bottom right): a thumbnail
    that looks like something in the screenshot."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            t = (x + y) / (width + height - 2)
            row += bytes(round(s + (e - s) * t) for s, e in zip(start, end, strict=True))
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _seed(catalog: AssetCatalog, clock: ManualClock) -> dict[str, str]:
    """Tenant A's six assets (three images, three files, each at its own hour of 27 November
    to 1 December 2026) and tenant B's two, in a conversation id that A uses too; returns A's
    ids by filename."""

    def on(day: int, hour: int, month: int = 11) -> None:
        clock.now = dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)

    ids = {}
    on(25, 9)
    catalog.ingest_image(B, png_bytes(40, 40), filename="b-secret.png", conversation_id="conv_1")
    on(26, 9)
    catalog.ingest_upload(B, b"ledger\n", filename="b-ledger.csv", conversation_id="conv_1")
    on(27, 10)
    ids["moodboard.png"] = catalog.ingest_image(
        A, _gradient_png(160, 120, (255, 126, 95), (254, 180, 123)), filename="moodboard.png",
        conversation_id="conv_1", message_id="msg_1", agent_key="designer", tool_call_id="ig_1",
    ).id  # fmt: skip
    on(28, 11)
    ids["report.csv"] = catalog.ingest_container_file(
        A, CSV, container_id="cntr_1", file_id="cfile_1", filename="/mnt/data/report.csv",
        conversation_id="conv_1", message_id="msg_1", agent_key="analyst",
    ).id  # fmt: skip
    on(29, 12)
    ids["chart.png"] = catalog.ingest_image(
        A, _gradient_png(120, 120, (67, 97, 238), (76, 201, 240)), filename="chart.png",
        conversation_id="conv_2", agent_key="analyst", source_tool="code_interpreter",
    ).id  # fmt: skip
    on(30, 13)
    ids["brief.pdf"] = catalog.ingest_upload(
        A, [b"%PDF-1.7\n", b"1 0 obj\n" * 200, b"%%EOF\n"], filename="brief.pdf",
        conversation_id="conv_2", message_id="msg_7", user_id="user_7",
    ).id  # fmt: skip
    on(1, 14, month=12)
    ids["logo.png"] = catalog.ingest_image(
        A, _gradient_png(96, 96, (42, 157, 143), (233, 196, 106)), filename="logo.png",
        conversation_id="conv_2", agent_key="designer", tool_call_id="ig_2",
    ).id  # fmt: skip
    on(1, 15, month=12)
    ids["notes.txt"] = catalog.ingest_upload(A, b"to do\n" * 300, filename="notes.txt").id
    return ids


class LiveServer:
    """The host app on a real HTTP server in a thread, on a free loopback port: uvicorn for
    FastAPI, werkzeug's for Flask. Either socket listens before the thread starts, so no
    request races the server's start."""

    def __init__(self, adapter: str, catalog: AssetCatalog) -> None:
        if adapter == "fastapi":
            import uvicorn

            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(64)
            config = uvicorn.Config(
                fastapi_app(catalog, conversation_url=CONVERSATION_URL),
                log_level="warning",
                lifespan="off",
                ws="none",
            )
            server = uvicorn.Server(config)
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            self._thread = threading.Thread(
                target=server.run, kwargs={"sockets": [sock]}, daemon=True
            )
            self._stopping = [lambda: setattr(server, "should_exit", True)]
            self._closing = [sock.close]
        else:
            from werkzeug.serving import make_server

            wsgi = make_server(
                "127.0.0.1", 0, flask_app(catalog, conversation_url=CONVERSATION_URL), threaded=True
            )
            self.url = f"http://127.0.0.1:{wsgi.server_port}"
            self._thread = threading.Thread(target=wsgi.serve_forever, daemon=True)
            self._stopping = [wsgi.shutdown]
            self._closing = [wsgi.server_close]
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket: later requests are refused."""
        if self._thread.is_alive():
            for stop in self._stopping:
                stop()
            self._thread.join(timeout=10)
        for close in self._closing:
            close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium (the system's: no browser is ever downloaded), one per module."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if sync_playwright is None:
        _unavailable("the playwright package is not installed (pip install playwright)")
    if FastAPI is None or flask is None:
        _unavailable("fastapi or flask is not installed (pip install fastapi flask)")
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        _unavailable("uvicorn is not installed (pip install uvicorn)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[AssetCatalog, dict[str, str]]]:
    """A catalog on SQLite and local files, seeded by ``_seed``, and tenant A's ids."""
    repository = SqliteRepository(f"sqlite:///{tmp_path / 'catalog.db'}")
    repository.create_schema()
    clock = ManualClock(dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    catalog = AssetCatalog(
        repository=repository,
        storage=FsspecStorage.from_url(f"file://{tmp_path / 'blobs'}"),
        signer=UrlSigner(SECRET),
        clock=clock,
    )
    yield catalog, _seed(catalog, clock)
    catalog.close()


@pytest.fixture(params=["fastapi", "flask"])
def server(
    request: pytest.FixtureRequest, seeded: tuple[AssetCatalog, dict[str, str]]
) -> Iterator[LiveServer]:
    """The host, on each adapter: its tenant from an ``X-Tenant`` header (its "auth"),
    deletes refused when ``X-Can-Delete: no``, the API under ``/api`` with a conversation
    link template."""
    live = LiveServer(request.param, seeded[0])
    yield live
    live.stop()


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A fresh browser context signed in as tenant A, at 1280x800, in UTC; the page must log
    no script error and no Content-Security-Policy violation."""
    context = browser.new_context(
        base_url=server.url,
        viewport={"width": 1280, "height": 800},
        locale="en-GB",
        timezone_id="UTC",
    )
    context.set_extra_http_headers({"X-Tenant": A})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    # A failed request is logged as such (the error tests make some); anything else is a
    # script error or a Content-Security-Policy violation.
    assert [e for e in errors if not e.startswith("Failed to load resource")] == []


def _open(page: Page, query: str = "") -> None:
    page.goto("/api/assets/page" + query)


IMAGES = ["logo.png", "chart.png", "moodboard.png"]  # newest first
FILES = ["notes.txt", "brief.pdf", "report.csv"]


def _expect_lists(page: Page, images: list[str], files: list[str]) -> None:
    expect(page.locator("#images .card .name")).to_have_text(images)
    expect(page.locator("#files tbody .name")).to_have_text(files)


# -- the tests -------------------------------------------------------------------------------


def test_the_page_lists_the_tenants_images_and_files(page: Page) -> None:
    """Tenant A's images appear in the grid (lazy, from one batch of URLs) and its files in
    the table (size, date, conversation link), newest first, and tenant B's never do."""
    batches = []
    page.on("request", lambda r: batches.append(r) if "download-urls" in r.url else None)
    pictures: list[str] = []
    page.on(
        "response",
        lambda r: (
            pictures.append(r.headers.get("content-type", ""))
            if r.request.resource_type == "image"
            else None
        ),
    )
    _open(page)
    _expect_lists(page, IMAGES, FILES)
    assert len(batches) == 1  # one request for the whole page of thumbnails
    assert batches[0].post_data_json["variant"] == "thumbnail"
    images = page.locator("#images img")
    expect(images).to_have_count(3)
    for img in images.all():
        expect(img).to_have_attribute("loading", "lazy")
        expect(img).to_have_js_property("complete", True)
    assert images.first.evaluate("img => img.naturalWidth") == 96  # logo.png, decoded
    assert pictures == ["image/webp"] * 3  # the grid loads the thumbnails, not the PNGs
    cards = page.locator("#images .thumb.placeholder.loaded")  # painted first, then covered
    expect(cards).to_have_count(3)
    painted = cards.first.evaluate("a => a.style.getPropertyValue('--placeholder')")
    assert painted.startswith('url("data:image/webp;base64,')
    expect(page.get_by_role("img", name="chart.png")).to_be_visible()
    report = page.locator("#files tbody tr", has_text="report.csv")
    expect(report).to_contain_text("text/csv")
    expect(report).to_contain_text(f"{len(CSV)} bytes")
    expect(report).to_contain_text("28 Nov 2026, 11:00")
    expect(report.get_by_role("link", name="conv_1 / msg_1")).to_have_attribute(
        "href", re.compile(r"/chat/conv_1#msg_1$")
    )
    expect(page.locator("#files tbody tr", has_text="brief.pdf")).to_contain_text("kB")
    expect(page.locator("#files tbody tr", has_text="notes.txt")).to_contain_text("—")
    expect(page.locator("body")).not_to_contain_text("b-secret")
    expect(page.locator("body")).not_to_contain_text("b-ledger")


def test_filters_narrow_both_lists_and_survive_a_reload(page: Page) -> None:
    """Type, MIME prefix, conversation, agent and date range filters reach the API, and the
    page's own URL keeps them across a reload."""
    _open(page)
    _expect_lists(page, IMAGES, FILES)

    page.get_by_label("Type", exact=True).select_option("file")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#images")).to_be_hidden()
    expect(page.locator("#files tbody .name")).to_have_text(FILES)

    page.get_by_label("MIME type starts with").fill("text/")
    page.get_by_label("MIME type starts with").press("Enter")
    expect(page.locator("#files tbody .name")).to_have_text(["notes.txt", "report.csv"])

    page.get_by_role("button", name="Clear").click()
    _expect_lists(page, IMAGES, FILES)

    page.get_by_label("Conversation").fill("conv_1")  # tenant B has assets in conv_1 too
    page.get_by_role("button", name="Apply filters").click()
    _expect_lists(page, ["moodboard.png"], ["report.csv"])
    page.reload()
    expect(page.get_by_label("Conversation")).to_have_value("conv_1")
    _expect_lists(page, ["moodboard.png"], ["report.csv"])

    page.get_by_label("Conversation").fill("")
    page.get_by_label("Agent").fill("designer")
    page.get_by_label("MIME type starts with").fill("image/")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#images .card .name")).to_have_text(["logo.png", "moodboard.png"])
    expect(page.locator("#files .status")).to_have_text("No files match these filters.")
    expect(page.locator("#files table")).to_be_hidden()

    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Created from").fill("2026-11-29")
    page.get_by_label("Created until").fill("2026-11-30")
    page.get_by_role("button", name="Apply filters").click()
    _expect_lists(page, ["chart.png"], ["brief.pdf"])
    assert "from=2026-11-29" in page.url
    assert "to=2026-11-30" in page.url


def test_load_more_pages_by_cursor(page: Page) -> None:
    """With a page size of one, each list grows a page per "Load more" click until its
    cursor runs out, in order and without another tenant's assets."""
    _open(page, "?limit=1")
    _expect_lists(page, IMAGES[:1], FILES[:1])
    for count in (2, 3):
        page.get_by_role("button", name="Load more images").click()
        expect(page.locator("#images .card .name")).to_have_text(IMAGES[:count])
    expect(page.get_by_role("button", name="Load more images")).to_be_hidden()
    for count in (2, 3):
        page.get_by_role("button", name="Load more files").click()
        expect(page.locator("#files tbody .name")).to_have_text(FILES[:count])
    expect(page.get_by_role("button", name="Load more files")).to_be_hidden()
    expect(page.locator("body")).not_to_contain_text("b-secret")


def test_download_saves_the_files_bytes(page: Page) -> None:
    """Download fetches an attachment URL and the browser saves the asset's exact bytes
    under its filename."""
    _open(page)
    with page.expect_download() as started:
        page.get_by_role("button", name="Download report.csv").click()
    download = started.value
    assert download.suggested_filename == "report.csv"
    assert Path(download.path()).read_bytes() == CSV
    with page.expect_download() as started:
        page.get_by_role("button", name="Download logo.png").click()
    assert started.value.suggested_filename == "logo.png"


def test_delete_asks_first_and_the_asset_stays_gone(
    page: Page, seeded: tuple[AssetCatalog, dict[str, str]]
) -> None:
    """Delete opens a confirmation dialog (Escape and Cancel keep the asset); confirming
    deletes it, in the page and in the catalog, also after a reload."""
    catalog, ids = seeded
    _open(page)
    dialog = page.get_by_role("dialog", name="Delete this asset?")
    page.get_by_role("button", name="Delete brief.pdf").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("brief.pdf")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Delete brief.pdf").click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#files tbody .name")).to_have_text(FILES)

    page.get_by_role("button", name="Delete brief.pdf").click()
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#files tbody .name")).to_have_text(["notes.txt", "report.csv"])
    expect(page.get_by_role("status").first).to_have_text("Deleted brief.pdf.")
    with pytest.raises(AssetNotFound):
        catalog.get(A, ids["brief.pdf"])
    page.reload()
    _expect_lists(page, IMAGES, ["notes.txt", "report.csv"])


def test_the_page_is_usable_from_the_keyboard(page: Page) -> None:
    """Every control has a label, Tab reaches the image grid with a visible focus ring, and
    an image is deleted with the keyboard alone."""
    _open(page)
    _expect_lists(page, IMAGES, FILES)
    unlabelled = page.eval_on_selector_all(
        "input, select", "fields => fields.filter(f => f.labels.length === 0).map(f => f.name)"
    )
    assert unlabelled == []
    assert page.locator("[role=button], a:not([href])").count() == 0
    thumb = page.get_by_role("link", name="logo.png")
    for _ in range(30):  # the filters' controls, then the grid
        page.keyboard.press("Tab")
        if thumb.evaluate("link => link === document.activeElement"):
            break
    expect(thumb).to_be_focused()
    assert thumb.evaluate("link => getComputedStyle(link).outlineStyle") == "solid"
    page.keyboard.press("Tab")
    expect(page.locator("#images").get_by_role("link", name="conv_2").first).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Download logo.png")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Delete logo.png")).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete this asset?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#images .card .name")).to_have_text(IMAGES[1:])
    expect(page.get_by_role("link", name="chart.png")).to_be_focused()


def test_a_problem_from_the_api_is_shown(page: Page) -> None:
    """A list request the API refuses (a tampered cursor) shows the problem's title and
    detail in the section, and "Load more" stays to try again."""
    _open(page, "?limit=1")
    _expect_lists(page, IMAGES[:1], FILES[:1])

    def tamper(route: Route) -> None:
        route.continue_(url=re.sub(r"cursor=[^&]+", "cursor=not-a-real-cursor", route.request.url))

    page.route(re.compile(r"/api/assets\?.*cursor="), tamper)
    page.get_by_role("button", name="Load more files").click()
    problem = page.locator("#files").get_by_role("alert")
    expect(problem.locator("strong")).to_have_text("Invalid cursor")  # the problem's title
    expect(problem).to_contain_text("malformed or tampered cursor")  # and its detail
    expect(page.get_by_role("button", name="Load more files")).to_be_enabled()
    page.unroute(re.compile(r"/api/assets\?.*cursor="))
    page.get_by_role("button", name="Load more files").click()
    expect(problem).to_be_hidden()
    expect(page.locator("#files tbody .name")).to_have_text(FILES[:2])


def test_a_refused_delete_shows_the_problem(page: Page) -> None:
    """A delete the host refuses (403) shows its problem, and the asset stays listed."""
    page.context.set_extra_http_headers({"X-Tenant": A, "X-Can-Delete": "no"})
    _open(page)
    page.get_by_role("button", name="Delete report.csv").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    problem = page.locator("#action-problem")
    expect(problem).to_contain_text("Forbidden")
    expect(problem).to_contain_text("not allowed")
    expect(page.locator("#files tbody .name")).to_have_text(FILES)


def test_an_unreachable_server_is_shown(page: Page, server: LiveServer) -> None:
    """When the server stops answering, "Load more" shows a network error, not a blank."""
    _open(page, "?limit=1")
    _expect_lists(page, IMAGES[:1], FILES[:1])
    server.stop()
    page.get_by_role("button", name="Load more images").click()
    expect(page.locator("#images").get_by_role("alert")).to_contain_text("Network error")
    expect(page.locator("#images .card")).to_have_count(1)


@pytest.mark.parametrize("server", ["fastapi"], indirect=True)
def test_screenshot(page: Page, tmp_path: Path) -> None:
    """The page renders to a screenshot (written to docs/page.png when asked)."""
    _open(page)
    _expect_lists(page, IMAGES, FILES)
    for img in page.locator("#images img").all():
        expect(img).to_have_js_property("complete", True)
    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.read_bytes().startswith(b"\x89PNG")
    if os.environ.get("ASSET_CATALOG_WRITE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
