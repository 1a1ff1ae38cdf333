"""The mixed-load soak (tests/soak.py), short: worker processes and an HTTP client on both
stacks, a reconcile / verify loop beside them, then every worker's model against the catalog."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import Engine

from .backends import S3Server
from .soak import Report, run

pytestmark = pytest.mark.slow
SECONDS = float(os.environ.get("ASSET_CATALOG_SOAK_SECONDS", "12"))


def check(report: Report) -> None:
    print("\n".join(report.lines()))
    assert report.problems == []
    assert report.errors == {}
    assert report.findings == {}
    ops = report.ops
    for kind in ("image", "file", "list", "presign", "many", "link", "delete", "http urls"):
        assert ops.get(kind, 0) > 0, ops  # every kind of call ran
    assert report.maintenance_runs > 0


def test_soak_on_sqlite_and_local_files() -> None:
    """SQLite + local files: three library workers, one HTTP client, maintenance."""
    check(run("sqlite-local", SECONDS))


def test_soak_on_postgres_and_s3(postgres_engine: Engine, s3_server: S3Server) -> None:
    """PostgreSQL + S3 (moto on loopback): the same mix."""
    check(run("postgres-s3", SECONDS, s3=s3_server))
