"""Host apps around the web adapters, served for real on loopback.

The tenant comes from an ``X-Tenant`` header (the host's auth, in a real app), the caller
from ``X-User``, and ``X-Can-Delete: no`` refuses deletes: enough for the contract suite to
play several tenants and callers.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from asset_catalog import AssetCatalog

ADAPTERS = ("fastapi", "flask")


def fastapi_app(catalog: AssetCatalog, **options: Any) -> Any:
    """``options`` go to ``assets_router`` (``conversation_url`` ...)."""
    from fastapi import FastAPI, Header

    from asset_catalog.fastapi import assets_router

    def tenant(x_tenant: str = Header(min_length=1, max_length=255)) -> str:
        return x_tenant

    def user(x_user: str | None = Header(default=None, max_length=255)) -> str | None:
        return x_user

    def may_delete(x_can_delete: str | None = Header(default=None)) -> bool:
        return x_can_delete != "no"

    app = FastAPI(title="asset_catalog test host", version="1")
    router = assets_router(catalog, tenant=tenant, actor=user, can_delete=may_delete, **options)
    app.include_router(router, prefix="/api")
    return app


def flask_app(catalog: AssetCatalog, **options: Any) -> Any:
    """``options`` go to ``assets_blueprint``."""
    from flask import Flask, request

    from asset_catalog.flask import assets_blueprint

    app = Flask("asset_catalog_test_host")
    blueprint = assets_blueprint(
        catalog,
        tenant=lambda: request.headers.get("X-Tenant", ""),
        actor=lambda: request.headers.get("X-User"),
        can_delete=lambda: request.headers.get("X-Can-Delete") != "no",
        **options,
    )
    app.register_blueprint(blueprint, url_prefix="/api")
    return app


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def serving_asgi(app: Any) -> Iterator[str]:
    """An ASGI app on a real uvicorn server on loopback; yields its base URL."""
    import uvicorn

    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextlib.contextmanager
def serving(adapter: str, catalog: AssetCatalog) -> Iterator[str]:
    """The host app of ``adapter`` on a real HTTP server; yields its base URL."""
    if adapter == "fastapi":
        with serving_asgi(fastapi_app(catalog)) as base:
            yield base
    else:
        from werkzeug.serving import make_server

        wsgi = make_server("127.0.0.1", 0, flask_app(catalog), threaded=True)
        thread = threading.Thread(target=wsgi.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{wsgi.server_port}"
        finally:
            wsgi.shutdown()
            wsgi.server_close()
