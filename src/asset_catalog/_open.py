"""``open_catalog``: the whole catalog from two URLs and a secret."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ._catalog import AssetCatalog
from ._limits import DEFAULT_MAX_BYTES
from ._models import Quota
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
    quota: Callable[[str], Quota | None] | None = None,
    variant_sizes: Mapping[str, int] | None = None,
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

    ``quota`` is the host's policy, a function from a tenant id to its :class:`Quota` (or
    None: no limit), enforced in the transaction that publishes each asset.

    ``variant_sizes`` are the variants made of every image, ``{name: longest side in
    pixels}`` (None: a 256-pixel ``thumbnail``; ``{}``: none); they need the ``images``
    extra (Pillow), without which none is made.
    """
    if storage_options is not None and not isinstance(storage_options, Mapping):
        raise InvalidInput("storage_options", "must be a mapping of filesystem options")
    repository = _repository(database_url, table_prefix, durable)
    try:
        storage = FsspecStorage.from_url(
            storage_url, fsync=bool(durable), **dict(storage_options or {})
        )
        signer = UrlSigner(secret, active_key_id=active_key_id, base_url=base_url)
        catalog = AssetCatalog(
            repository=repository,
            storage=storage,
            signer=signer,
            max_bytes=max_bytes,
            quota=quota,
        )
        if variant_sizes is not None:
            catalog.variant_sizes = variant_sizes  # checked by the field's converter
        if create_schema:
            repository.create_schema()
    except BaseException:
        repository.close()
        raise
    return catalog


def _repository(database_url: object, table_prefix: object, durable: bool) -> AssetRepository:
    if not isinstance(table_prefix, str):
        raise InvalidInput("table_prefix", "must be text")
    if not isinstance(database_url, str):
        raise InvalidInput("database_url", "must be a SQLAlchemy URL")
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput("database_url", f"not a database URL: {exc}") from None
    backend = url.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise UnsupportedOperation(f"no repository for database URLs of kind {backend!r} yet")
    from .sql import PostgresRepository, SqliteRepository

    try:
        if backend == "sqlite":
            synchronous = "FULL" if durable else "NORMAL"
            return SqliteRepository(url, table_prefix=table_prefix, synchronous=synchronous)
        return PostgresRepository(url, table_prefix=table_prefix)
    except InvalidInput as exc:
        if exc.field != "url":
            raise
        raise InvalidInput("database_url", exc.message) from None
