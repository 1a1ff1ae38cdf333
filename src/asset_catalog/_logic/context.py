"""What the logic needs of the catalog: its collaborators, its clock and its size limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Protocol

from .._models import Quota
from .._signing import UrlSigner
from ..protocols import AssetRepository, BlobStorage

__all__ = ["BATCH", "Context"]

BATCH = 500
"""Rows per repository call in the catalog's loops (deletes by conversation, reconcile,
purge, verify), so memory stays bounded however large the catalog is."""


class Context(Protocol):
    """The catalog as the logic sees it (:class:`~asset_catalog.AssetCatalog` is one).

    ``clock``, ``max_bytes`` and ``quota`` are read at each call, so a test (or a host)
    that replaces them on the catalog changes what every step sees.
    """

    @property
    def repository(self) -> AssetRepository: ...
    @property
    def storage(self) -> BlobStorage: ...
    @property
    def signer(self) -> UrlSigner: ...

    max_bytes: int
    variant_sizes: Mapping[str, int]
    clock: Callable[[], dt.datetime]
    quota: Callable[[str], Quota | None] | None
