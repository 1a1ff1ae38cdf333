"""The Images / Files page: one HTML file, one script and one style sheet, served by the
adapters from this package (no build step, nothing fetched from elsewhere)."""

from __future__ import annotations

import html
from importlib import resources

__all__ = ["PAGE_FILES", "index_html", "page_file"]

#: The files under ``page/`` a browser may fetch, and their types.
PAGE_FILES = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}

#: The page's own policy: its script and style from itself, images and downloads from the
#: catalog (same origin or the storage's presigned URLs), nothing inline, nothing framed.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data: blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


def _read(name: str) -> str:
    return (resources.files(__package__) / "page" / name).read_text(encoding="utf-8")


def index_html(api_base: str, conversation_url: str = "") -> str:
    """The page, for an API mounted at ``api_base`` (``""`` or ``/api``); the conversation
    link template (``/chat/{conversation_id}#{message_id}``) is optional."""
    return (
        _read("index.html")
        .replace("{{API_BASE}}", html.escape(api_base.rstrip("/"), quote=True))
        .replace("{{CONVERSATION_URL}}", html.escape(conversation_url, quote=True))
    )


def page_file(name: str) -> tuple[str, str] | None:
    """``(text, media type)`` of one of the page's files, or None."""
    media_type = PAGE_FILES.get(name)
    return (_read(name), media_type) if media_type else None
