"""asset_catalog.openai: capture from real SDK objects and clients (over httpx2's
MockTransport, never the network)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai._models import BaseModel as OpenAIModel
from openai.types.responses import Response, ResponseInputItemParam
from pydantic import TypeAdapter

from asset_catalog import (
    AssetCatalog,
    AsyncAssetCatalog,
    InvalidInput,
    ObjectStatus,
    ProviderError,
    ProviderFileMissing,
    SourceTool,
    open_catalog,
)
from asset_catalog.openai import aingest_response, ingest_response, slim_items

from .openai_fixtures import (
    CSV,
    PNG_A,
    FakeOpenAI,
    citation,
    image_call,
    message,
    recording,
    response,
    sse,
    stream_events,
)

pytestmark = pytest.mark.variants  # catalogs make thumbnails (tests/conftest.py)

FAR = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def server() -> FakeOpenAI:
    fake = FakeOpenAI()
    fake.files[("cntr_1", "cfile_1")] = CSV
    fake.files[("cntr_1", "cfile_2")] = b"x,y\n1,2\n"
    return fake


def full_response() -> dict[str, Any]:
    """The recorded response (see openai_fixtures.recording)."""
    return recording()


def assert_clean(catalog: AssetCatalog) -> None:
    """Nothing pending, nothing failed halfway that verify would mind."""
    assert catalog.repository.objects_in_status(ObjectStatus.PENDING, FAR, 10) == []
    assert catalog.verify().ok


class TestIngestResponse:
    """ingest_response on a Response object, its JSON and its dict."""

    @pytest.mark.parametrize("form", ["sdk", "dict", "json"])
    def test_every_output_is_catalogued(
        self, catalog: AssetCatalog, server: FakeOpenAI, form: str
    ) -> None:
        """Images, the code interpreter chart and each cited file (once) become assets with
        the response, tool call, container and conversation ids; the failed image is
        skipped with its reason."""
        data = full_response()
        given: Any = {"sdk": Response.model_validate(data), "dict": data, "json": json.dumps(data)}[
            form
        ]
        report = ingest_response(
            catalog, "t1", given, client=server.client(), agent_key="designer", user_id="u1"
        )
        assert report.ok, report.failures
        assert report.response_id == "resp_1"
        ig1, ig2, chart, csv1, csv2 = report.assets
        assert (ig1.tool_call_id, ig1.width, ig1.height, ig1.mime_type) == (
            "ig_1",
            64,
            48,
            "image/png",
        )
        assert ig1.metadata["revised_prompt"] == "a red fox, watercolour"
        assert (ig1.metadata["size"], ig1.metadata["quality"]) == ("1024x1024", "high")
        assert (ig1.metadata["output_format"], ig1.metadata["action"]) == ("png", "generate")
        assert (ig2.mime_type, ig2.metadata["action"]) == ("image/webp", "edit")
        assert (chart.source_tool, chart.tool_call_id) == (SourceTool.CODE_INTERPRETER, "ci_1")
        assert (csv1.container_id, csv1.openai_file_id, csv1.filename) == (
            "cntr_1",
            "cfile_1",
            "report.csv",
        )
        assert csv1.tool_call_id == "ci_1"  # the call that ran in that container
        assert csv2.filename == "other.csv"
        for asset in report.assets:
            assert (asset.response_id, asset.conversation_id) == ("resp_1", "conv_1")
            assert (asset.agent_key, asset.user_id) == ("designer", "u1")
        assert [(s.item_id, s.reason) for s in report.skipped] == [("ig_3", "failed: blocked")]
        assert server.downloads == {("cntr_1", "cfile_1"): 1, ("cntr_1", "cfile_2"): 1}
        assert report.downloads == 2
        assert_clean(catalog)

    def test_replaying_downloads_nothing_and_changes_nothing(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """The same response again: the same assets, zero downloads (find before fetch)."""
        first = ingest_response(catalog, "t1", full_response(), client=server.client())
        server.downloads.clear()
        again = ingest_response(catalog, "t1", full_response(), client=server.client())
        assert [a.id for a in again.assets] == [a.id for a in first.assets]
        assert server.downloads == {}
        assert again.downloads == 0

    def test_a_file_already_catalogued_is_not_downloaded(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """A host that ingested the file itself: the capture finds it, no request at all."""
        mine = catalog.ingest_container_file(
            "t1", CSV, container_id="cntr_1", file_id="cfile_1", filename="report.csv"
        )
        data = response("resp_2", [message("msg_1", citation("cntr_1", "cfile_1", "report.csv"))])
        report = ingest_response(catalog, "t1", data, client=server.client())
        assert report.assets == (mine,)
        assert server.downloads == {}

    def test_images_need_no_client(self, catalog: AssetCatalog) -> None:
        """Without a client, images are still catalogued; cited files fail with a reason."""
        report = ingest_response(catalog, "t1", full_response())
        assert len(report.assets) == 3
        assert [f.item_id for f in report.failures] == ["cfile_1", "cfile_2"]
        assert all(isinstance(f.error, InvalidInput) for f in report.failures)

    def test_an_old_sdk_object_without_the_new_fields(self, catalog: AssetCatalog) -> None:
        """Fields an older SDK does not declare (revised_prompt, size ...) are still read."""

        class OldImageCall(OpenAIModel):
            id: str
            result: str | None = None
            status: str
            type: str

        class OldResponse(OpenAIModel):
            id: str
            output: list[OldImageCall]

        data = response(
            "resp_old", [image_call("ig_old", PNG_A, revised_prompt="a fox", size="1024x1536")]
        )
        old = OldResponse.model_validate(data)
        assert "revised_prompt" not in OldImageCall.model_fields
        (asset,) = ingest_response(catalog, "t1", old).assets
        assert (asset.metadata["revised_prompt"], asset.metadata["size"]) == (
            "a fox",
            "1024x1536",
        )

    def test_a_declared_format_that_disagrees_is_recorded(self, catalog: AssetCatalog) -> None:
        """output_format says jpeg, the bytes are PNG: kept as PNG, the claim recorded."""
        data = response("r", [image_call("ig_1", PNG_A, output_format="jpeg")])
        (asset,) = ingest_response(catalog, "t1", data).assets
        assert asset.mime_type == "image/png"
        assert asset.metadata["declared_format"] == "jpeg"

    def test_bad_arguments_are_refused(self, catalog: AssetCatalog) -> None:
        """A bad tenant, a negative retry count or an async catalog: InvalidInput."""
        for kwargs, field in (
            ({"tenant_id": ""}, "tenant_id"),
            ({"tenant_id": "t1", "retries": -1}, "retries"),
            ({"tenant_id": "t1", "backoff": "x"}, "backoff"),
        ):
            with pytest.raises(InvalidInput) as info:
                ingest_response(catalog, response=full_response(), **kwargs)  # type: ignore[arg-type]
            assert info.value.field == field
        with pytest.raises(InvalidInput, match="catalog"):
            ingest_response(AsyncAssetCatalog(catalog), "t1", full_response())  # type: ignore[arg-type]


class TestDownloads:
    """Container files: retries, expiry, resets, names chosen by the model."""

    def test_a_server_error_is_retried(self, catalog: AssetCatalog, server: FakeOpenAI) -> None:
        """A 500 then success: one asset, two requests."""
        server.fail[("cntr_1", "cfile_1")] = [500]
        data = response("r", [message("m", citation("cntr_1", "cfile_1", "report.csv"))])
        report = ingest_response(catalog, "t1", data, client=server.client(), backoff=0)
        assert report.ok
        assert server.downloads[("cntr_1", "cfile_1")] == 2
        assert report.assets[0].size_bytes == len(CSV)

    def test_a_reset_halfway_is_retried_and_leaves_nothing(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """The connection drops mid-body: that ingest is undone, the retry succeeds."""
        server.fail[("cntr_1", "cfile_1")] = ["reset"]
        data = response("r", [message("m", citation("cntr_1", "cfile_1", "report.csv"))])
        report = ingest_response(catalog, "t1", data, client=server.client(), backoff=0)
        assert report.ok, report.failures
        assert server.downloads[("cntr_1", "cfile_1")] == 2
        assert_clean(catalog)

    def test_retries_run_out(self, catalog: AssetCatalog, server: FakeOpenAI) -> None:
        """Persistent 503s: a ProviderError failure after 1 + retries attempts."""
        server.fail[("cntr_1", "cfile_1")] = [503, 503, 503]
        data = response("r", [message("m", citation("cntr_1", "cfile_1", "report.csv"))])
        report = ingest_response(catalog, "t1", data, client=server.client(), retries=2, backoff=0)
        (failure,) = report.failures
        assert type(failure.error) is ProviderError
        assert server.downloads[("cntr_1", "cfile_1")] == 3

    def test_an_expired_file_is_a_typed_failure_among_good_outputs(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """A 404 (the container expired) is ProviderFileMissing, not retried; the rest of
        the response is catalogued."""
        data = response(
            "r",
            [
                image_call("ig_1", PNG_A),
                message(
                    "m",
                    citation("cntr_gone", "cfile_9", "lost.csv"),
                    citation("cntr_1", "cfile_1", "report.csv"),
                ),
            ],
        )
        report = ingest_response(catalog, "t1", data, client=server.client(), backoff=0)
        assert [a.tool_call_id or a.openai_file_id for a in report.assets] == ["ig_1", "cfile_1"]
        (failure,) = report.failures
        assert (failure.item_id, failure.kind) == ("cfile_9", "container_file_citation")
        assert isinstance(failure.error, ProviderFileMissing)
        assert isinstance(failure.error, LookupError)
        assert server.downloads[("cntr_gone", "cfile_9")] == 1
        assert_clean(catalog)

    def test_names_chosen_by_the_model_are_made_safe(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """../, a right-to-left override and 300 bytes: every file is kept, with a safe name
        (the original in the metadata)."""
        names = {
            "f1": "../../etc/passwd.csv",
            "f2": "invoice\u202ecod.exe",
            "f3": "é" * 150 + ".csv",
        }
        for file_id in names:
            server.files[("cntr_1", file_id)] = CSV
        data = response("r", [message("m", *(citation("cntr_1", f, n) for f, n in names.items()))])
        report = ingest_response(catalog, "t1", data, client=server.client())
        assert report.ok, report.failures
        for asset in report.assets:
            assert "/" not in asset.filename
            assert "\u202e" not in asset.filename
            assert ".." not in asset.filename
            assert len(asset.filename.encode()) <= 255
            assert asset.metadata["original_filename"] == names[asset.openai_file_id or ""]
        assert report.assets[2].filename.endswith(".csv")


class TestStreams:
    """A stream of events, from the real client's SSE parser, or as dicts."""

    def test_a_stream_with_partial_images(self, catalog: AssetCatalog, server: FakeOpenAI) -> None:
        """Final images only: partial images are never catalogued, and an image whose
        status stayed "generating" with its result present is final."""
        final = full_response()
        server.streams["draw"] = sse(stream_events(final, partials=3))
        client = server.client()
        events = client.responses.create(model="gpt-5", input="draw", stream=True)
        report = ingest_response(catalog, "t1", events, client=client)
        assert report.ok, report.failures
        assert [a.tool_call_id for a in report.assets[:3]] == ["ig_1", "ig_2", "ci_1"]
        assert len(report.assets) == 5
        assert catalog.list("t1", limit=50).items.__len__() == 5  # no partial image anywhere

    def test_a_stream_cut_before_completed(self, catalog: AssetCatalog) -> None:
        """Items that finished are captured even when response.completed never came."""
        events = stream_events(full_response())[:-1]
        report = ingest_response(catalog, "t1", events)
        assert [a.tool_call_id for a in report.assets] == ["ig_1", "ig_2", "ci_1"]
        assert report.response_id == "resp_1"


