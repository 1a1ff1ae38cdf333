"""One map from SQLAlchemy and driver errors to the catalog's own, applied at the repository
edge by :func:`translating`.

The repository runs statements two ways (through SQLAlchemy, and straight on the driver's
cursor for the hot paths), so an error arrives either as a ``sqlalchemy.exc`` wrapper or as
the driver's own; both are reduced to the driver's error and looked up in :data:`_RULES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc as sa_exc

from ..exceptions import AssetCatalogError, DuplicateKeyError, InvalidInput, RepositoryError
from ._schema import HOST_REFERENCE_COLUMNS

__all__ = ["is_lock_error", "translating"]

_UNIQUE_SQLSTATE = "23505"
_FOREIGN_KEY_SQLSTATE = "23503"
# build_tables() names the optional foreign keys to the host's tables
# ``fk_{prefix}agent_assets_conversation`` and ``fk_{prefix}agent_assets_message``.
_HOST_KEY_NAME = re.compile(
    r"agent_assets_(?P<name>{})$".format("|".join(map(re.escape, HOST_REFERENCE_COLUMNS.values())))
)
_FIELD_OF_KEY = {name: column for column, name in HOST_REFERENCE_COLUMNS.items()}
_SET_CLAUSE = re.compile(r"\bSET\b(?P<set>.*?)(?:\bWHERE\b|$)", re.IGNORECASE | re.DOTALL)


def _sqlstate_or_text(sqlstate: str, text: str) -> Callable[[BaseException], bool]:
    """psycopg reports a SQLSTATE; sqlite3 only a message."""
    return lambda orig: getattr(orig, "sqlstate", None) == sqlstate or text in str(orig)


def _duplicate(_orig: BaseException, _statement: str | None) -> AssetCatalogError:
    return DuplicateKeyError("a unique key is already taken")


def _host_reference(orig: BaseException, statement: str | None) -> AssetCatalogError | None:
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


_Rule = tuple[
    Callable[[BaseException], bool],
    Callable[[BaseException, str | None], AssetCatalogError | None],
]

#: (matches the driver's error, builds the catalog's error or None to look further), in order.
_RULES: tuple[_Rule, ...] = (
    (_sqlstate_or_text(_UNIQUE_SQLSTATE, "UNIQUE constraint failed"), _duplicate),
    (_sqlstate_or_text(_FOREIGN_KEY_SQLSTATE, "FOREIGN KEY constraint failed"), _host_reference),
)


def _translate(exc: BaseException, orig: BaseException, statement: str | None) -> Exception:
    for matches, build in _RULES:
        if matches(orig):
            error = build(orig, statement)
            if error is not None:
                return error
    kind = (
        "integrity error" if _is_integrity_error(exc) else f"database error ({type(orig).__name__})"
    )
    return RepositoryError(f"{kind}: {orig}")


def _is_integrity_error(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.IntegrityError) or type(exc).__name__ == "IntegrityError"


@contextmanager
def translating(dbapi: Any) -> Iterator[None]:
    """Re-raise SQLAlchemy and ``dbapi`` (the driver module) errors as the catalog's own,
    chained; the catalog's own errors pass unchanged."""
    try:
        yield
    except AssetCatalogError:
        raise
    except sa_exc.StatementError as exc:
        if isinstance(exc.orig, AssetCatalogError):  # raised by a column type's converter
            raise exc.orig from exc
        raise _translate(exc, exc.orig or exc, exc.statement) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise _translate(exc, exc, None) from exc
    except dbapi.Error as exc:
        raise _translate(exc, exc, None) from exc


def is_lock_error(exc: BaseException) -> bool:
    """Whether an error is SQLite's transient ``database is locked`` / ``busy``."""
    text = str(getattr(exc, "orig", exc))
    return "database is locked" in text or "database table is locked" in text
