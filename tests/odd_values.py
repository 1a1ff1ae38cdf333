"""Values no JSON encoder can take: nested too deep, or containing themselves."""

from __future__ import annotations

from typing import Any

__all__ = ["circular_mapping", "deep_mapping"]


def deep_mapping(depth: int) -> dict[str, Any]:
    """A mapping nested ``depth`` levels deep (deeper than Python's recursion limit)."""
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return root


def circular_mapping() -> dict[str, Any]:
    """A mapping that contains itself."""
    loop: dict[str, Any] = {}
    loop["self"] = loop
    return loop