class TestConcurrency:
    """The same response captured by five workers at once."""

    def test_five_threads_one_asset_per_output_one_download_per_file(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """Idempotency keys settle the images; the files are downloaded once each."""
        with concurrent.futures.ThreadPoolExecutor(5) as pool:
            reports = list(
                pool.map(
                    lambda _: ingest_response(
                        catalog, "t1", full_response(), client=server.client()
                    ),
                    range(5),
                )
            )
        ids = {tuple(a.id for a in r.assets) for r in reports}
        assert len(ids) == 1
        assert all(r.ok for r in reports)
        assert server.downloads == {("cntr_1", "cfile_1"): 1, ("cntr_1", "cfile_2"): 1}
        assert len(catalog.list("t1").items) == 5
        assert_clean(catalog)


class TestAsync:
    """aingest_response with AsyncOpenAI and async streams."""

    def test_async_capture(self, catalog: AssetCatalog, server: FakeOpenAI) -> None:
        """The awaitable capture gives the same report; files stream through the async
        client."""

        async def main() -> Any:
            acatalog = AsyncAssetCatalog(catalog)
            return await aingest_response(
                acatalog, "t1", full_response(), client=server.async_client()
            )

        report = asyncio.run(main())
        assert report.ok, report.failures
        assert len(report.assets) == 5
        assert report.downloads == 2

    def test_async_stream_and_concurrent_tasks(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """An async SSE stream from AsyncOpenAI; five concurrent captures of one response
        make one asset per output and one download per file."""
        server.streams["draw"] = sse(stream_events(full_response()))

        async def main() -> list[Any]:
            acatalog = AsyncAssetCatalog(catalog)
            client = server.async_client()
            stream = await client.responses.create(model="gpt-5", input="draw", stream=True)
            first = await aingest_response(acatalog, "t1", stream, client=client)
            rest = await asyncio.gather(
                *(
                    aingest_response(acatalog, "t1", full_response(), client=client)
                    for _ in range(4)
                )
            )
            return [first, *rest]

        reports = asyncio.run(main())
        assert len({tuple(a.id for a in r.assets) for r in reports}) == 1
        assert server.downloads == {("cntr_1", "cfile_1"): 1, ("cntr_1", "cfile_2"): 1}

    def test_a_cancelled_capture_leaves_nothing_half_done(
        self, catalog: AssetCatalog, server: FakeOpenAI
    ) -> None:
        """Cancelled while a download stalls halfway: CancelledError, no pending row, no
        blob, verify clean; the retry captures the file."""
        signals: dict[str, asyncio.Event] = {}

        class StallingBody(httpx2.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                yield CSV * 10_000  # past the sniffed head: the pending row is written
                signals["started"].set()
                await signals["never"].wait()
                yield CSV

        async def stalling(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, stream=StallingBody())

        data = response("r", [message("m", citation("cntr_1", "cfile_1", "report.csv"))])

        async def main() -> None:
            signals.update(started=asyncio.Event(), never=asyncio.Event())
            client = openai.AsyncOpenAI(
                api_key="sk-test",
                base_url="http://openai.test/v1",
                max_retries=0,
                http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(stalling)),
            )
            acatalog = AsyncAssetCatalog(catalog)
            task = asyncio.create_task(aingest_response(acatalog, "t1", data, client=client))
            await signals["started"].wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        assert_clean(catalog)
        assert list(catalog.storage.iter_keys()) == []
        assert catalog.find("t1", container_id="cntr_1", file_id="cfile_1") is None
        retry = ingest_response(catalog, "t1", data, client=server.client())
        assert retry.ok
        assert retry.assets[0].size_bytes == len(CSV)


class TestSlimItems:
    """slim_items drops base64 payloads and keeps valid API input."""

    def test_payloads_go_and_the_items_stay_valid_input(self) -> None:
        """Results become null, data-URI outputs go; every item still validates as an input
        item; the bytes removed are counted."""
        data = full_response()
        items = Response.model_validate(data).output
        slim = slim_items(items)
        expected = sum(len(i["result"]) for i in data["output"] if i.get("result")) + sum(
            len(o["url"])
            for i in data["output"]
            if i["type"] == "code_interpreter_call"
            for o in i["outputs"]
            if o["type"] == "image"
        )
        assert slim.bytes_removed == expected
        assert slim.payloads_removed == 3
        assert [i.get("result") for i in slim.items if i["type"] == "image_generation_call"] == [
            None,
            None,
            None,
        ]
        (ci,) = [i for i in slim.items if i["type"] == "code_interpreter_call"]
        assert ci["outputs"] == [{"type": "logs", "logs": "done\n"}]
        adapter: TypeAdapter[Any] = TypeAdapter(ResponseInputItemParam)
        for item in slim.items:
            adapter.validate_python(item)
        assert len(json.dumps(slim.items)) < len(json.dumps(data["output"])) - expected + 100


_KILLED_CAPTURE = """
import pathlib, sys, time
import httpx2
from asset_catalog import open_catalog
from asset_catalog.openai import ingest_response
from tests.openai_fixtures import CSV, FakeOpenAI, recording

work = pathlib.Path(sys.argv[1])
server = FakeOpenAI()
server.files[("cntr_1", "cfile_2")] = b"x,y\\n1,2\\n"


class Hanging(httpx2.SyncByteStream):
    def __iter__(self):
        for _ in range(3):  # 3 MiB of the file (past what the ingest reads before it starts
            yield CSV[:32] * 32768  # writing), then the provider stalls: the process is killed
        (work / "hanging").touch()
        time.sleep(600)


def handle(request):
    if request.url.path.endswith("/cfile_1/content"):
        return httpx2.Response(200, stream=Hanging())
    return server.handle(request)


server.transport = httpx2.MockTransport(handle)
catalog = open_catalog(f"sqlite:///{work}/c.db", f"file://{work}/blobs", secret="s" * 32)
ingest_response(catalog, "t1", recording(), client=server.client(), conversation_id="conv")
"""


class TestKilledMidCapture:
    """The process dies while a capture is downloading a container file."""

    def test_reconcile_verify_and_the_retry_leave_one_asset_per_output(
        self, tmp_path: Path, server: FakeOpenAI
    ) -> None:
        """SIGKILL mid-download: nothing half-published is visible; after reconcile() and a
        clean verify(), the retried capture completes, each output catalogued once."""
        root = Path(__file__).resolve().parent.parent
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
        child = subprocess.Popen(
            [sys.executable, "-c", _KILLED_CAPTURE, str(tmp_path)], cwd=root, env=env
        )
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "hanging").exists():
                assert child.poll() is None, "the capture ended before it was killed"
                assert time.monotonic() < deadline, "the capture never reached the download"
                time.sleep(0.05)
        finally:
            child.kill()
            child.wait()
        assert child.returncode == -signal.SIGKILL

        catalog = open_catalog(
            f"sqlite:///{tmp_path}/c.db", f"file://{tmp_path}/blobs", secret="s" * 32
        )
        try:
            before = catalog.list("t1").items
            assert all(a.openai_file_id != "cfile_1" for a in before)  # not half-published
            # The file was streaming into its blob: a pending row that reconcile() finishes.
            assert catalog.reconcile(older_than=dt.timedelta(0)).pending_failed == 1
            assert_clean(catalog)
            report = ingest_response(
                catalog, "t1", recording(), client=server.client(), conversation_id="conv"
            )
            assert report.ok, report.failures
            listed = catalog.list("t1").items
            assert len(listed) == len(report.assets) == 5  # two images, a chart, two files
            assert {a.id for a in before} <= {a.id for a in listed}  # the earlier ones kept
            (csv,) = [a for a in listed if a.openai_file_id == "cfile_1"]
            assert csv.size_bytes == len(CSV)
            assert_clean(catalog)
        finally:
            catalog.close()
