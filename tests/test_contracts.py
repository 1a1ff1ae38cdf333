"""Run the shipped contract suites against every built-in backend."""

from __future__ import annotations

import pytest

from asset_catalog._protocols import AssetRepository, BlobStorage
from asset_catalog.testing import RepositoryContract, StorageContract


class TestRepositoryContract(RepositoryContract):
    """The repository contract on every SQL dialect."""

    @pytest.fixture
    def repository(self, any_repository: AssetRepository) -> AssetRepository:
        return any_repository


class TestStorageContract(StorageContract):
    """The storage contract on memory and local files."""

    @pytest.fixture
    def storage(self, any_storage: BlobStorage) -> BlobStorage:
        return any_storage
