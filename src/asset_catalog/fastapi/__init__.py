"""The catalog's HTTP API and its Images / Files page as a FastAPI router (extra
``fastapi``)::

    from asset_catalog.fastapi import assets_router

    app.include_router(
        assets_router(catalog, tenant=current_tenant, actor=current_user_id,
                      can_delete=may_delete),
        prefix="/api",
    )

``tenant`` is a dependency of the host's that returns the tenant id from its own
authentication (never from the request's body or query); ``actor`` one that names the
caller in the audit trail; ``can_delete`` one that allows (True) or refuses (False → 403)
deleting. Errors are RFC 9457 problem details. See docs/web.md.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at
# run time, and they name dependencies local to assets_router().

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, ClassVar, Literal

try:
    from fastapi import APIRouter, Body, Depends, Query, Request, Response
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
    from fastapi.routing import APIRoute
    from starlette.exceptions import HTTPException
    from starlette.types import Receive, Scope, Send
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..exceptions import MissingDependency

    raise MissingDependency("fastapi", "fastapi") from exc

from .._async import AsyncAssetCatalog
from .._catalog import AssetCatalog
from .._limits import MAX_EXPIRES_IN, MAX_LIST_LIMIT
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
from .._web.requests import instant
from ..exceptions import AssetCatalogError, AssetNotFound, InvalidInput
from ._models import (
    AssetOut,
    DownloadUrlOut,
    DownloadUrlsIn,
    DownloadUrlsOut,
    EventOut,
    EventsOut,
    HostId,
    PageOut,
    ProblemOut,
)

__all__ = [
    "PROBLEM_HANDLERS",
    "PROBLEM_RESPONSES",
    "AssetOut",
    "DownloadUrlOut",
    "DownloadUrlsIn",
    "DownloadUrlsOut",
    "EventOut",
    "EventsOut",
    "HostId",
    "PageOut",
    "ProblemOut",
    "assets_router",
]

#: What every route may answer besides success (``4XX`` keeps FastAPI's 422 out: invalid
#: requests are 400 problems here).
_BINARY = {"schema": {"type": "string", "format": "binary"}}
_PROBLEM_CONTENT = {MEDIA_TYPE: {"schema": ProblemOut.model_json_schema()}}
#: The problem responses of the catalog's routes, for a host's own routes' ``responses=``.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"description": "A problem with the request (RFC 9457)", "content": _PROBLEM_CONTENT},
    503: {"description": "The storage or database is unavailable", "content": _PROBLEM_CONTENT},
}
_IdQuery = Annotated[HostId, Query()]


#: An instant in the query: parsed like the other adapters do (ISO 8601 with a time zone;
#: pydantic's datetime would also take ``0.5`` as a Unix time).
_InstantQuery = Annotated[str, Query(json_schema_extra={"format": "date-time"})]


def _problem_response(problem: Problem) -> JSONResponse:
    """A problem as an ``application/problem+json`` response."""
    return JSONResponse(problem.body(), status_code=problem.status, media_type=MEDIA_TYPE)


_LOCATIONS = ("query", "body", "path", "header")


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = exc.errors()
    first = errors[0] if errors else {}
    where = first.get("loc", ())
    location = [str(p) for p in where if p not in _LOCATIONS and not isinstance(p, int)]
    field = ".".join(location) or ("body" if "body" in where else None)
    return Problem(400, "invalid-input", "Invalid input", str(first.get("msg", exc)), field)


async def _as_problem(request: Request, exc: Exception) -> Response:
    if isinstance(exc, RequestValidationError):
        return _problem_response(_validation_problem(exc))
    if isinstance(exc, AssetCatalogError):
        return _problem_response(problem_for(exc))
    raise exc  # pragma: no cover - registered for those two only


#: For a host's own routes: ``FastAPI(exception_handlers=PROBLEM_HANDLERS)`` answers the
#: catalog's errors and invalid requests as problem details (400, not 422), like the router.
PROBLEM_HANDLERS: dict[Any, Callable[[Request, Exception], Coroutine[Any, Any, Response]]] = {
    AssetCatalogError: _as_problem,
    RequestValidationError: _as_problem,
}


class _ProblemRoute(APIRoute):
    """A route whose catalog errors, invalid requests and wrong methods are problem details.

    A 405's ``Allow`` names the methods of every route of the path (Starlette's names only
    those of the route it tried first); subclassed per router, so ``siblings`` are that
    router's routes.
    """

    siblings: ClassVar[list[APIRoute]] = []

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().__init__(path, endpoint, **options)
        self.siblings.append(self)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] in (self.methods or ()):
            await super().handle(scope, receive, send)
            return
        same_path = (r for r in self.siblings if r.path == self.path)
        allowed = sorted({method for r in same_path for method in r.methods or ()})
        response = _problem_response(method_not_allowed(scope["method"], allowed))
        response.headers["Allow"] = ", ".join(allowed)
        await response(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except AssetCatalogError as exc:
                return _problem_response(problem_for(exc))
            except RequestValidationError as exc:
                return _problem_response(_validation_problem(exc))
            except HTTPException as exc:  # FastAPI's own: a body that is not JSON
                if exc.status_code >= 500:  # pragma: no cover - FastAPI raises 4xx only
                    raise
                detail = str(exc.detail)
                return _problem_response(Problem(exc.status_code, "bad-request", detail, detail))

        return route


def _operation_id(route: APIRoute) -> str:
    """Operation ids a generated client reads well: the route's name (``list_assets``)."""
    return route.name


