"""Core statements compiled once and executed straight on the driver's cursor.

The ingest path runs a handful of fixed statements per item. Building and compiling them
through SQLAlchemy's execution layer on every call costs far more than the database work
itself (measured: ~150 µs per statement against ~10 µs in the driver). So the statements are
still written once in SQLAlchemy Core, against the shared tables, but compiled once per
dialect; their bind and result processors (UTC timestamps, JSON) are taken from the column
types, so values are converted exactly as SQLAlchemy would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Dialect
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

__all__ = ["Prepared"]

Processor = Callable[[Any], Any] | None
R = TypeVar("R")


class Prepared:
    """One statement, compiled for one dialect, with its value converters."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler), "only SQL statements can be prepared"
        self.sql: str = compiled.string
        self._positional = bool(compiled.positional)
        self._names: list[str] = list(compiled.positiontup or ())
        self._binds: dict[str, Processor] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()
        }
        # Values fixed in the statement itself (e.g. ``status == 'pending'``).
        self._fixed: dict[str, Any] = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if bind.value is not None
        }
        columns: Sequence[ColumnElement[Any]] = list(
            getattr(statement, "selected_columns", None) or ()
        )
        self._derived: dict[Callable[[Prepared], Any], Any] = {}
        self._columns: list[tuple[str, Processor]] = [
            (str(col.key), col.type.dialect_impl(dialect).result_processor(dialect, None))
            for col in columns
        ]
        #: the result columns' types, in order, and the dialect's name (for converters that
        #: know a type better than its generic processor)
        self.column_types: list[Any] = [col.type for col in columns]
        self.dialect_name: str = dialect.name

    def derived(self, make: Callable[[Prepared], R]) -> R:
        """``make(self)``, made once per statement (a converter of its rows, say)."""
        if make not in self._derived:
            self._derived[make] = make(self)
        return self._derived[make]  # type: ignore[no-any-return]

    @property
    def columns(self) -> list[tuple[str, Processor]]:
        """The result columns in order: name and value converter (None: as it comes)."""
        return self._columns

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """Bind parameters in the driver's style, converted by the column types."""
        converted: dict[str, Any] = {}
        for name, processor in self._binds.items():
            if name in values:
                value = values[name]
            else:  # a bind without a value is the repository's bug, never a NULL
                assert name in self._fixed, f"no value for the bind parameter {name!r}"
                value = self._fixed[name]
            converted[name] = processor(value) if processor is not None else value
        if self._positional:
            return tuple(converted[name] for name in self._names)
        return converted

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        """A result row as a mapping of column name to converted value."""
        return {
            name: (processor(value) if processor is not None else value)
            for (name, processor), value in zip(self._columns, raw, strict=True)
        }
