"""Catalogue what agents of the OpenAI Agents SDK generate (extra ``agents``).

* :class:`CatalogHooks`: run hooks that capture hosted-tool outputs (image generation, Code
  Interpreter files and charts) as the run goes, after each model call. (``on_llm_end`` is
  the seam: ``on_tool_end`` does not fire for hosted tools, which run on OpenAI's side.)
* :func:`ingest_run_result`: the same for a finished run, ``RunResult`` or a completed
  ``RunResultStreaming``.
* :class:`CatalogSession`: wraps any ``Session`` so that history is stored without base64
  payloads; what it is about to drop is catalogued first, so nothing is lost.

All three use :func:`asset_catalog.openai.aingest_response`, so a response seen twice (by
the hooks and again by ``ingest_run_result``) is catalogued once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

try:
    from agents import Agent, RunContextWrapper, RunHooks
    from agents.items import ModelResponse, TResponseInputItem
    from agents.memory import Session
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..exceptions import MissingDependency

    raise MissingDependency("agents", "agents") from exc

import openai

from .._async import AsyncAssetCatalog
from .._inputs import host_id
from ..exceptions import InvalidInput
from ..openai import CaptureReport, aingest_response, slim_items
from ..openai._outputs import plain

__all__ = ["CatalogHooks", "CatalogSession", "ingest_run_result"]

AgentKey = Callable[[Any], str | None]
"""How an agent is named in the catalog (``agent_key``): its ``name`` by default."""


def _agent_name(agent: Any) -> str | None:
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else None


def _response_of(model_response: ModelResponse) -> dict[str, Any]:
    return {
        "id": model_response.response_id,
        "output": [plain(item) for item in model_response.output],
    }


class _Capturing:
    """What the hooks, the run-result function and the session share."""

    def __init__(
        self,
        catalog: AsyncAssetCatalog,
        tenant_id: str,
        *,
        client: openai.AsyncOpenAI | None,
        conversation_id: str | None,
        user_id: str | None,
        retries: int,
        backoff: float,
    ) -> None:
        if not isinstance(catalog, AsyncAssetCatalog):
            raise InvalidInput("catalog", "must be an AsyncAssetCatalog")
        self.catalog = catalog
        self.tenant_id = host_id(tenant_id, "tenant_id")
        self.client = client
        self.conversation_id = conversation_id
        self.user_id = user_id
        self.retries = retries
        self.backoff = backoff

    async def capture(self, response: Any, agent_key: str | None) -> CaptureReport:
        return await aingest_response(
            self.catalog,
            self.tenant_id,
            response,
            client=self.client,
            conversation_id=self.conversation_id,
            user_id=self.user_id,
            agent_key=agent_key,
            retries=self.retries,
            backoff=self.backoff,
        )


class CatalogHooks(RunHooks[Any]):
    """Run hooks that catalogue each model response's hosted-tool outputs::

        hooks = CatalogHooks(catalog, tenant_id, client=AsyncOpenAI(), conversation_id=cid)
        result = await Runner.run(agent, prompt, hooks=hooks)
        hooks.reports  # one CaptureReport per model call

    ``agent_key`` names the agent on each asset (its ``name`` by default).
    """

    def __init__(
        self,
        catalog: AsyncAssetCatalog,
        tenant_id: str,
        *,
        client: openai.AsyncOpenAI | None = None,
        conversation_id: str | None = None,
        user_id: str | None = None,
        agent_key: AgentKey = _agent_name,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self._capturing = _Capturing(
            catalog,
            tenant_id,
            client=client,
            conversation_id=conversation_id,
            user_id=user_id,
            retries=retries,
            backoff=backoff,
        )
        self._agent_key = agent_key
        self.reports: list[CaptureReport] = []
        """What each model call's capture did, in order."""

    async def on_llm_end(
        self, context: RunContextWrapper[Any], agent: Agent[Any], response: ModelResponse
    ) -> None:
        report = await self._capturing.capture(_response_of(response), self._agent_key(agent))
        self.reports.append(report)


async def ingest_run_result(
    catalog: AsyncAssetCatalog,
    tenant_id: str,
    result: Any,
    *,
    client: openai.AsyncOpenAI | None = None,
    conversation_id: str | None = None,
    user_id: str | None = None,
    agent_key: str | None = None,
    retries: int = 2,
    backoff: float = 0.5,
) -> list[CaptureReport]:
    """Catalogue the outputs of every model response of a finished run (``RunResult``, or a
    ``RunResultStreaming`` whose events have been consumed); one report per response.
    ``agent_key`` defaults to the name of the run's last agent."""
    responses = getattr(result, "raw_responses", None)
    if not isinstance(responses, list):
        raise InvalidInput("result", "must be a finished RunResult or RunResultStreaming")
    capturing = _Capturing(
        catalog,
        tenant_id,
        client=client,
        conversation_id=conversation_id,
        user_id=user_id,
        retries=retries,
        backoff=backoff,
    )
    key = agent_key or _agent_name(getattr(result, "last_agent", None))
    return [await capturing.capture(_response_of(r), key) for r in responses]


class CatalogSession:
    """A ``Session`` that stores its items without base64 payloads (see
    :func:`asset_catalog.openai.slim_items`), around any session of the Agents SDK::

        session = CatalogSession(SQLiteSession(conversation_id), catalog, tenant_id)
        await Runner.run(agent, prompt, session=session)

    Images in the items are catalogued before their base64 is dropped (by tool call id, so
    what the hooks already caught is only found again); cited files are left to the hooks
    or :func:`ingest_run_result`, which have a client.
    """

    def __init__(
        self,
        session: Session,
        catalog: AsyncAssetCatalog,
        tenant_id: str,
        *,
        conversation_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        self._session = session
        self._capturing = _Capturing(
            catalog,
            tenant_id,
            client=None,
            conversation_id=conversation_id,
            user_id=user_id,
            retries=2,
            backoff=0.5,
        )
        self.session_id = session.session_id
        self.session_settings = getattr(session, "session_settings", None)
        self.bytes_removed = 0
        """Base64 payload bytes kept out of the wrapped session so far."""

    async def get_items(self, limit: int | None = None) -> list[TResponseInputItem]:
        return await self._session.get_items(limit)

    async def add_items(self, items: list[TResponseInputItem]) -> None:
        report = await self._capturing.capture({"output": list(items)}, None)
        # An image the catalog could not take keeps its base64: it is never lost.
        lost = {f.item_id for f in report.failures if f.kind != "container_file_citation"}
        kept: list[Any] = []
        for item in items:
            if isinstance(item, Mapping) and item.get("id") in lost:
                kept.append(item)
                continue
            slim = slim_items([item])
            kept += slim.items
            self.bytes_removed += slim.bytes_removed
        await self._session.add_items(kept)

    async def pop_item(self) -> TResponseInputItem | None:
        return await self._session.pop_item()

    async def clear_session(self) -> None:
        await self._session.clear_session()
