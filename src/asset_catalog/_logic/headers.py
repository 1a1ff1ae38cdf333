"""Safe response headers for serving an asset to a browser."""

from __future__ import annotations

from typing import Literal

from .._content.filenames import content_disposition
from .._content.mimetypes import is_active_content
from .._models import Asset

__all__ = ["Disposition", "choose_disposition", "download_headers"]

Disposition = Literal["inline", "attachment"]


def choose_disposition(mime_type: str, requested: str | None) -> Disposition:
    """``attachment`` for anything a browser would execute, whatever was asked; otherwise
    what was asked, defaulting to ``inline`` for images and PDFs and ``attachment`` else."""
    if is_active_content(mime_type):
        return "attachment"
    if requested == "attachment":
        return "attachment"
    if requested == "inline":
        return "inline"
    return "inline" if mime_type.startswith("image/") else "attachment"


def download_headers(asset: Asset, disposition: Disposition) -> dict[str, str]:
    """Headers a host should send with the bytes of ``asset``."""
    return {
        "Content-Type": asset.mime_type,
        "Content-Length": str(asset.size_bytes),
        "Content-Disposition": content_disposition(asset.filename, disposition),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=300",
        "ETag": f'"{asset.sha256}"',
    }
