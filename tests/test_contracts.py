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
    """The storage contract on memory, local files and S3 (a moto server on loopback)."""

    @pytest.fixture
    def storage(self, contract_storage: BlobStorage) -> BlobStorage:
        return contract_storage
