"""Shared fixtures: every backend a test can run on, and the Hypothesis profiles."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem
from hypothesis import HealthCheck, settings

from asset_catalog import AssetCatalog, FsspecStorage, SqliteRepository, UrlSigner
from asset_catalog._protocols import AssetRepository, BlobStorage

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

SECRET = "test-secret-0123456789abcdef"


# -- repositories ---------------------------------------------------------------------------


@pytest.fixture
def sqlite_repository(tmp_path: Path) -> Iterator[AssetRepository]:
    repo = SqliteRepository(f"sqlite:///{tmp_path / 'catalog.db'}")
    repo.create_schema()
    yield repo
    repo.close()


REPOSITORIES = [pytest.param("sqlite_repository", id="sqlite")]


@pytest.fixture(params=REPOSITORIES)
def any_repository(request: pytest.FixtureRequest) -> AssetRepository:
    repo: AssetRepository = request.getfixturevalue(request.param)
    return repo


# -- storage -------------------------------------------------------------------------------


@pytest.fixture
def memory_storage() -> Iterator[BlobStorage]:
    # MemoryFileSystem's store is process-global: give each test its own root.
    root = f"/test-{uuid.uuid4().hex}"
    fs = fsspec.filesystem("memory")
    yield FsspecStorage(fs, root)
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def local_storage(tmp_path: Path) -> BlobStorage:
    root = tmp_path / "blobs"
    root.mkdir()
    return FsspecStorage(LocalFileSystem(), str(root))


STORAGES = [
    pytest.param("memory_storage", id="memory"),
    pytest.param("local_storage", id="local"),
]


@pytest.fixture(params=STORAGES)
def any_storage(request: pytest.FixtureRequest) -> BlobStorage:
    storage: BlobStorage = request.getfixturevalue(request.param)
    return storage


# -- the catalog ----------------------------------------------------------------------------


@pytest.fixture
def signer() -> UrlSigner:
    return UrlSigner(SECRET, base_url="https://app.example/dl")


@pytest.fixture
def catalog(
    any_repository: AssetRepository, any_storage: BlobStorage, signer: UrlSigner
) -> AssetCatalog:
    """A catalog on every repository x storage combination."""
    return AssetCatalog(repository=any_repository, storage=any_storage, signer=signer)


@pytest.fixture
def local_catalog(
    sqlite_repository: AssetRepository, local_storage: BlobStorage, signer: UrlSigner
) -> AssetCatalog:
    """The embedded default only: SQLite and local files."""
    return AssetCatalog(repository=sqlite_repository, storage=local_storage, signer=signer)
