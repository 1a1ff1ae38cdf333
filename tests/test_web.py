"""One HTTP contract for every web adapter (FastAPI router, Flask blueprint), over a real
HTTP server on loopback and a real HTTP client."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from asset_catalog import Asset, AssetCatalog, EventKind, ReconcileReport, open_catalog

from .images import png_bytes
from .web_apps import ADAPTERS, serving

pytestmark = pytest.mark.variants  # catalogs make thumbnails (tests/conftest.py)

SECRET = "a-long-random-secret-for-web-tests"
A, B = {"X-Tenant": "tenant-a", "X-User": "user-7"}, {"X-Tenant": "tenant-b"}
CSV = b"region,revenue\nnorth,120\nsouth,80\n" * 40
HTML = b"<!doctype html><html><script>alert(1)</script></html>"


class Web:
    """A live app and its catalog, seeded with tenant A's and tenant B's assets."""

    def __init__(self, base: str, catalog: AssetCatalog) -> None:
        self.base = base
        self.catalog = catalog
        self.http = httpx2.Client(base_url=f"{base}/api", timeout=10)
        self.images = [
            catalog.ingest_image(
                "tenant-a", png_bytes(8 + n, 8), tool_call_id=f"ig_{n}", response_id="resp_1",
                conversation_id="conv_1", user_id="u1",
            )
            for n in range(3)
        ]  # fmt: skip
        self.csv = catalog.ingest_container_file(
            "tenant-a", CSV, container_id="cntr_1", file_id="f1", filename="report.csv",
            conversation_id="conv_2", response_id="resp_1",
        )  # fmt: skip
        self.html = catalog.ingest_upload("tenant-a", HTML, filename="page.html")
        self.theirs = catalog.ingest_image("tenant-b", png_bytes(5, 5), tool_call_id="ig_b")

    def get(self, path: str, headers: dict[str, str] = A, **kw: Any) -> httpx2.Response:
        return self.http.get(path, headers=headers, **kw)

    def events(self, asset: Asset, kind: str) -> list[Any]:
        return [e for e in self.catalog.events(asset.tenant_id, asset.id) if e.event == kind]


@pytest.fixture(params=ADAPTERS)
def web(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Web]:
    catalog = open_catalog(
        f"sqlite:///{tmp_path / 'web.db'}", f"file://{tmp_path / 'blobs'}", secret=SECRET
    )
    with serving(request.param, catalog) as base:
        site = Web(base, catalog)
        yield site
        site.http.close()
    catalog.close()


def open_files_under(root: Path) -> list[str]:
    """The files under ``root`` this process (where the test servers run) holds open."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith(str(root.resolve())):
                found.append(target)
    return found


