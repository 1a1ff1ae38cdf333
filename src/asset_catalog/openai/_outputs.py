"""What a Responses API result holds for the catalog, read tolerantly from any of its forms.

A response arrives as an SDK ``Response``, as its JSON (a webhook, a stored log), or as the
stream of events that built it. All are reduced to plain dicts first (SDK objects through
``model_dump``, which keeps the fields the installed SDK does not declare) and then read with
``dict.get``: the API sends fields before the SDK knows them, and an old SDK must not lose an
image because it does not declare ``revised_prompt``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

import attrs

__all__ = [
    "CodeImage",
    "FileCitation",
    "GeneratedImage",
    "Outputs",
    "Skip",
    "collect",
    "from_events",
    "plain",
]

#: The image_generation_call fields recorded in the asset's metadata, when present.
IMAGE_FIELDS = ("revised_prompt", "size", "quality", "background", "output_format", "action")


@attrs.frozen
class GeneratedImage:
    """A final ``image_generation_call``: its id and base64 result."""

    item_id: str
    result: str
    fields: Mapping[str, Any]
    """What the wire said about it (``IMAGE_FIELDS``, as sent)."""


@attrs.frozen
class CodeImage:
    """An image a ``code_interpreter_call`` returned as a data URI."""

    call_id: str
    index: int
    data_uri: str
    container_id: str | None


@attrs.frozen
class FileCitation:
    """A ``container_file_citation`` of the output text."""

    container_id: str
    file_id: str
    filename: str
    message_id: str | None
    call_id: str | None
    """The ``code_interpreter_call`` in that container before the citing message, if any."""


@attrs.frozen
class Skip:
    """An output that is not catalogued, and why."""

    item_id: str | None
    kind: str
    reason: str


@attrs.frozen
class Outputs:
    """What one response produced, in output order."""

    response_id: str | None
    conversation_id: str | None
    images: tuple[GeneratedImage, ...] = ()
    code_images: tuple[CodeImage, ...] = ()
    files: tuple[FileCitation, ...] = ()
    skipped: tuple[Skip, ...] = ()


def plain(value: Any) -> Any:
    """An SDK object (pydantic, extra fields included) as plain JSON-like data; fields the
    object leaves unset (None) are left out, as the API itself does when it sends them."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, str | bytes | bytearray):
        return json.loads(value)
    return value


def is_response(value: Any) -> bool:
    """Whether ``value`` is one response (object, dict or JSON), not a stream of events."""
    return callable(getattr(value, "model_dump", None)) or isinstance(
        value, Mapping | str | bytes | bytearray
    )


def is_async_stream(value: Any) -> bool:
    return isinstance(value, AsyncIterable) and not is_response(value)


def from_events(events: Iterable[Any]) -> dict[str, Any]:
    """The response a stream of events built, as a dict: ``response.completed`` (or
    ``incomplete`` / ``failed``) when the stream got that far, else the items that finished
    (``response.output_item.done``) with the annotations added meanwhile. Partial images
    (``response.image_generation_call.partial_image``) are dropped: never catalogued."""
    response: dict[str, Any] = {}
    items: dict[int, dict[str, Any]] = {}
    for raw in events:
        event = plain(raw)
        if not isinstance(event, Mapping):
            continue
        kind = str(event.get("type", ""))
        body = event.get("response")
        if isinstance(body, Mapping):
            if kind in {"response.completed", "response.incomplete", "response.failed"}:
                finished = dict(body)
                # A final response without results (some servers trim them) keeps the
                # results the item events delivered.
                response = {**response, **finished}
            elif kind in {"response.created", "response.in_progress", "response.queued"}:
                response = {**dict(body), **response}
        item = event.get("item")
        index = event.get("output_index")
        if kind in {"response.output_item.added", "response.output_item.done"}:
            if isinstance(item, Mapping) and isinstance(index, int):
                items[index] = {**items.get(index, {}), **dict(item)}
        elif kind == "response.output_text.annotation.added" and isinstance(index, int):
            annotation = event.get("annotation")
            if isinstance(annotation, Mapping):
                message = items.setdefault(index, {"type": "message", "id": event.get("item_id")})
                message.setdefault("_annotations", []).append(dict(annotation))
    streamed = [items[i] for i in sorted(items)]
    final = response.get("output")
    if isinstance(final, list) and final:
        by_id = {item.get("id"): item for item in streamed if item.get("id")}
        merged = []
        for done in final:
            seen = by_id.get(done.get("id")) if isinstance(done, Mapping) else None
            if seen and isinstance(done, Mapping) and not done.get("result") and seen.get("result"):
                done = {**done, "result": seen["result"]}  # noqa: PLW2901 - the merged item
            merged.append(done)
        response["output"] = merged
    else:
        response["output"] = streamed
    return response


