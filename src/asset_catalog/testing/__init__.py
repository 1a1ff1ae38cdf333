"""Contract suites for third-party backends (requires pytest).

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

from ._repository import RepositoryContract
from ._storage import StorageContract

__all__ = ["RepositoryContract", "StorageContract"]