def assert_problem(response: httpx2.Response, status: int, field: str | None = None) -> None:
    """An RFC 9457 problem with that status (and field), never a stack trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["type"].startswith("urn:asset-catalog:problem:")
    assert "Traceback" not in response.text
    if field is not None:
        assert body["field"] == field, body


class TestList:
    """GET /assets: every filter of list, pages by cursor, tenant-scoped."""

    def test_lists_the_tenants_assets_newest_first(self, web: Web) -> None:
        """Tenant A sees its five assets, newest first, and none of B's; the JSON has no
        internal field."""
        items = web.get("/assets").json()["items"]
        assert [i["id"] for i in items] == [
            a.id for a in (web.html, web.csv, *reversed(web.images))
        ]
        assert {"tenant_id", "storage_object_id", "idempotency_key"} & set(items[0]) == set()
        assert web.theirs.id not in {i["id"] for i in web.get("/assets", B).json()["items"]} - {
            web.theirs.id
        }
        assert [i["id"] for i in web.get("/assets", B).json()["items"]] == [web.theirs.id]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ({"asset_type": "file"}, ["html", "csv"]),
            ({"mime_prefix": "image/"}, ["img2", "img1", "img0"]),
            ({"conversation_id": "conv_2"}, ["csv"]),
            ({"response_id": "resp_1", "asset_type": "image"}, ["img2", "img1", "img0"]),
            ({"tool_call_id": "ig_1"}, ["img1"]),
            ({"container_id": "cntr_1"}, ["csv"]),
            ({"user_id": "u1", "limit": "1"}, ["img2"]),
            ({"source_tool": "user_upload"}, ["html"]),
            ({"created_after": "2999-01-01T00:00:00Z"}, []),
        ],
    )
    def test_filters(self, web: Web, query: dict[str, str], expected: list[str]) -> None:
        """Each filter selects exactly its assets."""
        names = {a.id: f"img{n}" for n, a in enumerate(web.images)}
        names |= {web.csv.id: "csv", web.html.id: "html"}
        items = web.get("/assets", params=query).json()["items"]
        assert [names[i["id"]] for i in items] == expected

    def test_pages_by_cursor(self, web: Web) -> None:
        """limit and next_cursor page through everything once."""
        seen, cursor = [], None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            body = web.get("/assets", params=params).json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == 5
        assert len(set(seen)) == 5

    @pytest.mark.parametrize(
        ("query", "field"),
        [
            ({"cursor": "forged"}, "cursor"),
            ({"limit": "0"}, "limit"),
            ({"limit": "many"}, "limit"),
            ({"asset_type": "video"}, "asset_type"),
            ({"created_after": "yesterday"}, "created_after"),
            ({"created_before": "0.5"}, "created_before"),  # not a Unix time either
            ({"created_before": "2026-12-01T10:00:00"}, "created_before"),  # no time zone
            ({"mime_prefix": "image/\x12"}, "mime_prefix"),
            ({"conversation_id": "conv\x01"}, "conversation_id"),
        ],
    )
    def test_bad_queries_are_400_problems(
        self, web: Web, query: dict[str, str], field: str
    ) -> None:
        """A bad filter, limit or cursor is a 400 problem naming the field."""
        assert_problem(web.get("/assets", params=query), 400, field)

    @pytest.mark.parametrize(
        "field",
        ["asset_type", "conversation_id", "agent_key", "limit", "created_after", "created_before"],
    )
    def test_an_empty_filter_is_a_400_problem(self, web: Web, field: str) -> None:
        """``?created_before=`` is not a date (the OpenAPI document says so): 400, naming it."""
        assert_problem(web.get("/assets", params={field: ""}), 400, field)

    def test_an_empty_cursor_is_the_first_page(self, web: Web) -> None:
        """``?cursor=`` (a form's empty field) is the first page, not a malformed cursor."""
        first = web.get("/assets", params={"cursor": "", "limit": "2"})
        assert first.status_code == 200, first.text
        assert first.json() == web.get("/assets", params={"limit": "2"}).json()

    def test_a_cursor_of_another_tenant_is_refused(self, web: Web) -> None:
        """A's cursor replayed by B: 400, nothing of A's."""
        cursor = web.get("/assets", params={"limit": "1"}).json()["next_cursor"]
        assert_problem(web.get("/assets", B, params={"cursor": cursor}), 400, "cursor")


class TestDetail:
    """GET /assets/{id} and /events: 404 for unknown, deleted and other tenants' ids."""

    def test_one_asset_and_its_trail(self, web: Web) -> None:
        """The asset, and its events oldest first."""
        body = web.get(f"/assets/{web.csv.id}").json()
        assert (body["filename"], body["mime_type"]) == ("report.csv", "text/csv")
        assert body["created_at"].endswith("Z")
        events = web.get(f"/assets/{web.csv.id}/events").json()["items"]
        assert [e["event"] for e in events] == ["created"]

    @pytest.mark.parametrize("path", ["/assets/{id}", "/assets/{id}/events"])
    def test_others_and_unknown_are_404(self, web: Web, path: str) -> None:
        """Another tenant's id is exactly as unknown as a made-up one."""
        assert_problem(web.get(path.format(id=web.theirs.id)), 404)
        assert_problem(web.get(path.format(id="no-such-asset")), 404)


class TestDownloadUrls:
    """Single and batch download URLs, repeating within their window."""

    def test_a_url_served_by_this_api(self, web: Web) -> None:
        """The URL points at this app's download route, and serves the bytes."""
        body = web.get(f"/assets/{web.csv.id}/download-url", params={"expires_in": "60"}).json()
        assert body["kind"] == "catalog"
        assert body["url"].startswith(f"{web.base}/api/assets/download/")
        fetched = httpx2.get(body["url"])
        assert fetched.content == CSV
        assert fetched.headers["content-disposition"].startswith("attachment;")

    def test_a_batch_with_missing_ids(self, web: Web) -> None:
        """Live ids get URLs; unknown and other tenants' ids are missing."""
        ids = [web.images[0].id, "nope", web.theirs.id]
        body = web.http.post("/assets/download-urls", json={"ids": ids}, headers=A).json()
        assert list(body["urls"]) == [web.images[0].id]
        assert body["missing"] == ["nope", web.theirs.id]

    def test_a_batch_of_thumbnails_reports_its_fallbacks(self, web: Web) -> None:
        """variant=thumbnail: each image's thumbnail URL (it serves the WebP), the file's own
        URL listed in fallbacks; get shows the placeholder and the lineage fields."""
        ids = [web.images[0].id, web.csv.id]
        body = web.http.post(
            "/assets/download-urls", json={"ids": ids, "variant": "thumbnail"}, headers=A
        ).json()
        assert body["fallbacks"] == [web.csv.id]
        assert body["urls"][web.images[0].id]["variant"] == "thumbnail"
        assert body["urls"][web.csv.id]["variant"] is None
        fetched = httpx2.get(body["urls"][web.images[0].id]["url"])
        assert fetched.headers["content-type"] == "image/webp"
        shown = web.get(f"/assets/{web.images[0].id}").json()
        assert shown["placeholder"].startswith("data:image/webp;base64,")
        assert (shown["variant_of"], shown["variant"], shown["source_asset_id"]) == (None,) * 3

    def test_urls_repeat_and_are_recorded_once(self, web: Web) -> None:
        """The same grid twice: the same URLs, one url_issued per asset and caller."""
        ids = [a.id for a in web.images]
        first = web.http.post("/assets/download-urls", json={"ids": ids}, headers=A).json()
        again = web.http.post("/assets/download-urls", json={"ids": ids}, headers=A).json()
        assert first["urls"] == again["urls"]
        for image in web.images:
            issued = web.events(image, EventKind.URL_ISSUED)
            assert [e.actor for e in issued] == ["user-7"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"ids": [f"a{n}" for n in range(101)]}, "ids"),
            ({"ids": "one"}, "ids"),
            ({"ids": [""]}, "ids"),
            ({"ids": ["a\x00"]}, "ids"),
            ({"ids": [], "expires_in": 0}, "expires_in"),
            ({"ids": [], "disposition": "evil"}, "disposition"),
            ({"ids": [], "variant": "Thumb nail"}, "variant"),
            ({"ids": [], "tenant_id": "tenant-b"}, "tenant_id"),
        ],
    )
    def test_bad_batches_are_400_problems(self, web: Web, body: Any, field: str) -> None:
        """Too many ids, a wrong type or an unknown field: 400 naming it."""
        assert_problem(web.http.post("/assets/download-urls", json=body, headers=A), 400, field)

    @pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe", b"[1, 2]"])
    def test_a_body_that_is_not_a_json_object_is_a_400_problem(self, web: Web, body: bytes) -> None:
        """Broken JSON, bytes that are not text, a JSON list: 400 naming the body."""
        sent = {**A, "Content-Type": "application/json"}
        response = web.http.post("/assets/download-urls", content=body, headers=sent)
        assert_problem(response, 400)
        assert response.json().get("field") in {"body", None}

    def test_bad_single_url_arguments(self, web: Web) -> None:
        """expires_in out of range is 400; another tenant's asset 404."""
        path = f"/assets/{web.csv.id}/download-url"
        assert_problem(web.get(path, params={"expires_in": "0"}), 400, "expires_in")
        assert_problem(web.get(f"/assets/{web.theirs.id}/download-url"), 404)


