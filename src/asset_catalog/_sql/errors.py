"""Translate SQLAlchemy and driver errors into the catalog's own, at the repository edge."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc

from ..exceptions import AssetCatalogError, DuplicateKeyError, RepositoryError

__all__ = ["is_lock_error", "translate_driver_errors", "translate_errors"]

_UNIQUE_SQLSTATE = "23505"


def _is_unique_violation(exc: sa_exc.IntegrityError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_SQLSTATE:  # psycopg
        return True
    return "UNIQUE constraint failed" in str(orig)  # sqlite3


def is_lock_error(exc: BaseException) -> bool:
    """Whether an error is SQLite's transient ``database is locked`` / ``busy``."""
    text = str(getattr(exc, "orig", exc))
    return "database is locked" in text or "database table is locked" in text


@contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise database errors as :class:`RepositoryError` (chained), keep our own."""
    try:
        yield
    except AssetCatalogError:
        raise
    except sa_exc.IntegrityError as exc:
        if _is_unique_violation(exc):
            raise DuplicateKeyError("a unique key is already taken") from exc
        raise RepositoryError(f"integrity error: {exc.orig}") from exc
    except sa_exc.SQLAlchemyError as exc:
        raise RepositoryError(f"database error ({type(exc).__name__}): {exc}") from exc


@contextmanager
def translate_driver_errors(dbapi: Any) -> Iterator[None]:
    """Like :func:`translate_errors`, for statements executed on the driver's cursor."""
    try:
        yield
    except AssetCatalogError:
        raise
    except dbapi.IntegrityError as exc:
        if getattr(exc, "sqlstate", None) == _UNIQUE_SQLSTATE or "UNIQUE constraint failed" in str(
            exc
        ):
            raise DuplicateKeyError("a unique key is already taken") from exc
        raise RepositoryError(f"integrity error: {exc}") from exc
    except dbapi.Error as exc:
        raise RepositoryError(f"database error ({type(exc).__name__}): {exc}") from exc
