"""Run the shipped contract suites against every built-in backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from asset_catalog.protocols import AssetRepository, BlobStorage
from asset_catalog.storage import FsspecStorage
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


class TestRelativeLocalRoot(StorageContract):
    """The contract again on a local root given as a relative path."""

    @pytest.fixture
    def storage(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BlobStorage:
        monkeypatch.chdir(tmp_path)
        return FsspecStorage(LocalFileSystem(), "./blobs")