class TestDownloads:
    """GET/HEAD of catalog-signed URLs: streamed, ETag/304, Range/206/416, audited once."""

    def url(self, web: Web, asset: Asset) -> str:
        return web.get(f"/assets/{asset.id}/download-url").json()["url"]

    def test_get_head_revalidate_and_ranges(self, web: Web) -> None:
        """One full GET, a HEAD, a 304 and range pieces: one downloaded event per download
        (the GET and the range from byte 0)."""
        url = self.url(web, web.csv)
        full = httpx2.get(url)
        assert full.status_code == 200
        assert full.content == CSV
        headers = full.headers
        assert headers["content-length"] == str(len(CSV))
        assert headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in headers["content-security-policy"]
        assert headers["accept-ranges"] == "bytes"
        etag = headers["etag"]
        head = httpx2.head(url)
        assert (head.status_code, head.content, head.headers["etag"]) == (200, b"", etag)
        assert head.headers["content-length"] == str(len(CSV))
        same = httpx2.get(url, headers={"If-None-Match": etag})
        assert (same.status_code, same.content) == (304, b"")
        first = httpx2.get(url, headers={"Range": "bytes=0-9"})
        assert (first.status_code, first.content) == (206, CSV[:10])
        assert first.headers["content-range"] == f"bytes 0-9/{len(CSV)}"
        rest = httpx2.get(url, headers={"Range": "bytes=10-"})
        assert (rest.status_code, rest.content) == (206, CSV[10:])
        tail = httpx2.get(url, headers={"Range": "bytes=-5"})
        assert tail.content == CSV[-5:]
        beyond = httpx2.get(url, headers={"Range": f"bytes={len(CSV)}-"})
        assert beyond.status_code == 416
        assert beyond.headers["content-range"] == f"bytes */{len(CSV)}"
        several = httpx2.get(url, headers={"Range": "bytes=0-1,5-6"})
        assert (several.status_code, several.content) == (200, CSV)
        downloads = web.events(web.csv, EventKind.DOWNLOADED)
        assert len(downloads) == 3  # the full GET, bytes=0-9 and the multi-range (full) GET

    def test_active_content_is_an_attachment(self, web: Web) -> None:
        """HTML is served as an attachment, never inline, whatever was asked."""
        url = web.get(f"/assets/{web.html.id}/download-url", params={"disposition": "inline"})
        served = httpx2.get(url.json()["url"])
        assert served.headers["content-disposition"].startswith("attachment;")
        assert served.headers["content-type"].startswith("text/html")

    def test_bad_expired_and_gone_tokens(self, web: Web) -> None:
        """A tampered token is 403, an expired one 410, a deleted asset's 404."""
        url = self.url(web, web.csv)
        assert_problem(httpx2.get(url[:-3] + "AAA"), 403)
        expired = web.catalog.presign("tenant-a", web.csv.id, expires_in=1)
        web.catalog.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        assert_problem(httpx2.get(f"{web.base}/api/assets/download/{expired.token}"), 410)
        web.catalog.clock = lambda: dt.datetime.now(dt.UTC)
        web.catalog.delete("tenant-a", web.csv.id)
        assert_problem(httpx2.get(url), 404)

    def test_a_missing_blob_is_503_not_500(self, web: Web) -> None:
        """The blob removed behind the catalog's back: a 503 problem, no stack trace."""
        url = self.url(web, web.csv)
        obj = web.catalog.repository.get_object(web.csv.storage_object_id)
        assert obj is not None
        os.remove(os.path.join(web.catalog.storage.root, obj.key))  # type: ignore[attr-defined]
        assert_problem(httpx2.get(url), 503)

    def test_a_client_that_disconnects_halfway(self, web: Web) -> None:
        """A client hangs up after the first 64 KiB of a 6 MiB download: the server closes the
        blob (no file left open), stays up, records the download once, and the next client
        gets every byte; reconcile() and verify() find nothing to do."""
        content = os.urandom(6 * 1024 * 1024)
        big = web.catalog.ingest_upload("tenant-a", content, filename="big.bin")
        url = httpx2.URL(self.url(web, big))
        blob = Path(web.catalog.storage.root)  # type: ignore[attr-defined]
        for _ in range(3):
            with socket.create_connection((url.host, url.port), timeout=10) as sock:
                request = f"GET {url.raw_path.decode()} HTTP/1.1\r\nHost: {url.host}\r\n\r\n"
                sock.sendall(request.encode())
                received = b""
                while len(received) < 64 * 1024:
                    received += sock.recv(65536)
                assert received.startswith(b"HTTP/1.1 200")
                assert open_files_under(blob)  # the server is streaming the blob
        # The server notices on its next write; give it a moment, then nothing is open.
        deadline = time.monotonic() + 10
        while open_files_under(blob) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_files_under(blob) == []
        full = httpx2.get(str(url))
        assert full.status_code == 200
        assert hashlib.sha256(full.content).hexdigest() == big.sha256
        assert len(web.events(big, EventKind.DOWNLOADED)) == 4  # each GET from byte 0
        assert web.catalog.reconcile(older_than=dt.timedelta(0)) == ReconcileReport()
        assert web.catalog.verify().ok


