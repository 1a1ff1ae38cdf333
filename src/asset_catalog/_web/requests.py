"""A list request's query string as ``list`` arguments (for adapters that parse it
themselves; FastAPI declares the same parameters for its OpenAPI document)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from ..exceptions import InvalidInput
from ..protocols import AssetQuery

__all__ = ["LIST_FILTERS", "instant", "list_arguments", "whole_number"]

#: Query parameters of ``GET /assets`` passed to ``list`` as they are (text): every filter
#: of ``AssetQuery`` but the two instants (parsed below), and the cursor.
LIST_FILTERS = (
    *(f.name for f in attrs.fields(AssetQuery) if not f.name.startswith("created_")),
    "cursor",
)


def whole_number(value: str, field: str) -> int:
    """A query parameter that must be a whole number."""
    text = value.strip()
    if not text.lstrip("-").isdigit() or len(text) > 12:
        raise InvalidInput(field, "must be a whole number")
    return int(text)


def instant(value: str, field: str) -> dt.datetime:
    """An ISO 8601 date and time that says its time zone."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(field, "must be an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(field, "must say its time zone (e.g. 2026-12-01T10:00:00Z)")
    return parsed


def list_arguments(query: Mapping[str, str]) -> dict[str, Any]:
    """``list`` keyword arguments from a query string's parameters (``request.GET``,
    ``request.args``): every filter, ``limit`` and ``cursor``. Unknown parameters are
    ignored; a bad value, an empty one included, is an ``InvalidInput`` naming it (as the
    OpenAPI document of the FastAPI router says), except ``cursor=``: the first page."""
    arguments: dict[str, Any] = {name: query[name] for name in LIST_FILTERS if name in query}
    for name in ("created_after", "created_before"):
        if name in query:
            arguments[name] = instant(query[name], name)
    if "limit" in query:
        arguments["limit"] = whole_number(query["limit"], "limit")
    arguments["cursor"] = arguments.get("cursor") or None
    return arguments
