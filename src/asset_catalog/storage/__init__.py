"""Blob storage: :class:`FsspecStorage` on any fsspec filesystem (local files, memory, S3 and
S3-compatible stores, GCS, Azure ...). See docs/storage.md."""

from __future__ import annotations

from ._fsspec import FsspecStorage

__all__ = ["FsspecStorage"]
