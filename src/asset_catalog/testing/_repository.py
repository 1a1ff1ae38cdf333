"""The repository contract: every AssetRepository must pass these tests.

It is split by operation (ingest, reads, changes, derived assets); :class:`RepositoryContract`
runs them all.
"""

from __future__ import annotations

from ._repository_changes import ChangeContract
from ._repository_ingest import IngestContract
from ._repository_reads import ReadContract
from ._repository_variants import VariantContract

__all__ = [
    "ChangeContract",
    "IngestContract",
    "ReadContract",
    "RepositoryContract",
    "VariantContract",
]


class RepositoryContract(IngestContract, ReadContract, ChangeContract, VariantContract):
    """Behaviour every :class:`~asset_catalog.AssetRepository` must have.

    Subclasses provide a ``repository`` fixture: a fresh repository with its schema created.
    """
