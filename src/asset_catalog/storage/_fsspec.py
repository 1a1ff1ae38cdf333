"""Blob storage on any fsspec filesystem (local files, memory, S3, GCS, Azure ...)."""

from __future__ import annotations

import os
import posixpath
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import IO, Any, cast

import fsspec
from fsspec.asyn import sync
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from ..exceptions import AssetCatalogError, InvalidInput, MissingDependency, StorageError
from ..protocols import SignRequest
from . import _s3_presign as s3

__all__ = ["FsspecStorage"]

_KEY = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_.-]+)*$")
_PROBE = "asset-catalog-probe"  # the key of the URL botocore presigns to show the endpoint
_PROBE_AGAIN = 300.0  # seconds before a client that failed the probe is probed again


@contextmanager
def _translate(action: str, key: str) -> Iterator[None]:
    try:
        yield
    except AssetCatalogError:
        raise
    except Exception as exc:  # fsspec backends raise OSError, botocore and aiohttp errors ...
        raise StorageError(f"storage failed to {action} {key!r}: {exc}") from exc


def _check_key(key: str) -> str:
    if not _KEY.match(key) or any(part in {".", ".."} for part in key.split("/")):
        raise InvalidInput("key", f"unsafe storage key {key!r}")
    return key


class FsspecStorage:
    """A :class:`~asset_catalog.BlobStorage` on an fsspec filesystem under a root prefix.

    Writes stream chunk by chunk (local files write in place; object stores upload in
    parts). Native presigning is used where the filesystem has it (S3); elsewhere
    :meth:`sign` returns None and the catalog issues its own signed tokens.
    """

    def __init__(self, fs: AbstractFileSystem, root: str, *, fsync: bool = False) -> None:
        if not isinstance(fs, AbstractFileSystem):
            raise InvalidInput("fs", f"must be an fsspec filesystem, not {type(fs).__name__}")
        if not isinstance(root, str):
            raise InvalidInput("root", f"must be a path, not {type(root).__name__}")
        self._fs = fs
        self._root = root.rstrip("/")
        self._is_local = "file" in _protocols(fs) or "local" in _protocols(fs)
        self._fsync = bool(fsync) and self._is_local
        self._made_dirs: set[str] = set()
        self._presigner = s3.S3Presigner()
        # (client, base or None when the probe failed, when probed): see _s3_presign.
        self._s3_base: tuple[Any, s3.Base | None, float] | None = None

    @classmethod
    def from_url(cls, url: str, *, fsync: bool = False, **storage_options: Any) -> FsspecStorage:
        """Build from a URL such as ``file://./blobs``, ``memory://x`` or ``s3://bucket/prefix``.

        ``fsync=True`` (local files only) flushes each blob and its directory entry to disk
        before ``write`` returns, so a blob the catalog has published survives a power loss.

        For S3, presigned URLs use Signature Version 4 unless ``config_kwargs`` says
        otherwise: botocore would otherwise still sign with the deprecated SigV2 in some
        regions, and SigV2 URLs carry no ``X-Amz-Expires``.
        """
        if not isinstance(url, str):
            raise InvalidInput("storage_url", f"must be an fsspec URL, not {type(url).__name__}")
        if url.split("://", 1)[0] in {"s3", "s3a"}:
            config = dict(storage_options.get("config_kwargs") or {})
            config.setdefault("signature_version", "s3v4")
            storage_options = {**storage_options, "config_kwargs": config}
        try:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except ImportError as exc:
            protocol = url.split("://", 1)[0]
            extra = {"s3": "s3", "s3a": "s3"}.get(protocol, protocol)
            raise MissingDependency(extra, exc.name or protocol) from exc
        except (ValueError, TypeError) as exc:
            raise InvalidInput("storage_url", f"cannot open storage {url!r}: {exc}") from exc
        return cls(fs, root, fsync=fsync)

    @property
    def fs(self) -> AbstractFileSystem:
        """The underlying fsspec filesystem."""
        return self._fs

    @property
    def root(self) -> str:
        """The root prefix every key lives under."""
        return self._root

    @property
    def can_sign(self) -> bool:
        """True for filesystems with native presigned URLs (S3 and S3-compatible)."""
        return bool({"s3", "s3a"} & _protocols(self._fs))

    def _path(self, key: str) -> str:
        return f"{self._root}/{_check_key(key)}"

    def _ensure_parent(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent not in self._made_dirs:
            self._fs.makedirs(parent, exist_ok=True)
            if self._fsync:  # the new directories' entries, from the root down
                directory = parent
                while directory.startswith(self._root + "/"):
                    directory = posixpath.dirname(directory)
                    _sync_directory(directory)
            self._made_dirs.add(parent)

    def write(self, key: str, chunks: Iterable[bytes]) -> None:
        path = self._path(key)
        with _translate("write", key):
            handle = self._open_for_write(path)
        try:
            for chunk in chunks:  # an error of the source propagates as it is
                with _translate("write", key):
                    handle.write(chunk)
        except BaseException:
            _abandon(handle)
            raise
        try:
            with _translate("write", key):
                if self._fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
                handle.close()
                if self._fsync:
                    _sync_directory(posixpath.dirname(path))
        finally:
            self._forget(path)

    def _forget(self, path: str) -> None:
        """Drop cached listings of ``path`` and its parents (s3fs, gcsfs ... cache them), so
        ``exists`` and ``iter_keys`` see a write or delete at once."""
        if not self._is_local:
            with suppress(Exception):
                self._fs.invalidate_cache(path)

    def _open_for_write(self, path: str) -> Any:
        # Local files: the plain built-in open. fsspec's LocalFileOpener adds nothing here
        # but per-call overhead, which shows when the catalog ingests many small images.
        opener = open if self._is_local else self._fs.open
        if self._is_local:
            self._ensure_parent(path)
        for _ in range(3):
            try:
                return opener(path, "wb")
            except FileNotFoundError:  # the directory was pruned by a concurrent delete
                self._made_dirs.discard(posixpath.dirname(path))
                self._ensure_parent(path)
        return opener(path, "wb")

    def open(self, key: str) -> IO[bytes]:
        path = self._path(key)
        with _translate("open", key):
            return cast("IO[bytes]", self._fs.open(path, "rb"))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            with _translate("delete", key), suppress(FileNotFoundError):
                self._fs.rm_file(path)
        finally:
            self._forget(path)
        if self._is_local:
            self._prune(posixpath.dirname(path))

    def _prune(self, directory: str) -> None:
        """Remove now-empty day/month/year/tenant directories of a local store.

        A concurrent write into a directory removed here re-creates it (see ``write``).
        """
        while directory.startswith(self._root + "/"):
            self._made_dirs.discard(directory)
            try:
                os.rmdir(directory)
            except OSError:  # not empty (or already gone): stop climbing
                return
            directory = posixpath.dirname(directory)

    def exists(self, key: str) -> bool:
        path = self._path(key)
        self._forget(path)  # another process may have written or deleted it
        with _translate("check", key):
            return bool(self._fs.exists(path))

    def size(self, key: str) -> int:
        path = self._path(key)
        self._forget(path)
        with _translate("stat", key):
            return int(self._fs.size(path))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix``, in name order, one directory listing at a time.

        Memory is bounded by the largest directory (one tenant's day), not by the store:
        local directories are read with ``os.scandir`` (names only), others with fsspec's
        ``walk``, forgetting each listing once it has been yielded.
        """
        base = self._root + ("/" + prefix.strip("/") if prefix else "")
        self._forget(base)
        start = len(self._fs._strip_protocol(self._root).rstrip("/")) + 1
        with _translate("list", prefix or "/"):
            if self._is_local:  # scanned from the root as given: cut exactly that off
                if os.path.isdir(base):
                    for path in _scan(base):
                        yield path[len(self._root) + 1 :]
                return
            if not self._fs.exists(base):
                return
            for directory, dirs, files in self._fs.walk(base, on_error="raise"):
                dirs.sort()  # walk() descends in this order
                for name in sorted(files):
                    yield f"{directory.rstrip('/')}/{name}"[start:]
                self._forget(directory)  # keep s3fs's listing cache from growing

    def sign(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str,
        content_type: str,
        disposition: str,
    ) -> str | None:
        return self.sign_many([SignRequest(key, expires_in, filename, content_type, disposition)])[
            0
        ]

    def sign_many(self, requests: Sequence[SignRequest]) -> list[str | None]:
        """Native presigned GET URLs for a batch (None each where the filesystem cannot sign).

        On S3 with SigV4 the whole batch is signed here in one pass, with the client's
        credentials frozen once and a cached signing key, from the endpoint botocore presigns
        for (see ``asset_catalog.storage._s3_presign``); any other configuration (SigV2,
        anonymous access, endpoints this cannot follow) goes through s3fs's ``sign``, URL by
        URL. Both give the same URL for the same signing time.
        """
        if not self.can_sign:
            return [None] * len(requests)
        paths = [self._path(request.key) for request in requests]
        if not paths:
            return []
        with _translate("sign", requests[0].key):
            fast = self._sign_s3(paths, requests)
        if fast is not None:
            return list(fast)
        urls: list[str | None] = []
        for path, request in zip(paths, requests, strict=True):
            with _translate("sign", request.key):
                urls.append(
                    str(self._fs.sign(path, expiration=request.expires_in, **_overrides(request)))
                )
        return urls

    def _sign_s3(self, paths: list[str], requests: Sequence[SignRequest]) -> list[str] | None:
        """The batch signed in one pass, or None where only s3fs can sign it."""
        bucket, probe_key, version = self._fs.split_path(self._path(_PROBE))
        if version is not None:  # a root naming an object version: s3fs's business
            return None
        client = self._fs.s3  # connects if not yet connected, as s3fs's sign would
        credentials = s3.frozen_credentials(client, lambda f: sync(self._fs.loop, f))
        if credentials is None:
            return None
        base = self._s3_base_for(client, bucket, probe_key, credentials)
        if base is None:
            return None
        prefix = probe_key[: -len(_PROBE)]  # the root's part after the bucket, and "/"
        gets = [
            s3.PresignedGet(prefix + r.key, r.expires_in, r.content_type, r.disposition)
            for r in requests
        ]
        return self._presigner.sign(base, credentials, gets)

    def _s3_base_for(
        self, client: Any, bucket: str, probe_key: str, credentials: s3.Credentials
    ) -> s3.Base | None:
        """Where the bucket's keys are addressed, from a URL botocore presigns once per client
        (a client that failed the probe is probed again after a while)."""
        cached = self._s3_base
        if (
            cached is not None
            and cached[0] is client
            and (cached[1] is not None or time.monotonic() - cached[2] < _PROBE_AGAIN)
        ):
            return cached[1]
        probe = s3.PresignedGet(probe_key, 60, "text/plain", "attachment")
        url = str(self._fs.sign(f"{bucket}/{probe_key}", expiration=60, **_overrides(probe)))
        base = s3.base_from_probe(url, probe_key)
        if base is not None and not s3.probe_agrees(self._presigner, base, credentials, url, probe):
            base = None
        self._s3_base = (client, base, time.monotonic())
        return base


def _overrides(request: SignRequest | s3.PresignedGet) -> dict[str, str]:
    return {
        "ResponseContentDisposition": request.disposition,
        "ResponseContentType": request.content_type,
    }


def _abandon(handle: Any) -> None:
    """Close a write handle after its source failed, without committing a partial blob.

    Buffered object-store files (s3fs, gcsfs, adlfs) would upload what they hold on
    ``close()``: ``discard()`` aborts the multipart upload instead, and the handle is then
    marked closed without a final flush. Other handles (local, memory) are simply closed;
    the caller removes what they left.
    """
    if isinstance(handle, AbstractBufferedFile):
        with suppress(Exception):
            handle.discard()
        handle.buffer = None
        handle.closed = True
        return
    with suppress(Exception):
        handle.close()


def _sync_directory(directory: str) -> None:
    """fsync a local directory, so the entries created in it are durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _scan(directory: str) -> Iterator[str]:
    """File paths under a local directory, depth first in name order; names only in memory.
    A directory removed meanwhile (a delete pruned it once empty) has nothing under it."""
    try:
        with os.scandir(directory) as entries:
            listing = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in entries)
    except FileNotFoundError:
        return
    for name, is_dir in listing:
        path = f"{directory}/{name}"
        if is_dir:
            yield from _scan(path)
        else:
            yield path


def _protocols(fs: AbstractFileSystem) -> set[str]:
    proto = fs.protocol
    return {proto} if isinstance(proto, str) else set(proto)
