"""Time-ordered identifiers and the UTC clock."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid

__all__ = ["from_micros", "new_id", "to_micros", "utcnow"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)


def new_id() -> str:
    """Return a UUIDv7 (RFC 9562) string: 48-bit Unix milliseconds, then random bits.

    Time-ordered ids keep primary-key and keyset indexes local to recent pages.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return str(uuid.UUID(int=value))


def utcnow() -> dt.datetime:
    """Return the current time as a timezone-aware UTC datetime (microsecond precision)."""
    return dt.datetime.now(dt.UTC)


def to_micros(value: dt.datetime) -> int:
    """Whole microseconds since the Unix epoch of an aware datetime (exact, sortable)."""
    return (value - _EPOCH) // _MICRO


def from_micros(micros: int) -> dt.datetime:
    """The aware UTC datetime ``micros`` microseconds after the epoch (``OverflowError`` when
    out of range)."""
    return _EPOCH + dt.timedelta(microseconds=micros)
