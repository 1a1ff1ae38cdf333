"""Shared fixtures: every backend a test can run on, and the Hypothesis profiles."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text

from asset_catalog import AssetCatalog, UrlSigner
from asset_catalog._content import thumbnails
from asset_catalog.protocols import AssetRepository, BlobStorage
from asset_catalog.sql import PostgresRepository, SqliteRepository
from asset_catalog.sql._postgres import psycopg_url
from asset_catalog.storage import FsspecStorage

from .backends import (
    POSTGRES_URL,
    SECRET,
    S3Server,
    drop_schema,
    drop_stale_test_schemas,
    in_ci,
    new_test_schema_name,
    start_s3_server,
)

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

#: Fixtures that need a PostgreSQL server or the S3 API server. A test that uses one gets the
#: ``postgres`` / ``s3`` marker, so ``pytest -m "not postgres and not s3"`` is a quick local
#: loop without either; parameters that pick a backend by name carry the mark themselves
#: (``pytest.param("postgres", marks=pytest.mark.postgres)``).
POSTGRES_FIXTURES = frozenset(
    {"postgres_engine", "postgres_schema", "postgres_repository", "_postgres_session_repository"}
)
S3_FIXTURES = frozenset({"s3_server", "s3_storage"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test by the real servers it needs (see POSTGRES_FIXTURES)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
        if names & S3_FIXTURES:
            item.add_marker(pytest.mark.s3)


@pytest.fixture(autouse=True)
def _markers_match_the_servers_used(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that reached PostgreSQL or S3 without its marker (say, through
    ``request.getfixturevalue``), so the quick loop never needs a server."""
    yield
    used = set(request.fixturenames)
    for marker, fixtures in (("postgres", POSTGRES_FIXTURES), ("s3", S3_FIXTURES)):
        if used & fixtures and request.node.get_closest_marker(marker) is None:
            pytest.fail(f"uses {sorted(used & fixtures)} without @pytest.mark.{marker}")


# -- repositories ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _pillow_only_where_asked(request: pytest.FixtureRequest, monkeypatch: Any) -> None:
    """Catalogs make a thumbnail of every image when Pillow is installed. The suites that
    count an ingest's blobs, rows, calls or faults exactly run as on an install without the
    ``images`` extra (no variant is made); the suites marked ``variants`` (variants, docs,
    isolation, corpus, web, page, OpenAI capture) run with Pillow, as a host with it does."""
    if request.node.get_closest_marker("variants") is None:
        monkeypatch.setattr(thumbnails, "_pillow", lambda: None)


@pytest.fixture
def sqlite_repository(tmp_path: Path) -> Iterator[AssetRepository]:
    repo = SqliteRepository(f"sqlite:///{tmp_path / 'catalog.db'}")
    repo.create_schema()
    yield repo
    repo.close()


@pytest.fixture(scope="session")
def postgres_engine() -> Iterator[Engine]:
    """One engine (and pool) for the whole run, checked once: skip locally, fail in CI.

    pytest caches a session fixture's skip or failure, so an absent server is tried once.
    """
    url = psycopg_url(POSTGRES_URL)
    shown = url.render_as_string(hide_password=True)
    # A short connect timeout: an absent server costs at most a few seconds, once.
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        engine.dispose()
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        reason = (
            f"PostgreSQL not reachable at {shown}: {detail}; set ASSET_CATALOG_TEST_POSTGRES_URL"
        )
        if in_ci():
            pytest.fail(f"{reason} (CI is set, so PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    drop_stale_test_schemas(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_schema(postgres_engine: Engine) -> Iterator[str]:
    """A fresh, empty PostgreSQL schema of this test's own, dropped with its contents after."""
    name = new_test_schema_name()
    with postgres_engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    drop_schema(postgres_engine, name)


@pytest.fixture(scope="session")
def _postgres_session_repository(postgres_engine: Engine) -> Iterator[PostgresRepository]:
    """The catalog's tables, created once per run in the run's own schema."""
    name = new_test_schema_name()
    repo = PostgresRepository(postgres_engine, schema=name)
    repo.create_schema()
    yield repo
    drop_schema(postgres_engine, name)


@pytest.fixture
def postgres_repository(_postgres_session_repository: PostgresRepository) -> AssetRepository:
    """A repository on PostgreSQL whose tables are empty when the test starts.

    The tables live in a schema of this run's own (runs never see each other's rows) and
    are emptied before each test (tests never see each other's rows). Emptying four small
    tables costs ~1 ms; a schema created and dropped per test cost ~65 ms (TRUNCATE ~22 ms).
    """
    repo = _postgres_session_repository
    tables = repo.tables
    with repo.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")  # fail, never hang, on a leak
        for table in (tables.usage, tables.events, tables.assets, tables.objects):  # children first
            conn.execute(table.delete())
    # Not closed: close() would dispose of the session's shared pool.
    return repo


REPOSITORIES = [
    pytest.param("sqlite_repository", id="sqlite"),
    pytest.param("postgres_repository", id="postgres", marks=pytest.mark.postgres),
]


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


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One S3 API server on loopback for the whole run."""
    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server: S3Server) -> Iterator[FsspecStorage]:
    """S3 storage in a bucket of this test's own, under a prefix."""
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket(fs)
    yield FsspecStorage(fs, f"{bucket}/blobs")
    if s3_server.running:
        fs.rm(bucket, recursive=True)


STORAGES = [
    pytest.param("memory_storage", id="memory"),
    pytest.param("local_storage", id="local"),
]
# The storage contract suite also runs on S3; the catalog-level suite (``catalog``) keeps to
# memory and local files (see tests/test_s3.py for the catalog-level cases on S3).
CONTRACT_STORAGES = [*STORAGES, pytest.param("s3_storage", id="s3", marks=pytest.mark.s3)]


@pytest.fixture(params=STORAGES)
def any_storage(request: pytest.FixtureRequest) -> BlobStorage:
    storage: BlobStorage = request.getfixturevalue(request.param)
    return storage


@pytest.fixture(params=CONTRACT_STORAGES)
def contract_storage(request: pytest.FixtureRequest) -> BlobStorage:
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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the reliability figures (docs/reliability.md quotes them)."""
    from .figures import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)
