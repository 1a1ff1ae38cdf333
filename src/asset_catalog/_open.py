"""``open_catalog``: the whole catalog from two URLs and a secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ._catalog import DEFAULT_MAX_BYTES, AssetCatalog
from ._signing import UrlSigner
from .exceptions import InvalidInput, UnsupportedOperation
from .protocols import AssetRepository
from .storage import FsspecStorage

__all__ = ["open_catalog"]


def open_catalog(
    database_url: str,
    storage_url: str,
    *,
    secret: str | bytes | Mapping[str, str | bytes],
    active_key_id: str | None = None,
    base_url: str = "/assets/download",
    table_prefix: str = "",
    create_schema: bool = True,
    storage_options: Mapping[str, Any] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    durable: bool = False,
) -> AssetCatalog:
    """Build a catalog from URLs, e.g. the embedded default::

        catalog = open_catalog("sqlite:///assets.db", "file://./asset-blobs", secret=SECRET)

    ``database_url`` is a SQLAlchemy URL (``sqlite:///…``, or ``postgresql://…`` /
    ``postgresql+psycopg://…`` with the ``postgres`` extra); ``storage_url`` an fsspec URL
    (``file://…``, ``memory://…``, ``s3://bucket/prefix`` …) with ``storage_options`` passed
    to the filesystem. ``secret`` signs download tokens and list cursors (see
    :class:`UrlSigner` for rotation); ``base_url`` is the host route serving
    :meth:`AssetCatalog.open_signed`. With ``create_schema`` the tables are created if
    missing (hosts that use migrations pass False).

    ``durable=True`` makes a published asset survive a power loss on the embedded backends:
    SQLite commits with ``synchronous=FULL`` and local blobs are fsynced (with their
    directory) before the asset is published. It costs a few fsyncs per ingest (see
    docs/reliability.md). PostgreSQL and object stores are durable on their own terms.
    """
    repository = _repository(database_url, table_prefix, durable)
    try:
        storage = FsspecStorage.from_url(
            storage_url, fsync=bool(durable), **dict(storage_options or {})
        )
        signer = UrlSigner(secret, active_key_id=active_key_id, base_url=base_url)
    except ValueError as exc:
        repository.close()
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput("secret", str(exc)) from exc
    if create_schema:
        try:
            repository.create_schema()
        except BaseException:
            repository.close()
            raise
    return AssetCatalog(repository=repository, storage=storage, signer=signer, max_bytes=max_bytes)


def _repository(database_url: str, table_prefix: str, durable: bool) -> AssetRepository:
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise InvalidInput("database_url", f"not a database URL: {exc}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        from .sql import SqliteRepository

        return SqliteRepository(
            url.render_as_string(hide_password=False),
            table_prefix=table_prefix,
            synchronous="FULL" if durable else "NORMAL",
        )
    if backend == "postgresql":
        from .sql._postgres import PostgresRepository, psycopg_url

        try:
            pg_url = psycopg_url(url)
        except ValueError as exc:
            raise InvalidInput("database_url", str(exc)) from exc
        return PostgresRepository(pg_url, table_prefix=table_prefix)
    raise UnsupportedOperation(f"no repository for database URLs of kind {backend!r} yet")
