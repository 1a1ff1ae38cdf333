"""The catalog's HTTP API and its Images / Files page as a Flask blueprint (extra ``flask``):
the same routes, JSON and status codes as :func:`asset_catalog.fastapi.assets_router`::

    from asset_catalog.flask import assets_blueprint

    app.register_blueprint(
        assets_blueprint(catalog, tenant=current_tenant, actor=current_user_id,
                         can_delete=may_delete),
        url_prefix="/api",
    )

``tenant``, ``actor`` and ``can_delete`` are functions of no argument called during the
request (they read Flask's ``request`` / ``g`` for the host's authentication).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import IO, Any

try:
    from flask import Blueprint, Response, request, url_for
    from werkzeug.exceptions import MethodNotAllowed
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..exceptions import MissingDependency

    raise MissingDependency("flask", "flask") from exc

from .._catalog import AssetCatalog
from .._inputs import CHUNK
from .._json import to_json
from .._web.downloads import audited_by_request, plan
from .._web.page import PAGE_CSP, index_html, page_file
from .._web.problems import (
    MEDIA_TYPE,
    Problem,
    forbidden,
    in_body,
    method_not_allowed,
    problem_for,
)
from .._web.requests import list_arguments, whole_number
from ..exceptions import AssetCatalogError, AssetNotFound, InvalidInput

__all__ = ["assets_blueprint"]


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def _problem(problem: Problem) -> Response:
    return Response(json.dumps(problem.body()), status=problem.status, mimetype=MEDIA_TYPE)


def _range_of(stream: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    try:
        stream.seek(start)
        left = length
        while left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    finally:
        stream.close()


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    unknown = set(data) - {"ids", "expires_in", "disposition", "variant"}
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "is not a field of this request")
    return data


def assets_blueprint(
    catalog: AssetCatalog,
    *,
    tenant: Callable[[], str],
    actor: Callable[[], str | None] = lambda: None,
    can_delete: Callable[[], bool] | None = None,
    page: bool = True,
    url_window: int = 300,
    conversation_url: str = "",
    name: str = "asset_catalog",
) -> Blueprint:
    """The routes of :func:`asset_catalog.fastapi.assets_router`, on Flask."""
    if not isinstance(catalog, AssetCatalog):
        raise InvalidInput("catalog", "must be an AssetCatalog")
    blueprint = Blueprint(name, __name__)

    @blueprint.errorhandler(AssetCatalogError)
    def catalog_error(error: AssetCatalogError) -> Response:
        return _problem(problem_for(error))

    mounts: list[str] = []
    blueprint.record(lambda state: mounts.append(f"{state.url_prefix or ''}/assets"))

    @blueprint.app_errorhandler(MethodNotAllowed)
    def wrong_method(error: MethodNotAllowed) -> Response | MethodNotAllowed:
        """A 405 under the blueprint is a problem too (Flask routes it before blueprints)."""
        if not any(request.path.startswith(mount) for mount in mounts):
            return error  # the host's own routes keep their own answer
        allowed = sorted(error.valid_methods or ())
        response = _problem(method_not_allowed(request.method, allowed))
        response.headers["Allow"] = ", ".join(allowed)
        return response

    def href(url: Any) -> str:
        if url.kind == "catalog" and url.token:
            return url_for(f"{name}.download", token=url.token, _external=True)
        return str(url.url)

    def url_json(url: Any) -> dict[str, Any]:
        return {**to_json(url), "url": href(url)}

    def expiry_arguments() -> dict[str, Any]:
        found: dict[str, Any] = {}
        if request.args.get("expires_in"):
            found["expires_in"] = whole_number(request.args["expires_in"], "expires_in")
        if request.args.get("disposition"):
            found["disposition"] = request.args["disposition"]
        return found

    if page:

        @blueprint.get("/assets/page")
        def images_and_files() -> Response:
            base = url_for(f"{name}.list_assets").removesuffix("/assets")
            text = index_html(base, conversation_url)
            return Response(
                text, mimetype="text/html", headers={"Content-Security-Policy": PAGE_CSP}
            )

        @blueprint.get("/assets/page/<name_>")
        def page_asset(name_: str) -> Response:
            found = page_file(name_)
            if found is None:
                return _problem(problem_for(AssetNotFound(name_, f"no page file {name_!r}")))
            text, media_type = found
            return Response(text, content_type=media_type, headers={"Cache-Control": "no-cache"})

    @blueprint.route("/assets/download/<token>", methods=["GET", "HEAD"])
    def download(token: str) -> Response:
        method = request.method
        if_none_match, ranged = request.headers.get("If-None-Match"), request.headers.get("Range")
        audit = audited_by_request(method, if_none_match, ranged)
        opened = catalog.open_signed(token, actor=actor(), audit=audit)
        planned = plan(
            method,
            opened.headers,
            opened.asset.size_bytes,
            if_none_match=if_none_match,
            range_header=ranged,
            if_range=request.headers.get("If-Range"),
        )
        if planned.audit and not audit:
            opened.stream.close()
            opened = catalog.open_signed(token, actor=actor())
        if not planned.length:
            opened.stream.close()
            answer = Response(status=planned.status, headers=planned.headers)
            answer.automatically_set_content_length = False
            return answer
        body = _range_of(opened.stream, planned.start, planned.length)
        answer = Response(body, status=planned.status, headers=planned.headers)
        answer.direct_passthrough = True
        return answer

    @blueprint.post("/assets/download-urls")
    def download_urls() -> Response:
        data = _body()
        ids = data.get("ids")
        if not isinstance(ids, list):
            raise InvalidInput("ids", "must be a list of asset ids")
        try:
            batch = catalog.presign_many(
                tenant(),
                ids,
                expires_in=data.get("expires_in", 900),
                disposition=data.get("disposition"),
                actor=actor(),
                window=url_window,
                variant=data.get("variant"),
            )
        except InvalidInput as exc:
            raise in_body(exc) from None  # the body's name for them
        return _json(
            {
                "urls": {i: url_json(u) for i, u in batch.urls.items()},
                "missing": list(batch.missing),
                "unsupported": list(batch.unsupported),
                "fallbacks": list(batch.fallbacks),
            }
        )

    @blueprint.get("/assets")
    def list_assets() -> Response:
        return _json(to_json(catalog.list(tenant(), **list_arguments(request.args))))

    @blueprint.get("/assets/<asset_id>")
    def get_asset(asset_id: str) -> Response:
        return _json(to_json(catalog.get(tenant(), asset_id)))

    @blueprint.get("/assets/<asset_id>/events")
    def asset_events(asset_id: str) -> Response:
        who = tenant()
        catalog.get(who, asset_id)
        return _json({"items": to_json(list(catalog.events(who, asset_id)))})

    @blueprint.get("/assets/<asset_id>/download-url")
    def download_url(asset_id: str) -> Response:
        url = catalog.presign(
            tenant(), asset_id, actor=actor(), window=url_window, **expiry_arguments()
        )
        return _json(url_json(url))

    @blueprint.delete("/assets/<asset_id>")
    def delete_asset(asset_id: str) -> Response:
        if can_delete is not None and not can_delete():
            return _problem(forbidden("deleting assets is not allowed for this caller"))
        catalog.delete(tenant(), asset_id, actor=actor())
        return Response(status=204)

    return blueprint
