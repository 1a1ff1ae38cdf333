"""Where the catalog is: the global options (or their environment variables), and opening it."""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import attrs
import click
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .._catalog import AssetCatalog
from .._signing import UrlSigner
from ..exceptions import InvalidInput, UnsupportedOperation
from ..protocols import AssetRepository
from ..storage import FsspecStorage
from ._errors import ExitCode, fail

__all__ = [
    "DEFAULT_DATABASE_URL",
    "DEFAULT_STORAGE_URL",
    "Settings",
    "database_url",
    "default_actor",
    "open_catalog_for",
]

DEFAULT_DATABASE_URL = "sqlite:///asset-catalog.db"
"""The embedded default: a SQLite file in the current directory."""
DEFAULT_STORAGE_URL = "file://./asset-blobs"
"""The embedded default: a directory of blobs in the current directory."""


def default_actor() -> str:
    """``cli:<login name>``: who the audit trail says deleted, signed or downloaded."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


@attrs.frozen
class Settings:
    """The global options, as given (flags first, then ``ASSET_CATALOG_*`` variables)."""

    database_url: str = DEFAULT_DATABASE_URL
    storage_url: str = DEFAULT_STORAGE_URL
    secret: str | None = attrs.field(default=None, repr=False)
    schema: str | None = None
    table_prefix: str = ""
    base_url: str = "/assets/download"
    actor: str = "cli"

    def shown_database(self) -> str:
        """The database URL without its password (and the PostgreSQL schema, if one)."""
        shown = database_url(self.database_url).render_as_string(hide_password=True)
        return f"{shown} (schema {self.schema})" if self.schema else shown


def database_url(text: str) -> URL:
    """``text`` parsed as a SQLAlchemy URL, or InvalidInput naming ``--database-url``."""
    try:
        return make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput("database_url", f"not a database URL: {exc}") from None


def _sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL (None for an in-memory database)."""
    name = url.database or ""
    if name in {"", ":memory:"} or name.startswith("file:"):
        return None
    return Path(name)


def _repository(settings: Settings, *, create: bool) -> AssetRepository:
    url = database_url(settings.database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if settings.schema:
            fail(
                "--schema is for PostgreSQL; a SQLite catalog takes --table-prefix", ExitCode.USAGE
            )
        path = _sqlite_file(url)
        if not create and path is not None and not path.exists():
            fail(
                f"no catalog at {settings.shown_database()}: run `asset-catalog init` first, "
                "or pass --database-url / set ASSET_CATALOG_DATABASE_URL",
                ExitCode.USAGE,
            )
        from ..sql import SqliteRepository

        return SqliteRepository(url, table_prefix=settings.table_prefix)
    if backend == "postgresql":
        from ..sql import PostgresRepository

        return PostgresRepository(url, table_prefix=settings.table_prefix, schema=settings.schema)
    raise UnsupportedOperation(f"no repository for database URLs of kind {backend!r}")


@contextmanager
def open_catalog_for(
    settings: Settings, *, create: bool = False, signing: bool = False
) -> Iterator[AssetCatalog]:
    """The catalog the settings name, closed afterwards.

    ``create`` creates the tables (``init``); without it a SQLite file must already exist.
    ``signing`` is for URLs that leave the process: they need the configured secret. Other
    commands sign nothing that outlives them, so without a secret they get a random one.
    """
    if signing and not settings.secret:
        fail(
            "this command signs URLs: pass --secret or set ASSET_CATALOG_SECRET "
            "(the secret your application verifies its download URLs with)",
            ExitCode.USAGE,
        )
    secret = settings.secret or secrets.token_urlsafe(32)
    repository = _repository(settings, create=create)
    try:
        catalog = AssetCatalog(
            repository=repository,
            storage=FsspecStorage.from_url(settings.storage_url),
            signer=UrlSigner(secret, base_url=settings.base_url),
        )
        if create:
            repository.create_schema()
    except BaseException:
        repository.close()
        raise
    try:
        yield catalog
    finally:
        catalog.close()


def settings_of(ctx: click.Context) -> Settings:
    """The settings the group stored on the context."""
    settings = ctx.find_object(Settings)
    return settings if settings is not None else Settings()
