"""``asset-catalog``: the catalog's command line for operators (extra ``cli``).

Every command runs on the public API of :class:`~asset_catalog.AssetCatalog`: ``init``,
``migrate``, ``ls``, ``show``, ``ingest``, ``url``, ``get``, ``rm``, ``verify``,
``reconcile`` and ``purge``. :func:`main` is the console script (``asset-catalog``, also
``python -m asset_catalog.cli``); :data:`cli` is the click group, for hosts that add the
commands to a command line of their own. See ``docs/operations.md``.
"""

from __future__ import annotations

try:
    import click  # noqa: F401 - only to fail early with the extra's name
    import rich  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..exceptions import MissingDependency

    raise MissingDependency("cli", exc.name or "click") from exc

from ._app import cli, main
from ._errors import ExitCode

__all__ = ["ExitCode", "cli", "main"]
