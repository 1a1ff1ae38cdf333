"""asset_catalog.openai_agents: the Agents SDK's own Runner, with a model stub that returns
hosted-tool items, and the real AsyncOpenAI client (over MockTransport) for the files."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agents import Agent, Model, ModelResponse, Runner, SQLiteSession, Usage, set_tracing_disabled
from openai.types.responses import Response, ResponseCompletedEvent

from asset_catalog import AssetCatalog, AsyncAssetCatalog, InvalidInput
from asset_catalog.openai_agents import CatalogHooks, CatalogSession, ingest_run_result

from .openai_fixtures import (
    PNG_A,
    PNG_B,
    FakeOpenAI,
    citation,
    image_call,
    message,
    response,
)

set_tracing_disabled(True)  # never export traces to the network


class HostedToolModel(Model):
    """A model that answers every call with the outputs of hosted tools: an image, and a
    message citing a container file (what the Responses API returns when the image
    generation and Code Interpreter tools ran on OpenAI's side)."""

    def __init__(self, turns: list[dict[str, Any]]) -> None:
        self._turns = turns
        self.calls = 0

    async def get_response(self, *args: Any, **kwargs: Any) -> ModelResponse:
        data = self._turns[min(self.calls, len(self._turns) - 1)]
        self.calls += 1
        parsed = Response.model_validate(data)
        return ModelResponse(output=parsed.output, usage=Usage(), response_id=parsed.id)

    async def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        data = self._turns[min(self.calls, len(self._turns) - 1)]
        self.calls += 1
        yield ResponseCompletedEvent(
            type="response.completed", sequence_number=0, response=Response.model_validate(data)
        )


def turn() -> dict[str, Any]:
    return response(
        "resp_agent_1",
        [
            image_call("ig_a1", PNG_A, revised_prompt="a fox", output_format="png"),
            image_call("ig_a2", PNG_B),
            message("msg_a", citation("cntr_1", "cfile_1", "report.csv")),
        ],
    )


@pytest.fixture
def server() -> FakeOpenAI:
    fake = FakeOpenAI()
    fake.files[("cntr_1", "cfile_1")] = b"a,b\n1,2\n"
    return fake


class TestHooks:
    """CatalogHooks capture during the run (on_llm_end), with the agent's name."""

    def test_a_run_catalogues_its_hosted_tool_outputs(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """The Runner calls the hooks; both images and the cited file become assets of the
        conversation, named for the agent; the file is downloaded once."""

        async def main() -> CatalogHooks:
            acatalog = AsyncAssetCatalog(catalog)
            hooks = CatalogHooks(
                acatalog, "t1", client=server.async_client(), conversation_id="conv_9"
            )
            agent = Agent(name="designer", model=HostedToolModel([turn()]))
            result = await Runner.run(agent, "draw a fox and tabulate", hooks=hooks)
            assert result.final_output == "Here you go."
            return hooks

        hooks = asyncio.run(main())
        (report,) = hooks.reports
        assert report.ok, report.failures
        assert [a.tool_call_id or a.openai_file_id for a in report.assets] == [
            "ig_a1",
            "ig_a2",
            "cfile_1",
        ]
        for asset in report.assets:
            assert (asset.agent_key, asset.conversation_id) == ("designer", "conv_9")
            assert asset.response_id == "resp_agent_1"
        assert server.downloads == {("cntr_1", "cfile_1"): 1}

    def test_the_run_result_afterwards_finds_everything(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """ingest_run_result after a hooked run: the same assets, no second download."""

        async def main() -> tuple[CatalogHooks, list[Any]]:
            acatalog = AsyncAssetCatalog(catalog)
            client = server.async_client()
            hooks = CatalogHooks(acatalog, "t1", client=client)
            agent = Agent(name="designer", model=HostedToolModel([turn()]))
            result = await Runner.run(agent, "draw", hooks=hooks)
            again = await ingest_run_result(acatalog, "t1", result, client=client)
            return hooks, again

        hooks, again = asyncio.run(main())
        assert [a.id for a in again[0].assets] == [a.id for a in hooks.reports[0].assets]
        assert again[0].assets[0].agent_key == "designer"
        assert server.downloads == {("cntr_1", "cfile_1"): 1}

    def test_a_streamed_run_is_captured_when_it_is_done(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """Runner.run_streamed, its events consumed: ingest_run_result catalogues the run."""

        async def main() -> list[Any]:
            acatalog = AsyncAssetCatalog(catalog)
            agent = Agent(name="designer", model=HostedToolModel([turn()]))
            streamed = Runner.run_streamed(agent, "draw")
            async for _event in streamed.stream_events():
                pass
            client = server.async_client()
            return await ingest_run_result(acatalog, "t1", streamed, client=client)

        (report,) = asyncio.run(main())
        assert report.ok, report.failures
        assert [a.tool_call_id or a.openai_file_id for a in report.assets] == [
            "ig_a1",
            "ig_a2",
            "cfile_1",
        ]
        assert report.assets[0].agent_key == "designer"

    def test_bad_arguments(self, catalog: AssetCatalog) -> None:
        """A sync catalog, or a result that is not a run's: InvalidInput."""
        with pytest.raises(InvalidInput, match="catalog"):
            CatalogHooks(catalog, "t1")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="result"):
            asyncio.run(ingest_run_result(AsyncAssetCatalog(catalog), "t1", object()))


class TestSession:
    """CatalogSession keeps history small and loses nothing."""

    def test_history_is_stored_slim_after_the_images_are_catalogued(
        self, catalog: AssetCatalog, tmp_path: Path
    ) -> None:
        """The wrapped SQLite session holds the image calls without their base64; the
        images are in the catalog; the stored items replay as the next turn's input."""

        async def main() -> tuple[list[Any], CatalogSession, HostedToolModel]:
            acatalog = AsyncAssetCatalog(catalog)
            inner = SQLiteSession("conv_s", str(tmp_path / "history.db"))
            session = CatalogSession(inner, acatalog, "t1", conversation_id="conv_s")
            model = HostedToolModel([turn()])
            agent = Agent(name="designer", model=model)
            await Runner.run(agent, "draw", session=session)
            await Runner.run(agent, "again", session=session)  # history replayed as input
            return await inner.get_items(), session, model

        stored, session, model = asyncio.run(main())
        calls = [i for i in stored if i.get("type") == "image_generation_call"]
        assert calls
        assert all(i.get("result") is None for i in calls)
        assert session.bytes_removed >= len(PNG_A)  # base64 is larger than the bytes
        assert model.calls == 2
        images = catalog.list("t1", asset_type="image").items
        assert {a.tool_call_id for a in images} == {"ig_a1", "ig_a2"}
        assert {a.conversation_id for a in images} == {"conv_s"}
