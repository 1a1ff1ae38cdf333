"""Conversation items without their base64 payloads, still valid as API input.

Hosts and agent frameworks store response output verbatim in conversation history, and an
``image_generation_call`` carries its whole image as base64 (1-3 MB for 1024x1024). Once
the image is catalogued, the history needs only the call: the API accepts an
``image_generation_call`` input item with ``result`` null (it is referenced by id), and a
``code_interpreter_call`` without its image outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["SlimmedItems", "slim_items"]


@attrs.frozen
class SlimmedItems:
    """What :func:`slim_items` returns: the items, and how many bytes of payload went."""

    items: list[dict[str, Any]]
    bytes_removed: int
    payloads_removed: int


def slim_items(items: Iterable[Any]) -> SlimmedItems:
    """Copies of ``items`` (SDK objects or dicts, as plain dicts) without base64 payloads:
    ``image_generation_call.result`` becomes null and data-URI image outputs of
    ``code_interpreter_call`` are dropped. Every other item and field is kept as it is (an
    SDK object's unset fields are left out, so the copies are valid API input)."""
    slimmed: list[dict[str, Any]] = []
    removed = count = 0
    for raw in items:
        dump = getattr(raw, "model_dump", None)
        # Only the fields the wire had (nulls included): an SDK default the API never sent
        # is not valid in every input item.
        item = dump(mode="json", exclude_unset=True) if callable(dump) else raw
        if not isinstance(item, Mapping):
            slimmed.append(item)
            continue
        item = dict(item)
        kind = item.get("type")
        if kind == "image_generation_call":
            if isinstance(item.get("result"), str):
                removed += len(item["result"].encode())
                count += 1
            item["result"] = None  # required in input items, and null is valid
        elif kind == "code_interpreter_call" and isinstance(item.get("outputs"), list):
            kept = []
            for out in item["outputs"]:
                url = out.get("url") if isinstance(out, Mapping) else None
                if isinstance(url, str) and url.startswith("data:"):
                    removed += len(url.encode())
                    count += 1
                    continue
                kept.append(out)
            item["outputs"] = kept
        slimmed.append(item)
    return SlimmedItems(items=slimmed, bytes_removed=removed, payloads_removed=count)
