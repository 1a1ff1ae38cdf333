"""The Django recipe of docs/integration.md, as written, through Django's test client: the
page's snippets run in order (the catalog of section 1, then the views), and the views are
served by Django with that page's ``urlpatterns``."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asset_catalog import AssetCatalog, EventKind

from .images import png_bytes
from .test_docs import ROOT, snippets

django = pytest.importorskip("django")

GUIDE = ROOT / "docs" / "integration.md"
HTML = b"<!doctype html><script>alert(1)</script>"


class Recipe:
    """The guide's namespace (its catalog and views) behind Django's test client."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        from django.test import Client

        self.catalog: AssetCatalog = namespace["catalog"]
        self.a = Client(headers={"X-Tenant": "tenant-a", "X-User": "user-7"})
        self.b = Client(headers={"X-Tenant": "tenant-b"})
        self.image = self.catalog.ingest_image(
            "tenant-a", png_bytes(9, 9), tool_call_id="ig_dj", conversation_id="conv_dj"
        )
        self.page = self.catalog.ingest_upload("tenant-a", HTML, filename="page.html")
        self.theirs = self.catalog.ingest_image("tenant-b", png_bytes(5, 5), tool_call_id="ig_b")


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Recipe]:
    from django.conf import settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "environ", os.environ.copy())
    namespace: dict[str, Any] = {"__name__": "recipe_views"}  # what a views.py would be
    code = [c for c in snippets(GUIDE) if "open_catalog(" in c or "django" in c]
    assert len(code) == 2, "section 1 and the Django recipe"
    for block in code:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    urls = types.ModuleType("recipe_urls")
    urls.urlpatterns = namespace["urlpatterns"]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "recipe_urls", urls)
    if not settings.configured:
        settings.configure(ALLOWED_HOSTS=["testserver"], ROOT_URLCONF="recipe_urls")
        django.setup()
    from django.urls import clear_url_caches

    clear_url_caches()
    yield Recipe(namespace)
    namespace["catalog"].close()
    clear_url_caches()


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert b"Traceback" not in response.content
    return body


def test_lists_with_filters_and_pages_tenant_scoped(recipe: Recipe) -> None:
    listed = recipe.a.get("/api/assets", {"conversation_id": "conv_dj"}).json()
    assert [a["id"] for a in listed["items"]] == [recipe.image.id]
    assert "tenant_id" not in listed["items"][0]
    first = recipe.a.get("/api/assets", {"limit": "1"}).json()
    rest = recipe.a.get("/api/assets", {"limit": "1", "cursor": first["next_cursor"]}).json()
    assert {first["items"][0]["id"], rest["items"][0]["id"]} == {recipe.image.id, recipe.page.id}
    assert [a["id"] for a in recipe.b.get("/api/assets").json()["items"]] == [recipe.theirs.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "many"}, "limit"), ({"asset_type": "video"}, "asset_type"),
     ({"cursor": "forged"}, "cursor"), ({"created_after": "yesterday"}, "created_after")],
)  # fmt: skip
def test_bad_queries_are_400_problems(recipe: Recipe, query: dict[str, str], field: str) -> None:
    assert problem(recipe.a.get("/api/assets", query), 400)["field"] == field


def test_detail_is_404_for_others_and_unknown(recipe: Recipe) -> None:
    assert recipe.a.get(f"/api/assets/{recipe.image.id}").json()["id"] == recipe.image.id
    problem(recipe.a.get(f"/api/assets/{recipe.theirs.id}"), 404)
    problem(recipe.a.get("/api/assets/nope"), 404)
    refused = recipe.a.post(f"/api/assets/{recipe.image.id}")  # Django's own 405
    assert refused.status_code == 405
    assert refused["Allow"] == "GET, DELETE"


def test_a_download_url_serves_the_bytes_once_audited(recipe: Recipe) -> None:
    url = recipe.a.get(f"/api/assets/{recipe.page.id}/download-url").json()
    assert url["kind"] == "catalog"
    assert url["url"].startswith("https://downloads.chat.example/assets/download/")
    token = url["url"].rsplit("/", 1)[1]
    served = recipe.b.get(f"/api/assets/download/{token}")  # the link is the permission
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == HTML
    assert served["Content-Disposition"].startswith("attachment")  # active content
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Length"] == str(len(HTML))
    trail = recipe.catalog.events("tenant-a", recipe.page.id)
    assert [e.actor for e in trail if e.event == EventKind.DOWNLOADED] == [None]
    problem(recipe.a.get(f"/api/assets/download/{token[:-2]}xx"), 403)


def test_delete_is_idempotent_and_tenant_scoped(recipe: Recipe) -> None:
    assert recipe.a.delete(f"/api/assets/{recipe.image.id}").status_code == 204
    assert recipe.a.delete(f"/api/assets/{recipe.image.id}").status_code == 204
    problem(recipe.a.get(f"/api/assets/{recipe.image.id}"), 404)
    problem(recipe.a.delete(f"/api/assets/{recipe.theirs.id}"), 404)
    assert recipe.catalog.get("tenant-b", recipe.theirs.id).id == recipe.theirs.id
    deleted = recipe.catalog.events("tenant-a", recipe.image.id)
    assert [e.actor for e in deleted if e.event == EventKind.DELETED] == ["user-7"]
