"""examples/host_app.py, the chat host of the web docs, on a real server: a turn's images and
files are captured from a (recorded) OpenAI response and served by the router; its OpenAPI
document is the committed docs/openapi.json; schemathesis finds no 5xx and no response that
breaks the schema."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest
from hypothesis import settings

from .openai_fixtures import CSV, PNG_A, FakeOpenAI, recording
from .web_apps import serving_asgi

pytestmark = pytest.mark.variants  # catalogs make thumbnails (tests/conftest.py)

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "docs" / "openapi.json"
TENANT = {"X-Tenant": "acme"}


def load_host_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh import of the example, on a catalog under ``tmp_path`` and a recorded OpenAI."""
    monkeypatch.setenv("ASSET_DB_URL", f"sqlite:///{tmp_path / 'assets.db'}")
    monkeypatch.setenv("ASSET_STORAGE_URL", f"file://{tmp_path / 'blobs'}")
    monkeypatch.setenv("ASSET_SIGNING_KEY", "a-long-random-secret-for-host-tests")
    spec = importlib.util.spec_from_file_location("host_app", ROOT / "examples" / "host_app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fake = FakeOpenAI()
    fake.response = recording()
    fake.files[("cntr_1", "cfile_1")] = CSV
    fake.files[("cntr_1", "cfile_2")] = b"x,y\n1,2\n"
    monkeypatch.setattr(module, "openai_client", fake.async_client)
    return module


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ModuleType, str]]:
    module = load_host_app(tmp_path, monkeypatch)
    with serving_asgi(module.app) as base:
        yield module, base
    module.catalog.sync.close()


def test_a_turn_is_captured_then_listed_downloaded_and_deleted(
    host: tuple[ModuleType, str],
) -> None:
    _, base = host
    with httpx2.Client(base_url=base, headers=TENANT, timeout=10) as http:
        turn = http.post("/api/conversations/conv_9/turns", params={"prompt": "a fox"})
        assert turn.status_code == 200, turn.text
        captured = turn.json()["assets"]
        assert len(captured) == 5  # two images, a chart, two cited files

        listed = http.get("/api/assets", params={"conversation_id": "conv_9"}).json()
        assert sorted(a["id"] for a in listed["items"]) == sorted(captured)
        assert all("tenant_id" not in a for a in listed["items"])
        fox = next(a for a in listed["items"] if a["tool_call_id"] == "ig_1")
        assert http.get(f"/api/assets/{fox['id']}").json()["sha256"] == fox["sha256"]

        url = http.get(f"/api/assets/{fox['id']}/download-url").json()["url"]
        assert http.get(url).content == PNG_A
        assert http.delete(f"/api/assets/{fox['id']}").status_code == 204
        assert http.get(f"/api/assets/{fox['id']}").status_code == 404

        page = http.get("/api/assets/page")
        assert page.status_code == 200
        assert "<html" in page.text.lower()
        other = http.get("/api/assets", headers={"X-Tenant": "someone-else"}).json()
        assert other["items"] == []


def test_the_openapi_document_is_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/openapi.json is the host app's document; UPDATE_OPENAPI=1 rewrites it."""
    document = load_host_app(tmp_path, monkeypatch).app.openapi()
    if os.environ.get("UPDATE_OPENAPI"):
        OPENAPI.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    assert json.loads(OPENAPI.read_text()) == document, (
        "docs/openapi.json drifted from the app: run UPDATE_OPENAPI=1 pytest "
        "tests/test_host_app.py and commit it"
    )


schemathesis = pytest.importorskip("schemathesis")
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

SCHEMA = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text()))


class Live:
    """The host app on a real server, with assets of the tenant the fuzzed requests use."""

    def __init__(self, module: ModuleType, base: str) -> None:
        self.base = base
        catalog = module.catalog.sync
        seeded = [
            catalog.ingest_image("acme", PNG_A, tool_call_id="ig_seed", conversation_id="c1"),
            catalog.ingest_container_file(
                "acme", CSV, container_id="cntr_9", file_id="cfile_9", filename="report.csv"
            ),
        ]
        self.ids = [a.id for a in seeded]
        self.tokens = [str(catalog.presign("acme", i).token) for i in self.ids]

    def aim(self, case: Any) -> None:
        """Point a valid generated request at the seeded tenant and, half the time, at a
        seeded asset or token, so successes are checked against the schema too."""
        headers = case.headers or {}
        tenant = headers.get("x-tenant")
        if isinstance(tenant, str) and 1 <= len(tenant) <= 255:
            headers["x-tenant"] = "acme"
        params = case.path_parameters or {}
        for name, known in (("asset_id", self.ids), ("token", self.tokens)):
            value = params.get(name)
            if isinstance(value, str) and value and len(value) % 2:
                params[name] = known[len(value) % len(known)]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        module = load_host_app(tmp_path_factory.mktemp("live"), monkeypatch)
        with serving_asgi(module.app) as base:
            yield Live(module, base)
        module.catalog.sync.close()


@SCHEMA.parametrize()
@settings(max_examples=30, deadline=None)
def test_schemathesis_finds_no_server_error_and_no_response_off_the_schema(
    case: Any, live: Live
) -> None:
    live.aim(case)
    response = case.call(base_url=live.base)
    # A cursor is opaque: any string fits its schema, and one the catalog did not sign is
    # refused (400 invalid-cursor), as it should be. Everything else must be accepted.
    opaque = bool((case.query or {}).get("cursor"))
    case.validate_response(response, excluded_checks=[positive_data_acceptance] if opaque else [])
