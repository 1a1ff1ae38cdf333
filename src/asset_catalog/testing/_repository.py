"""The repository contract: every AssetRepository must pass these tests.

It is split by operation (ingest, reads, changes); :class:`RepositoryContract` runs them all.
"""

from __future__ import annotations

from ._repository_changes import ChangeContract
from ._repository_ingest import IngestContract
from ._repository_reads import ReadContract

__all__ = ["ChangeContract", "IngestContract", "ReadContract", "RepositoryContract"]


class RepositoryContract(IngestContract, ReadContract, ChangeContract):
    """Behaviour every :class:`~asset_catalog.AssetRepository` must have.

    Subclasses provide a ``repository`` fixture: a fresh repository with its schema created.
    """
