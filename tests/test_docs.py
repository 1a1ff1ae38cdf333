"""The documentation's code runs: every Python snippet in README.md and docs/, and examples/."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from .openai_fixtures import BASE_URL, CSV, FakeOpenAI
from .openai_fixtures import recording as openai_recording

pytestmark = pytest.mark.variants  # catalogs make thumbnails (tests/conftest.py)

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
        namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}  # as in a module
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
            assert "Images / Files page" not in done.stdout  # the walkthrough alone

    def test_demo_serves_the_captured_turns_until_interrupted(self, tmp_path: Path) -> None:
        """``--serve`` (``make demo``): the recorded turns are captured, the page and the API
        serve them at the printed URL, and Ctrl+C stops it cleanly."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [sys.executable, str(ROOT / "examples" / "demo.py"), str(tmp_path / "data")]
        demo = subprocess.Popen(
            [*command, "--serve", "--port", str(port)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert demo.stdout is not None
            printed = []
            for line in iter(demo.stdout.readline, ""):  # until the URL (or an early exit)
                printed.append(line)
                if line.startswith("Images / Files page"):
                    break
            assert any(line.startswith("captured conv_finance") for line in printed), printed
            base = f"http://127.0.0.1:{port}"
            assert printed[-1].strip().startswith(f"Images / Files page: {base}/")
            with httpx2.Client(base_url=base, timeout=10) as http:
                page = http.get("/", follow_redirects=True)
                assert page.status_code == 200
                assert "Images and files" in page.text
                items = http.get("/api/assets", params={"conversation_id": "conv_finance"}).json()
                names = sorted(a["filename"] for a in items["items"])
                assert names[-2:] == ["revenue.csv", "summary.md"]
                assert (
                    len(http.get("/api/assets", params={"asset_type": "image"}).json()["items"])
                    == 5
                )
        finally:
            demo.send_signal(signal.SIGINT)
            rest, _ = demo.communicate(timeout=30)
        assert demo.returncode == 0
        assert "data kept under" in rest