class TestDelete:
    """DELETE /assets/{id}: 204, idempotent, audited with the caller, refusable."""

    def test_delete_is_idempotent_and_audited(self, web: Web) -> None:
        """204 twice; gone from the list; the deleted event names the caller."""
        path = f"/assets/{web.csv.id}"
        assert web.http.delete(path, headers=A).status_code == 204
        assert web.http.delete(path, headers=A).status_code == 204
        assert_problem(web.get(path), 404)
        (deleted,) = web.events(web.csv, EventKind.DELETED)
        assert deleted.actor == "user-7"

    def test_refused_unknown_and_others(self, web: Web) -> None:
        """A refusal is 403 and deletes nothing; unknown and other tenants' ids are 404."""
        refused = web.http.delete(f"/assets/{web.csv.id}", headers={**A, "X-Can-Delete": "no"})
        assert_problem(refused, 403)
        assert web.get(f"/assets/{web.csv.id}").status_code == 200
        assert_problem(web.http.delete("/assets/nope", headers=A), 404)
        assert_problem(web.http.delete(f"/assets/{web.theirs.id}", headers=A), 404)
        assert web.catalog.get("tenant-b", web.theirs.id).id == web.theirs.id


class TestMethods:
    """A method a path has no route for: a 405 problem whose Allow lists every method."""

    @pytest.mark.parametrize(
        ("method", "path", "expected"),
        [
            ("PUT", "/assets/{id}", {"GET", "DELETE"}),
            ("POST", "/assets/{id}", {"GET", "DELETE"}),
            ("DELETE", "/assets", {"GET"}),
            ("PUT", "/assets/download-urls", {"POST"}),  # (Flask adds /assets/{id}'s too)
        ],
    )
    def test_405_lists_what_is_allowed(
        self, web: Web, method: str, path: str, expected: set[str]
    ) -> None:
        response = web.http.request(method, path.format(id=web.csv.id), headers=A)
        assert_problem(response, 405)
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert expected <= allowed <= {"GET", "HEAD", "POST", "DELETE", "OPTIONS"}


class TestPage:
    """The Images / Files page is served by the adapter, with its files and its policy."""

    def test_the_page_and_its_files(self, web: Web) -> None:
        """HTML naming the API base, its script and style, a strict CSP; 404 otherwise."""
        page = web.get("/assets/page")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'data-api="/api"' in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        for name, kind in (("app.js", "javascript"), ("app.css", "css")):
            served = web.get(f"/assets/page/{name}")
            assert served.status_code == 200
            assert kind in served.headers["content-type"]
        assert_problem(web.get("/assets/page/secrets.txt"), 404)