def _nobody() -> str | None:
    return None


def _anyone() -> bool:
    return True


def assets_router(
    catalog: AsyncAssetCatalog | AssetCatalog,
    *,
    tenant: Callable[..., Any],
    actor: Callable[..., Any] = _nobody,
    can_delete: Callable[..., Any] | None = None,
    page: bool = True,
    url_window: int = 300,
    conversation_url: str = "",
) -> APIRouter:
    """The catalog's routes (relative to where the host mounts the router):

    ``GET /assets`` (every filter of ``list``, ``limit``, ``cursor``), ``GET /assets/{id}``,
    ``GET /assets/{id}/events``, ``GET /assets/{id}/download-url``, ``POST
    /assets/download-urls`` (up to 100 ids), ``DELETE /assets/{id}``, ``GET``/``HEAD
    /assets/download/{token}`` (catalog-signed downloads: ``ETag``, 304, ``Range``) and,
    with ``page``, ``GET /assets/page``. Download URLs repeat within ``url_window`` seconds
    (cacheable thumbnails, one audit event per caller and window); ``conversation_url``
    (``/chat/{conversation_id}#{message_id}``) makes the page link assets to their chat.
    """
    acatalog = catalog if isinstance(catalog, AsyncAssetCatalog) else AsyncAssetCatalog(catalog)
    Tenant = Annotated[str, Depends(tenant)]
    Caller = Annotated[str | None, Depends(actor)]
    Allowed = Annotated[bool, Depends(can_delete or _anyone)]
    route_class = type("AssetsRoute", (_ProblemRoute,), {"siblings": []})
    router = APIRouter(
        route_class=route_class, tags=["assets"], generate_unique_id_function=_operation_id
    )

    def href(request: Request, url: Any) -> str:
        if url.kind == "catalog" and url.token:
            return str(request.url_for("download", token=url.token))
        return str(url.url)

    if page:

        @router.get("/assets/page", response_class=HTMLResponse, include_in_schema=False)
        async def images_and_files(request: Request) -> HTMLResponse:
            base = request.url_for("list_assets").path.removesuffix("/assets")
            return HTMLResponse(
                index_html(base, conversation_url), headers={"Content-Security-Policy": PAGE_CSP}
            )

        @router.get("/assets/page/{name}", include_in_schema=False)
        async def page_asset(name: str) -> Response:
            found = page_file(name)
            if found is None:
                return _problem_response(problem_for(AssetNotFound(name, f"no page file {name!r}")))
            text, media_type = found
            return Response(text, media_type=media_type, headers={"Cache-Control": "no-cache"})

    served: dict[int | str, dict[str, Any]] = {
        200: {"description": "The bytes (as their MIME type)", "content": {"*/*": _BINARY}},
        206: {"description": "The bytes of the range asked for"},
        304: {"description": "Not modified (If-None-Match)"},
        **PROBLEM_RESPONSES,
    }

    @router.get("/assets/download/{token}", response_class=Response, responses=served)
    @router.head(
        "/assets/download/{token}", name="download_head", response_class=Response, responses=served
    )
    async def download(token: str, request: Request, caller: Caller) -> Response:
        """A catalog-signed download: streamed, ``ETag`` / ``If-None-Match`` → 304, a single
        ``Range`` → 206 / 416, one ``downloaded`` event per download."""
        method, headers = request.method, request.headers
        if_none_match, ranged = headers.get("if-none-match"), headers.get("range")
        audit = audited_by_request(method, if_none_match, ranged)
        opened = await acatalog.open_signed(token, actor=caller, audit=audit)
        planned = plan(
            method,
            opened.headers,
            opened.asset.size_bytes,
            if_none_match=if_none_match,
            range_header=ranged,
            if_range=headers.get("if-range"),
        )
        if planned.audit and not audit:  # a revalidation that found another copy: a download
            opened.stream.close()
            opened = await acatalog.open_signed(token, actor=caller)
        if not planned.length:
            opened.stream.close()
            return Response(status_code=planned.status, headers=planned.headers)
        body = acatalog.aiter_bytes(opened.stream, start=planned.start, length=planned.length)
        return StreamingResponse(body, status_code=planned.status, headers=planned.headers)

    @router.post(
        "/assets/download-urls", response_model=DownloadUrlsOut, responses=PROBLEM_RESPONSES
    )
    async def download_urls(
        request: Request,
        tenant_id: Tenant,
        caller: Caller,
        wanted: Annotated[DownloadUrlsIn, Body()],
    ) -> DownloadUrlsOut:
        """Download URLs for up to 100 assets (a thumbnail grid), read with one query; with
        ``variant`` (``"thumbnail"``) each asset's variant where it has one (``fallbacks``:
        the ids answered with their original)."""
        try:
            batch = await acatalog.presign_many(
                tenant_id,
                wanted.ids,
                expires_in=wanted.expires_in,
                disposition=wanted.disposition,
                actor=caller,
                window=url_window,
                variant=wanted.variant,
            )
        except InvalidInput as exc:
            raise in_body(exc) from None  # the body's name for them
        return DownloadUrlsOut.of(batch, {i: href(request, u) for i, u in batch.urls.items()})

    @router.get("/assets", response_model=PageOut, responses=PROBLEM_RESPONSES)
    async def list_assets(  # noqa: PLR0917 - one query parameter per filter of list()
        tenant_id: Tenant,
        asset_type: Literal["image", "file"] | None = None,
        source_tool: Literal["image_generation", "code_interpreter", "user_upload", "unknown"]
        | None = None,
        conversation_id: _IdQuery | None = None,
        message_id: _IdQuery | None = None,
        agent_key: _IdQuery | None = None,
        user_id: _IdQuery | None = None,
        response_id: _IdQuery | None = None,
        tool_call_id: _IdQuery | None = None,
        container_id: _IdQuery | None = None,
        mime_prefix: Annotated[str | None, Query(max_length=255, pattern=r"^[\x20-\x7e]*$")] = None,
        created_after: _InstantQuery | None = None,
        created_before: _InstantQuery | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = 50,
        cursor: Annotated[str | None, Query(max_length=4096)] = None,
    ) -> PageOut:
        """Live assets, newest first, a page at a time: pass ``next_cursor`` as ``cursor``."""
        page_ = await acatalog.list(
            tenant_id,
            asset_type=asset_type,
            source_tool=source_tool,
            conversation_id=conversation_id,
            message_id=message_id,
            agent_key=agent_key,
            user_id=user_id,
            response_id=response_id,
            tool_call_id=tool_call_id,
            container_id=container_id,
            mime_prefix=mime_prefix,
            created_after=None
            if created_after is None
            else instant(created_after, "created_after"),
            created_before=None
            if created_before is None
            else instant(created_before, "created_before"),
            limit=limit,
            cursor=cursor or None,  # ?cursor= is the first page
        )
        return PageOut.of(page_)

    @router.get("/assets/{asset_id}", response_model=AssetOut, responses=PROBLEM_RESPONSES)
    async def get_asset(asset_id: str, tenant_id: Tenant) -> AssetOut:
        """One live asset of the tenant (404 for an unknown, deleted or another's id)."""
        return AssetOut.of(await acatalog.get(tenant_id, asset_id))

    @router.get("/assets/{asset_id}/events", response_model=EventsOut, responses=PROBLEM_RESPONSES)
    async def asset_events(asset_id: str, tenant_id: Tenant) -> EventsOut:
        """The audit trail of a live asset, oldest first (404 like ``GET /assets/{id}``)."""
        await acatalog.get(tenant_id, asset_id)
        return EventsOut(items=[EventOut.of(e) for e in await acatalog.events(tenant_id, asset_id)])

    @router.get(
        "/assets/{asset_id}/download-url",
        response_model=DownloadUrlOut,
        responses=PROBLEM_RESPONSES,
    )
    async def download_url(  # noqa: PLR0917 - FastAPI passes parameters by name
        request: Request,
        asset_id: str,
        tenant_id: Tenant,
        caller: Caller,
        expires_in: Annotated[int, Query(ge=1, le=MAX_EXPIRES_IN)] = 900,
        disposition: Literal["inline", "attachment"] | None = None,
    ) -> DownloadUrlOut:
        """A time-limited download URL (audited as ``url_issued``)."""
        url = await acatalog.presign(
            tenant_id,
            asset_id,
            expires_in=expires_in,
            disposition=disposition,
            actor=caller,
            window=url_window,
        )
        return DownloadUrlOut.of(url, href(request, url))

    @router.delete(
        "/assets/{asset_id}", status_code=204, response_class=Response, responses=PROBLEM_RESPONSES
    )
    async def delete_asset(
        asset_id: str, tenant_id: Tenant, caller: Caller, allowed: Allowed
    ) -> Response:
        """Delete an asset (idempotent: 204 again for a deleted one), audited with the caller."""
        if not allowed:
            return _problem_response(forbidden("deleting assets is not allowed for this caller"))
        await acatalog.delete(tenant_id, asset_id, actor=caller)
        return Response(status_code=204)

    return router
