"""Column types that behave the same on every supported database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from .._ids import from_micros, to_micros
from ..exceptions import InvalidInput

__all__ = ["JsonDocument", "UtcDateTime"]


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp that round-trips exactly, to the microsecond.

    PostgreSQL stores ``timestamptz``. SQLite has no timestamp type, so the value is stored as
    integer microseconds since the epoch: exact, compact, and ordered like the datetimes.
    Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput("datetime", "a timezone-aware datetime is required, not a naive one")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return to_micros(value)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC)
        return from_micros(int(value))


JsonDocument: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
"""JSON everywhere, JSONB on PostgreSQL."""
