"""Engines from URLs (or the host's own engine), refused with the catalog's own errors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ..exceptions import InvalidInput

__all__ = ["engine_for", "parse_url"]


def parse_url(url: object, backend: str) -> URL:
    """``url`` (text or a SQLAlchemy ``URL``) parsed, and of the ``backend`` database."""
    if not isinstance(url, str | URL):
        raise InvalidInput("url", f"must be a database URL or an Engine, not {type(url).__name__}")
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput("url", f"not a database URL: {exc}") from None
    if parsed.get_backend_name() != backend:
        raise InvalidInput("url", f"not a {backend} URL: {parsed!r}")
    return parsed


def engine_for(url: object, backend: str, **options: Any) -> Engine:
    """The host's ``Engine`` as it is, or a new one for ``url``; either on ``backend``."""
    if isinstance(url, Engine):
        if url.dialect.name != backend:
            raise InvalidInput("url", f"not a {backend} engine: {url.url!r}")
        return url
    parsed = parse_url(url, backend)
    try:
        return create_engine(parsed, **options)
    except (ArgumentError, NoSuchModuleError, TypeError) as exc:
        raise InvalidInput("url", f"cannot open {parsed!r}: {exc}") from None