def collect(response: Any) -> Outputs:
    """Everything catalogable in one response (any form but a stream: see
    :func:`from_events`)."""
    data = plain(response)
    if not isinstance(data, Mapping):
        data = from_events(data)
    output = data.get("output")
    items = [dict(i) for i in output if isinstance(i, Mapping)] if isinstance(output, list) else []
    conversation = data.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, Mapping) else None
    images: list[GeneratedImage] = []
    code_images: list[CodeImage] = []
    files: list[FileCitation] = []
    skipped: list[Skip] = []
    seen_files: set[tuple[str, str]] = set()
    calls_by_container: dict[str, str] = {}
    for item in items:
        kind = str(item.get("type", ""))
        item_id = _text(item.get("id"))
        if kind == "image_generation_call":
            result = item.get("result")
            # In a stream the status can stay "generating" although the result is complete:
            # a present result is final.
            if isinstance(result, str) and result:
                fields = {k: item[k] for k in IMAGE_FIELDS if item.get(k) is not None}
                images.append(GeneratedImage(item_id or "", result, fields))
            else:
                skipped.append(Skip(item_id, kind, _no_result(item)))
        elif kind == "code_interpreter_call":
            container = _text(item.get("container_id"))
            if item_id and container:
                calls_by_container[container] = item_id
            for index, out in enumerate(item.get("outputs") or ()):
                if not isinstance(out, Mapping) or out.get("type") != "image":
                    continue
                url = out.get("url")
                if isinstance(url, str) and url.startswith("data:"):
                    code_images.append(CodeImage(item_id or "", index, url, container))
                else:  # never fetched: an arbitrary URL from the wire is not ours to follow
                    skipped.append(Skip(item_id, kind, "image output is not a data URI"))
        elif kind == "message":
            for annotation in _annotations(item):
                if annotation.get("type") != "container_file_citation":
                    continue
                container = _text(annotation.get("container_id"))
                file_id = _text(annotation.get("file_id"))
                if not container or not file_id:
                    skipped.append(
                        Skip(item_id, "container_file_citation", "no container or file id")
                    )
                    continue
                if (container, file_id) in seen_files:  # cited twice: fetched once
                    continue
                seen_files.add((container, file_id))
                filename = _text(annotation.get("filename")) or file_id
                call = calls_by_container.get(container)
                files.append(FileCitation(container, file_id, filename, item_id, call))
    return Outputs(
        response_id=_text(data.get("id")),
        conversation_id=_text(conversation_id),
        images=tuple(images),
        code_images=tuple(code_images),
        files=tuple(files),
        skipped=tuple(skipped),
    )


def _annotations(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found: list[Mapping[str, Any]] = []
    for part in message.get("content") or ():
        if isinstance(part, Mapping):
            found += [a for a in part.get("annotations") or () if isinstance(a, Mapping)]
    found += [a for a in message.get("_annotations") or () if isinstance(a, Mapping)]
    return found


def _no_result(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    error = item.get("error")
    if status == "failed" or error:
        message = error.get("message") if isinstance(error, Mapping) else error
        return f"failed: {message}" if message else "failed"
    return f"no result (status {status!r})"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
