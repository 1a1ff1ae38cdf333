"""Wiring the catalog into a web app's routes, with nothing but the standard library.

The same five routes translate directly to Flask, FastAPI, Django or Litestar: parse the
request, call one catalog method, map the catalog's errors to status codes. Here the tenant
comes from an ``X-Tenant`` header as a stand-in for your authentication.

Run it: ``python examples/wsgi_app.py`` and open http://127.0.0.1:8000/api/assets with the
header ``X-Tenant: tenant-acme`` (``make demo`` fills ``demo-data`` first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import make_server

from asset_catalog import (
    Asset,
    AssetCatalog,
    AssetNotFound,
    InvalidInput,
    SignatureError,
    SignatureExpired,
    StorageError,
    open_catalog,
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

STATUS = {200: "200 OK", 204: "204 No Content", 400: "400 Bad Request", 403: "403 Forbidden",
          404: "404 Not Found", 405: "405 Method Not Allowed", 410: "410 Gone",
          502: "502 Bad Gateway"}  # fmt: skip


def asset_json(asset: Asset) -> dict[str, Any]:
    """The fields a chat front end needs for a gallery or an attachment chip."""
    return {
        "id": asset.id,
        "type": asset.asset_type.value,
        "filename": asset.filename,
        "mime_type": asset.mime_type,
        "size_bytes": asset.size_bytes,
        "width": asset.width,
        "height": asset.height,
        "conversation_id": asset.conversation_id,
        "message_id": asset.message_id,
        "created_at": asset.created_at.isoformat(),
    }


class AssetRoutes:
    """A WSGI application exposing list, detail, presign, delete and download routes."""

    def __init__(self, catalog: AssetCatalog) -> None:
        self.catalog = catalog

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            if m := re.fullmatch(r"/assets/download/([A-Za-z0-9_.-]+)", path):
                return self.download(m.group(1), start_response)
            tenant = environ.get("HTTP_X_TENANT", "")
            if path == "/api/assets" and method == "GET":
                query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
                page = self.catalog.list(
                    tenant,
                    conversation_id=query.get("conversation_id"),
                    asset_type=query.get("type"),
                    cursor=query.get("cursor"),
                    limit=int(query.get("limit", "50")),
                )
                body = {"items": [asset_json(a) for a in page.items], "next": page.next_cursor}
                return self.json(200, body, start_response)
            if m := re.fullmatch(r"/api/assets/([^/]+)", path):
                if method == "GET":
                    return self.json(
                        200, asset_json(self.catalog.get(tenant, m.group(1))), start_response
                    )
                if method == "DELETE":
                    self.catalog.delete(tenant, m.group(1), actor=f"user@{tenant}")
                    return self.json(204, None, start_response)
            if (m := re.fullmatch(r"/api/assets/([^/]+)/url", path)) and method == "POST":
                url = self.catalog.presign(tenant, m.group(1), expires_in=300)
                body = {"url": url.url, "expires_at": url.expires_at.isoformat()}
                return self.json(200, body, start_response)
            return self.json(404, {"error": "no such route"}, start_response)
        except AssetNotFound:
            return self.json(404, {"error": "asset not found"}, start_response)
        except InvalidInput as exc:
            return self.json(400, {"error": exc.message, "field": exc.field}, start_response)
        except SignatureExpired:
            return self.json(410, {"error": "link expired"}, start_response)
        except SignatureError:
            return self.json(403, {"error": "invalid link"}, start_response)
        except StorageError:
            return self.json(502, {"error": "storage unavailable"}, start_response)
        except ValueError:
            return self.json(400, {"error": "bad request"}, start_response)

    def download(self, token: str, start_response: StartResponse) -> Iterable[bytes]:
        """Serve a catalog-signed URL: stream the bytes with the catalog's safe headers."""
        _asset, stream, headers = self.catalog.open_signed(token)
        start_response(STATUS[200], list(headers.items()))

        def body() -> Iterator[bytes]:
            with stream:
                while chunk := stream.read(64 * 1024):
                    yield chunk

        return body()

    @staticmethod
    def json(status: int, body: object, start_response: StartResponse) -> list[bytes]:
        data = b"" if body is None else json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        start_response(STATUS[status], headers)
        return [data]


if __name__ == "__main__":
    catalog = open_catalog(
        "sqlite:///demo-data/assets.db",
        "file://demo-data/asset-blobs",
        secret="demo-secret-change-me-0123456789",
        base_url="http://127.0.0.1:8000/assets/download",
    )
    with make_server("127.0.0.1", 8000, AssetRoutes(catalog)) as server:
        print("serving on http://127.0.0.1:8000 (Ctrl-C to stop)")
        server.serve_forever()
