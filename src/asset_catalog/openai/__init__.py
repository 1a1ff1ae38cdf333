"""Capture what OpenAI's Responses API produced, straight from its SDK objects (extra
``openai``).

* :func:`ingest_response` / :func:`aingest_response`: every final image of a response
  (``image_generation_call`` results, Code Interpreter image outputs) and every container
  file its text cites, catalogued with the response, tool call and conversation ids; files
  fetched through the client, streamed, at most once, and not at all when the catalog has
  them; transient failures retried; a file the provider no longer has reported, not raised.
* :func:`slim_items`: conversation items without their base64 payloads, still valid as API
  input, so that stored history stays small.

``response`` is an SDK ``Response``, its JSON or dict form (a webhook, a stored log), or the
stream of events that built it (SDK event objects or dicts; async iterables for
:func:`aingest_response`). See docs/integration.md.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

try:
    import openai
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..exceptions import MissingDependency

    raise MissingDependency("openai", "openai") from exc

from .._async import AsyncAssetCatalog, LoopBridge
from .._catalog import AssetCatalog
from .._inputs import host_id, optional_host_id
from ..exceptions import InvalidInput
from ._capture import CaptureFailure, CaptureReport, Fetch, Ids, Skipped, capture
from ._outputs import collect, from_events, is_async_stream, plain
from ._slim import SlimmedItems, slim_items

__all__ = [
    "CaptureFailure",
    "CaptureReport",
    "Skipped",
    "SlimmedItems",
    "aingest_response",
    "ingest_response",
    "slim_items",
]

try:  # the HTTP client under the SDK: httpx2 for openai 3, httpx before
    import httpx2 as _http
except ImportError:  # pragma: no cover - depends on the installed SDK
    import httpx as _http  # type: ignore[import-not-found, no-redef, unused-ignore]


def _is_missing(exc: BaseException) -> bool:
    """The provider says the file is gone (an expired or deleted container)."""
    return isinstance(exc, openai.APIStatusError) and exc.status_code in {404, 410}


def _is_transient(exc: BaseException) -> bool:
    """Worth another try: server errors, rate limits, timeouts, dropped connections (also
    halfway through a download)."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in {408, 409, 429}
    return isinstance(
        exc,
        openai.APIConnectionError
        | openai.APITimeoutError
        | _http.TransportError
        | ConnectionError
        | TimeoutError,
    )


def _checked_options(retries: object, backoff: object) -> tuple[int, float]:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInput("retries", "must be a whole number of zero or more")
    if isinstance(backoff, bool) or not isinstance(backoff, int | float) or backoff < 0:
        raise InvalidInput("backoff", "must be a number of seconds, zero or more")
    return retries, float(backoff)


def _ids(**values: object) -> Ids:
    return Ids(**{name: optional_host_id(value, name) for name, value in values.items()})


def ingest_response(
    catalog: AssetCatalog,
    tenant_id: str,
    response: Any,
    *,
    client: openai.OpenAI | None = None,
    conversation_id: str | None = None,
    message_id: str | None = None,
    agent_key: str | None = None,
    user_id: str | None = None,
    retries: int = 2,
    backoff: float = 0.5,
) -> CaptureReport:
    """Catalogue every output of ``response`` and report what was done.

    Images need no client; cited container files are downloaded through ``client``
    (``containers.files.content``, streamed) unless the catalog already has them. Each
    output is retried ``retries`` times after a transient failure, waiting ``backoff * 2**n``
    seconds. Idempotent: the same response captured again (or by several threads at once)
    yields the same assets and no second download. ``conversation_id`` defaults to the
    response's own conversation.
    """
    if not isinstance(catalog, AssetCatalog):
        raise InvalidInput("catalog", "must be an AssetCatalog (use aingest_response for async)")
    tenant = host_id(tenant_id, "tenant_id")
    tries, wait = _checked_options(retries, backoff)
    ids = _ids(
        conversation_id=conversation_id, message_id=message_id, agent_key=agent_key, user_id=user_id
    )
    fetch = _sync_fetch(client) if client is not None else None
    return capture(
        catalog,
        tenant,
        collect(response),
        fetch=fetch,
        ids=ids,
        retries=tries,
        backoff=wait,
        is_transient=_is_transient,
        is_missing=_is_missing,
    )


async def aingest_response(
    catalog: AsyncAssetCatalog,
    tenant_id: str,
    response: Any,
    *,
    client: openai.AsyncOpenAI | None = None,
    conversation_id: str | None = None,
    message_id: str | None = None,
    agent_key: str | None = None,
    user_id: str | None = None,
    retries: int = 2,
    backoff: float = 0.5,
) -> CaptureReport:
    """:func:`ingest_response` for async code: the awaitable catalog, an ``AsyncOpenAI``
    client, and ``response`` may also be an async stream of events (read on the loop,
    then captured in the catalog's worker threads without blocking the loop)."""
    if not isinstance(catalog, AsyncAssetCatalog):
        raise InvalidInput("catalog", "must be an AsyncAssetCatalog (use ingest_response)")
    tenant = host_id(tenant_id, "tenant_id")
    tries, wait = _checked_options(retries, backoff)
    ids = _ids(
        conversation_id=conversation_id, message_id=message_id, agent_key=agent_key, user_id=user_id
    )
    if is_async_stream(response):
        response = from_events([plain(event) async for event in response])
    outputs = collect(response)

    def work(bridge: LoopBridge) -> CaptureReport:
        fetch = _async_fetch(client, bridge) if client is not None else None
        return capture(
            catalog.sync,
            tenant,
            outputs,
            fetch=fetch,
            ids=ids,
            retries=tries,
            backoff=wait,
            is_transient=_is_transient,
            is_missing=_is_missing,
        )

    return await catalog.run_in_worker(work)


def _sync_fetch(client: openai.OpenAI) -> Fetch:
    @contextlib.contextmanager
    def fetch(container_id: str, file_id: str) -> Iterator[Iterator[bytes]]:
        content = client.containers.files.content.with_streaming_response
        with content.retrieve(file_id, container_id=container_id) as body:
            yield body.iter_bytes()

    return fetch


def _async_fetch(client: openai.AsyncOpenAI, bridge: LoopBridge) -> Fetch:
    """Download through the async client on the event loop, fed to the worker's ingest
    chunk by chunk through ``bridge``."""

    @contextlib.contextmanager
    def fetch(container_id: str, file_id: str) -> Iterator[Iterator[bytes]]:
        content = client.containers.files.content.with_streaming_response
        manager = content.retrieve(file_id, container_id=container_id)
        body = bridge.call(manager.__aenter__())
        try:
            yield bridge.pull(body.iter_bytes())
        except BaseException as exc:
            bridge.call(manager.__aexit__(type(exc), exc, exc.__traceback__), always=True)
            raise
        bridge.call(manager.__aexit__(None, None, None), always=True)

    return fetch
