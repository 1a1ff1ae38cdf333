"""Contract suites for third-party backends (extra ``testing``: pytest).

A backend opts in by subclassing a suite and providing one fixture, fsspec style::

    from asset_catalog.testing import RepositoryContract, StorageContract

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repository(self):
            repo = MyRepository(...)
            repo.create_schema()
            yield repo
            repo.close()

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self):
            return MyStorage(...)   # empty, private to the test

The same suites run against asset_catalog's own SQLite/PostgreSQL repositories and its
memory/local/S3 storage.
"""

from __future__ import annotations

try:
    import pytest  # noqa: F401 - the suites are pytest classes
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    from ..exceptions import MissingDependency

    raise MissingDependency("testing", "pytest") from exc

from ._repository import (
    ChangeContract,
    IngestContract,
    ReadContract,
    RepositoryContract,
    VariantContract,
)
from ._storage import StorageContract

__all__ = [
    "ChangeContract",
    "IngestContract",
    "ReadContract",
    "RepositoryContract",
    "StorageContract",
    "VariantContract",
]
