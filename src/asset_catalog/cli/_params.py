"""Parameter types: durations (``30d``, ``12h``, ``90m``) and instants (ISO 8601 or ``7d`` ago)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import click

__all__ = ["DURATION", "INSTANT", "Duration", "Instant", "parse_duration"]

if TYPE_CHECKING:  # click >= 8.3 types its parameter types by what they convert to
    _DurationType = click.ParamType[dt.timedelta, Any]
    _InstantType = click.ParamType[dt.datetime, Any]
else:
    _DurationType = _InstantType = click.ParamType

_UNITS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")
_LONGEST = dt.timedelta(days=100 * 366)  # beyond it, a typo; also keeps datetime arithmetic safe


def parse_duration(text: str) -> dt.timedelta | None:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or a sum of them (``1d12h``); a bare number
    is seconds. None when ``text`` is none of these."""
    text = text.strip().lower()
    if text.isdigit():
        return dt.timedelta(seconds=int(text))
    if not _WHOLE.fullmatch(text):
        return None
    return dt.timedelta(seconds=sum(int(n) * _UNITS[u] for n, u in _PART.findall(text)))


class Duration(_DurationType):
    """A duration on the command line: ``30d``, ``12h``, ``90m``, ``1d12h``, ``3600``."""

    name = "duration"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.timedelta:
        if isinstance(value, dt.timedelta):
            return value
        parsed = parse_duration(str(value))
        if parsed is None:
            self.fail(
                f"{value!r} is not a duration: a number and a unit, w d h m or s "
                "(30d, 12h, 90m, 1d12h)",
                param,
                ctx,
            )
        if parsed > _LONGEST:
            self.fail(f"{value!r} is longer than 100 years", param, ctx)
        return parsed


class Instant(_InstantType):
    """A point in time: ISO 8601 (``2026-01-31``, ``2026-01-31T12:00:00+02:00``; UTC when it
    has no offset) or a duration meaning that long ago (``7d``)."""

    name = "instant"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        ago = parse_duration(text) if not text.isdigit() else None
        if ago is not None and ago <= _LONGEST:
            return dt.datetime.now(dt.UTC) - ago
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            self.fail(
                f"{value!r} is neither an ISO 8601 time (2026-01-31T12:00:00Z) "
                "nor a duration ago (7d, 12h)",
                param,
                ctx,
            )
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


DURATION = Duration()
INSTANT = Instant()
