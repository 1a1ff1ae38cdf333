"""Fault injection: repository and storage wrappers that fail at a chosen call.

Both wrappers of one catalog share a :class:`FaultPlan`. It numbers every protocol call the
catalog makes (a *fault point*) and, at the chosen one, does what the mode says:

* ``raise-before`` -- the call fails without effect (a refused connection);
* ``raise-after``  -- the call takes effect, then fails (the reply to a COMMIT is lost);
* ``die-before`` / ``die-after`` -- the process dies before / after the call took effect:
  :class:`ProcessDeath` is raised and *every later call of either wrapper* raises it too, so
  no cleanup code can reach the database or the storage;
* ``die-mid``      -- (``write`` only) the process dies with part of the blob written;
* ``outage``       -- this call and every later one fail (the server went down and stayed
  down while the catalog tried to clean up).

After a fault the test "restarts": a new catalog on the unwrapped backends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from asset_catalog import AssetRepository, BlobStorage, StorageError
from asset_catalog.exceptions import RepositoryError

T = TypeVar("T")

MODES = ("raise-before", "raise-after", "die-before", "die-after", "outage")
WRITE_ONLY_MODES = ("die-mid",)

REPOSITORY_CALLS = frozenset(
    name
    for name in dir(AssetRepository)
    if not name.startswith("_") and callable(getattr(AssetRepository, name))
)
STORAGE_CALLS = frozenset(
    name
    for name in dir(BlobStorage)
    if not name.startswith("_") and callable(getattr(BlobStorage, name))
)


class ProcessDeath(BaseException):
    """The process died here: nothing after this point runs, not even cleanup."""


class FaultPlan:
    """Numbers the calls through the wrappers and fires one fault (or none, to record)."""

    def __init__(self, at: int | None = None, mode: str = "raise-before") -> None:
        self.at = at
        self.mode = mode
        self.calls: list[str] = []
        self.dead = False
        self.down = False
        self.fired = False

    def call(self, name: str, run: Callable[[], T], error: type[Exception]) -> T:
        if self.dead:
            raise ProcessDeath(f"after death: {name}")
        if self.down:
            raise error(f"injected outage: {name}")
        index = len(self.calls)
        self.calls.append(name)
        if index != self.at:
            return run()
        self.fired = True
        mode = self.mode
        if mode == "raise-before":
            raise error(f"injected failure before {name}")
        if mode == "die-before":
            self.dead = True
            raise ProcessDeath(f"died before {name}")
        if mode == "outage":
            self.down = True
            raise error(f"injected outage: {name}")
        run()
        if mode == "raise-after":
            raise error(f"injected failure after {name}")
        if mode == "die-after":
            self.dead = True
            raise ProcessDeath(f"died after {name}")
        raise AssertionError(f"mode {mode!r} does not apply to {name}")

    def write(self, name: str, inner: BlobStorage, key: str, chunks: Iterable[bytes]) -> None:
        if self.mode != "die-mid" or self.at != len(self.calls) or self.dead or self.down:
            self.call(name, lambda: inner.write(key, chunks), StorageError)
            return
        self.calls.append(name)
        self.fired = True
        first = next(iter(chunks), b"")
        inner.write(key, [first])  # what reached the disk before the process died
        self.dead = True
        raise ProcessDeath(f"died in the middle of {name}")


class FaultyRepository:
    """An AssetRepository whose protocol calls go through a :class:`FaultPlan`."""

    def __init__(self, inner: AssetRepository, plan: FaultPlan) -> None:
        self._inner = inner
        self._plan = plan

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name not in REPOSITORY_CALLS or name in {"close", "create_schema"}:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._plan.call(
                f"repository.{name}", lambda: target(*args, **kwargs), RepositoryError
            )

        return call


class FaultyStorage:
    """A BlobStorage whose calls go through a :class:`FaultPlan`."""

    def __init__(self, inner: BlobStorage, plan: FaultPlan) -> None:
        self._inner = inner
        self._plan = plan

    @property
    def can_sign(self) -> bool:
        return self._inner.can_sign

    def write(self, key: str, chunks: Iterable[bytes]) -> None:
        self._plan.write("storage.write", self._inner, key, chunks)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if name not in STORAGE_CALLS:
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._plan.call(f"storage.{name}", lambda: target(*args, **kwargs), StorageError)

        return call


def fault_points(calls: list[str]) -> list[tuple[int, str]]:
    """Every (call index, mode) to inject for a recorded sequence of calls."""
    points = [(i, mode) for i in range(len(calls)) for mode in MODES]
    points += [
        (i, mode)
        for i, name in enumerate(calls)
        if name == "storage.write"
        for mode in WRITE_ONLY_MODES
    ]
    return points
