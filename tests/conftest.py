"""Shared fixtures: every backend a test can run on, and the Hypothesis profiles."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.spec import AbstractFileSystem
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, create_engine, text

from asset_catalog import (
    AssetCatalog,
    FsspecStorage,
    PostgresRepository,
    SqliteRepository,
    UrlSigner,
)
from asset_catalog._protocols import AssetRepository, BlobStorage
from asset_catalog._sql.postgres import psycopg_url

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


POSTGRES_URL = os.environ.get(
    "ASSET_CATALOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SCHEMA_PREFIX = "ac_test_"
STALE_SCHEMA_AGE = 24 * 3600  # seconds; older test schemas are leftovers of killed runs


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def new_test_schema_name() -> str:
    """``ac_test_<unix time>_<random>``: unique per run or test, and datable for clean-up."""
    return f"{TEST_SCHEMA_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:16]}"


def _drop_stale_test_schemas(engine: Engine) -> None:
    """Drop test schemas that a run killed a day or more ago left behind."""
    cutoff = time.time() - STALE_SCHEMA_AGE
    with engine.begin() as conn:
        names = conn.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :pattern"),
            {"pattern": TEST_SCHEMA_PREFIX.replace("_", "\\_") + "%"},
        ).scalars()
        for name in list(names):
            stamp = name[len(TEST_SCHEMA_PREFIX) :].split("_", 1)[0]
            if stamp.isdigit() and int(stamp) < cutoff:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


def drop_schema(engine: Engine, name: str) -> None:
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


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
        if _in_ci():
            pytest.fail(f"{reason} (CI is set, so PostgreSQL tests must run)", pytrace=False)
        pytest.skip(reason)
    _drop_stale_test_schemas(engine)
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
    are emptied before each test (tests never see each other's rows). Emptying three small
    tables costs ~1 ms; a schema created and dropped per test cost ~65 ms (TRUNCATE ~22 ms).
    """
    repo = _postgres_session_repository
    tables = repo.tables
    with repo.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")  # fail, never hang, on a leak
        for table in (tables.events, tables.assets, tables.objects):  # foreign keys: children first
            conn.execute(table.delete())
    # Not closed: close() would dispose of the session's shared pool.
    return repo


REPOSITORIES = [
    pytest.param("sqlite_repository", id="sqlite"),
    pytest.param("postgres_repository", id="postgres"),
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


class S3Server:
    """A moto S3 API server on loopback, started by the test session (or by one test)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.running = True

    def stop(self) -> None:
        """Stop serving and close the listening socket: new connections are refused."""
        if self.running:
            self.running = False
            self._server.stop()
            inner = self._server._server
            if inner is not None:
                inner.server_close()

    def storage_options(self, **extra: Any) -> dict[str, Any]:
        """Dummy credentials and the endpoint, passed to s3fs (never via the environment)."""
        options: dict[str, Any] = {
            "key": "testing",
            "secret": "testing",
            "client_kwargs": {"endpoint_url": self.endpoint, "region_name": "us-east-1"},
            # Fail fast on a dead server: no botocore retries, short timeouts.
            "config_kwargs": {
                # SigV4 presigned URLs (X-Amz-Expires ...), as AWS, MinIO and R2 want.
                "signature_version": "s3v4",
                "retries": {"max_attempts": 1, "mode": "standard"},
                "connect_timeout": 2,
                "read_timeout": 5,
            },
            "skip_instance_cache": True,
        }
        options.update(extra)
        return options

    def filesystem(self, **extra: Any) -> AbstractFileSystem:
        fs = fsspec.filesystem("s3", **self.storage_options(**extra))
        fs.retries = 2  # s3fs's own retry loop (default 5, with back-off)
        return fs

    def new_bucket(self, fs: AbstractFileSystem) -> str:
        bucket = f"ac-test-{uuid.uuid4().hex[:20]}"
        # Not fs.mkdir: s3fs sends a LocationConstraint that us-east-1 refuses.
        fs.call_s3("create_bucket", Bucket=bucket)
        fs.invalidate_cache()
        return bucket


def start_s3_server() -> S3Server:
    """Start a moto server; skip when moto/s3fs are not installed, unless CI is set."""
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        reason = (
            f"S3 tests need moto[server] and s3fs ({exc}); install with pip install -e '.[dev]'"
        )
        if _in_ci():
            pytest.fail(f"{reason} (CI is set, so the S3 tests must run)", pytrace=False)
        pytest.skip(reason)
    return S3Server()


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
CONTRACT_STORAGES = [*STORAGES, pytest.param("s3_storage", id="s3")]


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
    from figures import summary_lines

    for line in summary_lines():
        terminalreporter.write_line(line)
