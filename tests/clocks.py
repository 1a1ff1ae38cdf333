"""The two test clocks a catalog's ``clock`` can be set to."""

from __future__ import annotations

import datetime as dt

__all__ = ["ManualClock", "TickingClock"]


class ManualClock:
    """Returns ``now`` and moves only when told (``tick``, or by setting ``now``)."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def tick(self, seconds: float = 1.0) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now


class TickingClock:
    """Every reading is one millisecond after the previous one: no two events share a time,
    and "older than 0" is exact."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now
