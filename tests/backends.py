"""The real backends the suites run on: PostgreSQL schemas of their own, an S3 API server on
loopback. Used by conftest.py's fixtures and by suites that build their own."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import fsspec
import pytest
from fsspec.spec import AbstractFileSystem
from sqlalchemy import Engine, text

SECRET = "test-secret-0123456789abcdef"


POSTGRES_URL = os.environ.get(
    "ASSET_CATALOG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_SCHEMA_PREFIX = "ac_test_"
STALE_SCHEMA_AGE = 24 * 3600  # seconds; older test schemas are leftovers of killed runs


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


def new_test_schema_name() -> str:
    """``ac_test_<unix time>_<random>``: unique per run or test, and datable for clean-up."""
    return f"{TEST_SCHEMA_PREFIX}{int(time.time())}_{uuid.uuid4().hex[:16]}"


def drop_stale_test_schemas(engine: Engine) -> None:
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
        if in_ci():
            pytest.fail(f"{reason} (CI is set, so the S3 tests must run)", pytrace=False)
        pytest.skip(reason)
    return S3Server()


#: The two stacks most suites that seed a world of their own run on: the embedded default
#: and PostgreSQL (fixture names of a repository and a storage, for ``request.param``).
SQLITE_LOCAL_AND_POSTGRES_MEMORY = [
    pytest.param(("sqlite_repository", "local_storage"), id="sqlite-local"),
    pytest.param(
        ("postgres_repository", "memory_storage"), id="postgres-memory", marks=pytest.mark.postgres
    ),
]
