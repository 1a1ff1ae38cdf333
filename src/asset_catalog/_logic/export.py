"""A tenant's assets (or one user's, one conversation's) and their audit trails, written out
for a data-export request: ``manifest.jsonl`` and every blob, to a directory or as a tar
stream. Read a page at a time and copied a chunk at a time: memory stays bounded however
much is exported."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._inputs import CHUNK
from .._json import to_json
from .._models import Asset, ExportReport
from ..exceptions import InvalidInput, StorageError
from ..protocols import AssetQuery, Position
from .context import Context

__all__ = ["export"]

PAGE = 100
MANIFEST = "manifest.jsonl"


def export(ctx: Context, tenant_id: str, target: object, query: AssetQuery) -> ExportReport:
    """Write the live assets matching ``query`` to ``target``: a directory path (created;
    it must not exist or be empty) or a writable binary stream (a tar archive, streamed)."""
    if isinstance(target, str | os.PathLike):
        return _to_directory(ctx, tenant_id, Path(target), query)
    if hasattr(target, "write"):
        return _to_tar(ctx, tenant_id, target, query)
    raise InvalidInput("target", "must be a directory path or a writable binary stream")


def path_of(asset: Asset) -> str:
    """Where an asset's bytes go in the export: under its id, with its name (made safe at
    ingest; a row edited by hand to hold a path still cannot leave its folder)."""
    name = asset.filename
    if "/" in name or "\\" in name or name in {"", ".", ".."}:
        name = "file"
    return f"files/{asset.id}/{name}"


def _entries(ctx: Context, tenant_id: str, query: AssetQuery) -> Iterator[tuple[Asset, str]]:
    """Every matching live asset with its blob's key, newest first, a page at a time."""
    after: Position | None = None
    while True:
        page = ctx.repository.list_assets(tenant_id, query, after, PAGE)
        if not page:
            return
        found = ctx.repository.get_assets_with_keys(tenant_id, [a.id for a in page])
        keys = {asset.id: key for asset, key in found}
        for asset in page:
            if asset.id in keys:  # deleted since the page was read: not exported
                yield asset, keys[asset.id]
        after = Position(page[-1].created_at, page[-1].id)


def _line(ctx: Context, tenant_id: str, asset: Asset) -> bytes:
    events = [to_json(e) for e in ctx.repository.events_for(tenant_id, asset.id)]
    entry = {"path": path_of(asset), "asset": to_json(asset), "events": events}
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _chunks(ctx: Context, asset: Asset, key: str) -> Iterator[bytes]:
    """The blob a chunk at a time, checked at its end against the recorded size and sha256."""
    digest, size = hashlib.sha256(), 0
    with ctx.storage.open(key) as blob:
        while chunk := blob.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            yield chunk
    if (size, digest.hexdigest()) != (asset.size_bytes, asset.sha256):
        raise StorageError(f"the blob of asset {asset.id} is not what was catalogued")


def _to_directory(ctx: Context, tenant_id: str, root: Path, query: AssetQuery) -> ExportReport:
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InvalidInput("target", "must be a new or empty directory")
    assets = size = 0
    try:
        root.mkdir(parents=True, exist_ok=True)
        with open(root / MANIFEST, "wb") as manifest:
            for asset, key in _entries(ctx, tenant_id, query):
                path = root / path_of(asset)
                path.parent.mkdir(parents=True)
                with open(path, "wb") as out:
                    for chunk in _chunks(ctx, asset, key):
                        out.write(chunk)
                manifest.write(_line(ctx, tenant_id, asset))
                assets, size = assets + 1, size + asset.size_bytes
    except StorageError:
        raise
    except OSError as exc:
        raise StorageError(f"export to {root} failed: {exc}") from exc
    return ExportReport(assets=assets, bytes=size)


class _Relay(io.RawIOBase):
    """A blob's checked chunks as the file object tarfile reads from."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks, self._buffer = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


def _to_tar(ctx: Context, tenant_id: str, stream: Any, query: AssetQuery) -> ExportReport:
    """The blobs as they come, then the manifest (spooled to a temporary file meanwhile:
    its size must be known before it is written)."""
    assets = size = 0
    try:
        with tarfile.open(fileobj=stream, mode="w|") as tar, tempfile.TemporaryFile() as lines:
            for asset, key in _entries(ctx, tenant_id, query):
                info = tarfile.TarInfo(path_of(asset))
                info.size, info.mtime = asset.size_bytes, int(asset.created_at.timestamp())
                tar.addfile(info, io.BufferedReader(_Relay(_chunks(ctx, asset, key)), CHUNK))
                lines.write(_line(ctx, tenant_id, asset))
                assets, size = assets + 1, size + asset.size_bytes
            info = tarfile.TarInfo(MANIFEST)
            info.size = lines.tell()
            lines.seek(0)
            tar.addfile(info, lines)
    except StorageError:
        raise
    except OSError as exc:
        raise StorageError(f"export stream failed: {exc}") from exc
    return ExportReport(assets=assets, bytes=size)
