"""The documentation's code runs: every Python snippet in README.md and docs/, and examples/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx2
import openai
import pytest

from .openai_fixtures import BASE_URL, CSV, FakeOpenAI
from .openai_fixtures import recording as openai_recording

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(?P<skip><!-- not-run:[^>]*-->\n)?```python\n(?P<code>.*?)```", re.DOTALL)
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def snippets(path: Path) -> list[str]:
    return [m["code"] for m in BLOCK.finditer(path.read_text()) if not m["skip"]]


def _openai_answers_from_a_recording(monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """``OpenAI()`` and ``AsyncOpenAI()`` in a page reach a recorded server (over httpx2's
    MockTransport), never the network: ``responses.create`` answers a recorded response with
    two images, a chart and cited files, and the files are served."""
    server = FakeOpenAI()
    server.response = openai_recording()
    server.files[("cntr_1", "cfile_1")] = CSV
    server.files[("cntr_1", "cfile_2")] = b"x,y\n1,2\n"

    class RecordedOpenAI(openai.OpenAI):
        def __init__(self, **_options: Any) -> None:
            http = httpx2.Client(transport=server.transport)
            super().__init__(api_key="sk-docs", base_url=BASE_URL, http_client=http)

    class RecordedAsyncOpenAI(openai.AsyncOpenAI):
        def __init__(self, **_options: Any) -> None:
            http = httpx2.AsyncClient(transport=server.transport)
            super().__init__(api_key="sk-docs", base_url=BASE_URL, http_client=http)

    monkeypatch.setattr(openai, "OpenAI", RecordedOpenAI)
    monkeypatch.setattr(openai, "AsyncOpenAI", RecordedAsyncOpenAI)
    return server


class TestDocSnippets:
    """Snippets in the docs are executed, in order, one namespace per page."""

    @pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
    def test_page_snippets_run(
        self, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every unmarked Python block of the page runs as written, in a fresh directory and a
        fresh namespace: nothing is defined for it but what the page itself defines."""
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(os, "environ", os.environ.copy())  # a page may set its variables
        os.environ["OPENAI_AGENTS_DISABLE_TRACING"] = "1"  # nothing leaves the machine
        _openai_answers_from_a_recording(monkeypatch)
        namespace: dict[str, object] = {}
        for code in snippets(path):
            exec(compile(code, str(path), "exec"), namespace)

    def test_the_api_page_has_snippets(self) -> None:
        """The API reference is exercised, not skipped."""
        assert len(snippets(ROOT / "docs" / "api.md")) >= 8

    @pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
    def test_only_live_services_are_not_run(self, path: Path) -> None:
        """A block is left out only when a live third-party service (a cloud store, an
        OpenAI response) is its point, never for the library's own calls."""
        reasons = re.findall(r"<!-- not-run: ([^>]*)-->", path.read_text())
        for reason in reasons:
            assert re.search(r"\b(S3|gcsfs|adlfs|cloud|OpenAI)\b", reason), reason


class TestDemo:
    """`make demo` runs the demo script; it must work on a fresh directory and on a rerun."""

    def test_demo_runs_twice(self, tmp_path: Path) -> None:
        """The demo ingests, links, lists, presigns, serves and deletes, twice in a row."""
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, str(ROOT / "examples" / "demo.py"), str(tmp_path / "data")],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert "retried tool call ig_001 -> same asset: True" in done.stdout
            assert "served revenue.csv: 34 bytes" in done.stdout
            assert "tenant-other sees 0 assets" in done.stdout


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(local_catalog: object) -> Iterator[str]:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from wsgi_app import AssetRoutes
    finally:
        sys.path.remove(str(ROOT / "examples"))
    server = make_server("127.0.0.1", 0, AssetRoutes(local_catalog), handler_class=_QuietHandler)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _call(
    url: str, method: str = "GET", tenant: str | None = "t1"
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    if tenant:
        request.add_header("X-Tenant", tenant)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


class TestWsgiExample:
    """The integration example serves the catalog over real HTTP."""

    def test_list_presign_download_delete(self, served: str, local_catalog: object) -> None:
        """A browser-style client lists, gets a URL, downloads with safe headers, deletes."""
        from asset_catalog import AssetCatalog

        assert isinstance(local_catalog, AssetCatalog)
        local_catalog._signer._base_url = f"{served}/assets/download"  # the app's own origin
        page = b"<html><script>alert(1)</script></html>"
        html = local_catalog.ingest_container_file(
            "t1", page, container_id="c", file_id="f", filename="page.html"
        )
        status, _, body = _call(f"{served}/api/assets")
        assert status == 200
        assert [item["id"] for item in json.loads(body)["items"]] == [html.id]

        status, _, body = _call(f"{served}/api/assets/{html.id}/url", method="POST")
        assert status == 200
        url = json.loads(body)["url"]
        status, headers, content = _call(url, tenant=None)
        assert status == 200
        assert content == page
        assert headers["Content-Type"] == "text/html"
        assert headers["Content-Disposition"].startswith("attachment;")
        assert headers["X-Content-Type-Options"] == "nosniff"

        assert _call(url[:-3] + "AAA", tenant=None)[0] == 403
        assert _call(f"{served}/api/assets/{html.id}", tenant="t2")[0] == 404
        assert _call(f"{served}/api/assets?cursor=forged")[0] == 400
        assert _call(f"{served}/api/assets/{html.id}", method="DELETE")[0] == 204
        assert _call(url, tenant=None)[0] == 404
