"""Translate SQLAlchemy and driver errors into the catalog's own, at the repository edge."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc

from ..exceptions import AssetCatalogError, DuplicateKeyError, InvalidInput, RepositoryError
from ._schema import HOST_REFERENCE_COLUMNS

__all__ = ["is_lock_error", "translate_driver_errors", "translate_errors"]

_UNIQUE_SQLSTATE = "23505"
_FOREIGN_KEY_SQLSTATE = "23503"
_SQLITE_FOREIGN_KEY = "FOREIGN KEY constraint failed"
# build_tables() names the optional foreign keys to the host's tables
# ``fk_{prefix}agent_assets_conversation`` and ``fk_{prefix}agent_assets_message``.
_HOST_KEY_NAME = re.compile(
    r"agent_assets_(?P<name>{})$".format("|".join(map(re.escape, HOST_REFERENCE_COLUMNS.values())))
)
_FIELD_OF_KEY = {name: column for column, name in HOST_REFERENCE_COLUMNS.items()}
_SET_CLAUSE = re.compile(r"\bSET\b(?P<set>.*?)(?:\bWHERE\b|$)", re.IGNORECASE | re.DOTALL)


def _is_unique_violation(exc: sa_exc.IntegrityError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_SQLSTATE:  # psycopg
        return True
    return "UNIQUE constraint failed" in str(orig)  # sqlite3


def _is_foreign_key_violation(orig: BaseException | None) -> bool:
    if getattr(orig, "sqlstate", None) == _FOREIGN_KEY_SQLSTATE:  # psycopg
        return True
    return _SQLITE_FOREIGN_KEY in str(orig)  # sqlite3


def _host_reference_error(orig: BaseException | None, statement: str | None) -> InvalidInput | None:
    """The :class:`InvalidInput` for a row that names a conversation or message the host's
    table does not have (an optional foreign key from ``build_tables``), or None when the
    violated key is not one of those.

    PostgreSQL names the violated constraint, hence the column. SQLite only says that *a*
    foreign key failed: the column is found from the statement when it writes only one of
    them (``link_message`` sets ``message_id``); an inserted asset carries both, so the
    error then names both.
    """
    diag = getattr(orig, "diag", None)
    if diag is not None:  # psycopg
        match = _HOST_KEY_NAME.search(getattr(diag, "constraint_name", None) or "")
        if match is None:
            return None
        fields = [_FIELD_OF_KEY[match["name"]]]
    else:
        fields = list(HOST_REFERENCE_COLUMNS)
        assigned = _SET_CLAUSE.search(statement or "")
        if assigned is not None:
            fields = [f for f in fields if re.search(rf"\b{f}\b", assigned["set"])]
            if not fields:
                return None
    field = "/".join(fields)
    which = " or ".join(fields)
    hint = "" if len(fields) == 1 else " (SQLite does not say which foreign key failed)"
    return InvalidInput(
        field, f"{which} names no row of the host's table that the catalog references{hint}"
    )


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
        if _is_foreign_key_violation(exc.orig):
            invalid = _host_reference_error(exc.orig, exc.statement)
            if invalid is not None:
                raise invalid from exc
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
        if _is_foreign_key_violation(exc):
            invalid = _host_reference_error(exc, None)
            if invalid is not None:
                raise invalid from exc
        raise RepositoryError(f"integrity error: {exc}") from exc
    except dbapi.Error as exc:
        raise RepositoryError(f"database error ({type(exc).__name__}): {exc}") from exc
