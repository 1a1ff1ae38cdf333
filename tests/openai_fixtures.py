"""Realistic Responses API payloads and a fake OpenAI server on ``httpx2.MockTransport``.

The payloads are the JSON the API sends (validated into the real SDK models by the tests);
the server answers the real ``OpenAI`` / ``AsyncOpenAI`` clients: container file content
(streamed, with failures on demand) and ``POST /v1/responses`` as server-sent events.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import openai

from .images import png_bytes, webp_bytes

BASE_URL = "http://openai.test/v1"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_call(
    item_id: str, image: bytes | None, *, status: str = "completed", **fields: Any
) -> dict[str, Any]:
    """An ``image_generation_call`` output item as the API sends it."""
    item: dict[str, Any] = {
        "type": "image_generation_call",
        "id": item_id,
        "status": status,
        "result": b64(image) if image is not None else None,
    }
    item.update(fields)
    return item


def code_call(call_id: str, container_id: str, images: list[bytes] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """A ``code_interpreter_call`` with logs and data-URI image outputs."""
    outputs: list[dict[str, Any]] = [{"type": "logs", "logs": "done\n"}]
    outputs += [{"type": "image", "url": f"data:image/png;base64,{b64(i)}"} for i in images]
    return {
        "type": "code_interpreter_call",
        "id": call_id,
        "status": "completed",
        "container_id": container_id,
        "code": "import pandas as pd",
        "outputs": outputs,
    }


def citation(container_id: str, file_id: str, filename: str) -> dict[str, Any]:
    return {
        "type": "container_file_citation",
        "container_id": container_id,
        "file_id": file_id,
        "filename": filename,
        "start_index": 0,
        "end_index": 10,
    }


def message(message_id: str, *citations: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message_id,
        "role": "assistant",
        "status": "completed",
        "content": [
            {"type": "output_text", "text": "Here you go.", "annotations": list(citations)}
        ],
    }


def response(
    response_id: str, output: list[dict[str, Any]], conversation_id: str | None = "conv_1"
) -> dict[str, Any]:
    """A whole ``Response`` as JSON."""
    data: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": 1_764_600_000,
        "model": "gpt-5",
        "status": "completed",
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [{"type": "image_generation"}, {"type": "code_interpreter", "container": "auto"}],
    }
    if conversation_id:
        data["conversation"] = {"id": conversation_id}
    return data


PNG_A = png_bytes(64, 48)
PNG_B = png_bytes(32, 32)
WEBP = webp_bytes(16, 16)
CSV = b"region,revenue\nnorth,120\nsouth,80\n"


def recording() -> dict[str, Any]:
    """A recorded response: two images, a failed one, a Code Interpreter call with a chart,
    and a message citing one file twice and another once."""
    return response(
        "resp_1",
        [
            image_call(
                "ig_1",
                PNG_A,
                revised_prompt="a red fox, watercolour",
                size="1024x1024",
                quality="high",
                background="opaque",
                output_format="png",
                action="generate",
            ),
            image_call("ig_2", WEBP, output_format="webp", action="edit"),
            image_call(
                "ig_3",
                None,
                status="failed",
                error={
                    "code": "moderation_blocked",
                    "message": "blocked",
                    "param": None,
                    "type": "image_generation_user_error",
                },
            ),
            code_call("ci_1", "cntr_1", images=[PNG_B]),
            message(
                "msg_1",
                citation("cntr_1", "cfile_1", "report.csv"),
                citation("cntr_1", "cfile_1", "report.csv"),
                citation("cntr_1", "cfile_2", "/mnt/data/other.csv"),
            ),
        ],
    )


def stream_events(final: dict[str, Any], partials: int = 2) -> list[dict[str, Any]]:
    """The events a streamed response sends: created, items added, partial images, items
    done (images still ``generating`` although their result is there), annotations,
    completed."""
    events: list[dict[str, Any]] = []
    seq = iter(range(10_000))
    created = {**final, "status": "in_progress", "output": []}
    events.append({"type": "response.created", "sequence_number": next(seq), "response": created})
    for index, item in enumerate(final["output"]):
        added = {**item, "status": "in_progress"}
        if item["type"] == "image_generation_call":
            added["result"] = None
        if item["type"] == "message":
            added["content"] = []
        events.append(
            {
                "type": "response.output_item.added",
                "sequence_number": next(seq),
                "output_index": index,
                "item": added,
            }
        )
        if item["type"] == "image_generation_call" and item.get("result"):
            for n in range(partials):
                events.append(
                    {
                        "type": "response.image_generation_call.partial_image",
                        "sequence_number": next(seq),
                        "item_id": item["id"],
                        "output_index": index,
                        "partial_image_index": n,
                        "partial_image_b64": b64(png_bytes(4 + n, 4)),
                    }
                )
            item = {**item, "status": "generating"}  # noqa: PLW2901 - as servers send it
        events.append(
            {
                "type": "response.output_item.done",
                "sequence_number": next(seq),
                "output_index": index,
                "item": item,
            }
        )
    events.append({"type": "response.completed", "sequence_number": next(seq), "response": final})
    return events


def sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


class _Broken(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A body that sends some bytes, then the connection resets."""

    def __init__(self, head: bytes) -> None:
        self._head = head

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        raise httpx2.ReadError("connection reset by peer")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._head
        raise httpx2.ReadError("connection reset by peer")


class FakeOpenAI:
    """Serves container files and streamed responses; counts what it was asked.

    ``files[(container, file)]`` is the content; ``fail[(container, file)]`` a list of
    failures to serve first, one per request: an HTTP status (``500``, ``404``) or
    ``"reset"`` (a connection reset halfway through the body).
    """

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.fail: dict[tuple[str, str], list[int | str]] = {}
        self.downloads: Counter[tuple[str, str]] = Counter()
        self.streams: dict[str, bytes] = {}
        #: what ``POST /v1/responses`` answers when ``streams`` has nothing for its input
        self.response: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self.transport = httpx2.MockTransport(self.handle)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        parts = request.url.path.strip("/").split("/")
        if parts[:2] == ["v1", "containers"] and parts[3:4] == ["files"] and parts[-1] == "content":
            key = (parts[2], parts[4])
            with self._lock:
                self.downloads[key] += 1
                pending = self.fail.get(key) or []
                failure = pending.pop(0) if pending else None
            if failure == "reset":
                return httpx2.Response(200, stream=_Broken(self.files[key][:10]))
            if isinstance(failure, int):
                return httpx2.Response(failure, json={"error": {"message": f"status {failure}"}})
            if key not in self.files:
                return httpx2.Response(404, json={"error": {"message": "Container not found"}})
            return httpx2.Response(200, content=self.files[key])
        if request.url.path == "/v1/responses" and request.method == "POST":
            body = json.loads(request.content)
            key = body["input"] if isinstance(body.get("input"), str) else None
            if key in self.streams:
                stream = self.streams[key]
            elif self.response is not None and body.get("stream"):
                stream = sse(stream_events(self.response))
            elif self.response is not None:
                return httpx2.Response(200, json=self.response)
            else:
                return httpx2.Response(400, json={"error": {"message": "no response recorded"}})
            return httpx2.Response(
                200, content=stream, headers={"content-type": "text/event-stream"}
            )
        return httpx2.Response(404, json={"error": {"message": f"no route {request.url.path}"}})

    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key="sk-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.Client(transport=self.transport),
        )

    def async_client(self) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key="sk-test",
            base_url=BASE_URL,
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=self.transport),
        )
