"""The catalog on S3: a real S3 API server (moto) on loopback, URLs fetched over HTTP.

The catalog-level suite (the ``catalog`` fixture) runs on memory and local files only; this
module is its representative subset on S3: ingest, get, list, native presign, presign_many,
delete and reconcile, plus the failure cases (bucket missing, permission denied, server down,
server stopped mid-ingest).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from asset_catalog import (
    AssetCatalog,
    AssetNotFound,
    InvalidInput,
    ObjectStatus,
    StorageError,
    UrlSigner,
    open_catalog,
)
from asset_catalog.protocols import AssetRepository
from asset_catalog.sql import SqliteRepository
from asset_catalog.storage import FsspecStorage

from .backends import SECRET, S3Server, start_s3_server

# Every test here talks to the S3 API server (moto) on loopback.
pytestmark = pytest.mark.s3

CSV = b"a,b\n1,2\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
MIB = 1024 * 1024
FAR_FUTURE = dt.datetime(2999, 1, 1, tzinfo=dt.UTC)

_counter = iter(range(1_000_000))


def ingest(catalog: AssetCatalog, content: Any = CSV, filename: str = "data.csv") -> Any:
    return catalog.ingest_container_file(
        "t1", content, container_id="c1", file_id=f"f{next(_counter)}", filename=filename
    )


def fetch(url: str) -> tuple[int, Message, bytes]:
    """GET over HTTP with a real client: status, headers (case-insensitive), body."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def rows_left(repository: AssetRepository) -> dict[ObjectStatus, int]:
    return {
        status: len(repository.objects_in_status(status, FAR_FUTURE, 100))
        for status in ObjectStatus
    }


@pytest.fixture
def s3_catalog(sqlite_repository: AssetRepository, s3_storage: FsspecStorage) -> AssetCatalog:
    return AssetCatalog(
        repository=sqlite_repository,
        storage=s3_storage,
        signer=UrlSigner(SECRET, base_url="https://app.example/dl"),
    )


@pytest.fixture
def private_server() -> Iterator[S3Server]:
    """A second S3 server of this test's own, which the test may stop."""
    server = start_s3_server()
    yield server
    server.stop()


def private_catalog(server: S3Server, tmp_path: Path, **options: Any) -> AssetCatalog:
    fs = server.filesystem(**options)
    bucket = server.new_bucket(fs)
    repo = SqliteRepository(f"sqlite:///{tmp_path / 'private.db'}")
    repo.create_schema()
    return AssetCatalog(
        repository=repo, storage=FsspecStorage(fs, f"{bucket}/blobs"), signer=UrlSigner(SECRET)
    )


# -- configuration ---------------------------------------------------------------------------


def test_open_catalog_with_a_custom_endpoint(s3_server: S3Server, tmp_path: Path) -> None:
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket(fs)
    catalog = open_catalog(
        f"sqlite:///{tmp_path / 'c.db'}",
        f"s3://{bucket}/assets",
        secret=SECRET,
        storage_options=s3_server.storage_options(),
    )
    asset = ingest(catalog)
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    assert fs.cat_file(f"{bucket}/assets/{obj.key}") == CSV
    url = catalog.presign("t1", asset.id)
    assert url.kind == "native"
    assert fetch(url.url)[2] == CSV


def test_presigned_urls_default_to_sigv4(s3_server: S3Server, tmp_path: Path) -> None:
    """Without a signature_version in the options, presigned URLs are SigV4 with an expiry."""
    fs = s3_server.filesystem()
    bucket = s3_server.new_bucket(fs)
    options = s3_server.storage_options()
    options["config_kwargs"] = {
        k: v for k, v in options["config_kwargs"].items() if k != "signature_version"
    }
    catalog = open_catalog(
        f"sqlite:///{tmp_path / 'c.db'}",
        f"s3://{bucket}/assets",
        secret=SECRET,
        storage_options=options,
    )
    url = catalog.presign("t1", ingest(catalog).id, expires_in=120)
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url.url
    assert "X-Amz-Expires=120" in url.url
    assert fetch(url.url)[2] == CSV
    catalog.close()


# -- ingest, get, list, delete, reconcile ----------------------------------------------------


def test_ingest_get_list_delete(s3_catalog: AssetCatalog, s3_storage: FsspecStorage) -> None:
    first, second = ingest(s3_catalog), ingest(s3_catalog, b"x,y\n", "other.csv")
    assert s3_catalog.get("t1", first.id) == first
    assert [a.id for a in s3_catalog.list("t1").items] == [second.id, first.id]
    obj = s3_catalog.repository.get_object(first.storage_object_id)
    assert obj is not None
    assert s3_storage.exists(obj.key)
    assert s3_catalog.delete("t1", first.id)
    assert not s3_storage.exists(obj.key)
    assert obj.key not in set(s3_storage.iter_keys())
    with pytest.raises(AssetNotFound):
        s3_catalog.get("t1", first.id)
    assert [a.id for a in s3_catalog.list("t1").items] == [second.id]


def test_large_ingest_is_a_multipart_upload(s3_server: S3Server, tmp_path: Path) -> None:
    """12 MiB with 5 MiB parts streams as a multipart upload; the bytes hash the same."""
    catalog = private_catalog(s3_server, tmp_path, default_block_size=5 * MIB)
    digest = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        for _ in range(12):
            chunk = os.urandom(MIB)
            digest.update(chunk)
            yield chunk

    asset = ingest(catalog, chunks(), "big.bin")
    assert asset.sha256 == digest.hexdigest()
    assert asset.size_bytes == 12 * MIB
    storage = catalog.storage
    assert isinstance(storage, FsspecStorage)
    obj = catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    info = storage.fs.info(f"{storage.root}/{obj.key}")
    assert info["size"] == 12 * MIB
    assert "-" in info["ETag"]  # an S3 multipart ETag: "<md5 of part md5s>-<parts>"


def test_failing_source_aborts_the_multipart_upload(s3_server: S3Server, tmp_path: Path) -> None:
    catalog = private_catalog(s3_server, tmp_path, default_block_size=5 * MIB)
    storage = catalog.storage
    assert isinstance(storage, FsspecStorage)

    def chunks() -> Iterator[bytes]:
        for _ in range(7):  # one 5 MiB part goes up before the source fails
            yield os.urandom(MIB)
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        ingest(catalog, chunks(), "big.bin")
    bucket = storage.root.split("/")[0]
    uploads = storage.fs.call_s3("list_multipart_uploads", Bucket=bucket)
    assert uploads.get("Uploads", []) == []
    assert list(storage.iter_keys()) == []
    assert rows_left(catalog.repository)[ObjectStatus.FAILED] == 1
    assert rows_left(catalog.repository)[ObjectStatus.STORED] == 0


def test_reconcile_removes_a_pending_leftover(
    s3_catalog: AssetCatalog, s3_storage: FsspecStorage
) -> None:
    asset = ingest(s3_catalog)
    obj = s3_catalog.repository.get_object(asset.storage_object_id)
    assert obj is not None
    assert s3_catalog.delete("t1", asset.id)
    # A crash between the delete's transaction and the blob removal: put the blob back.
    s3_storage.write(obj.key, [CSV])
    with s3_catalog.repository.engine.begin() as conn:  # type: ignore[attr-defined]
        objects = s3_catalog.repository.tables.objects  # type: ignore[attr-defined]
        conn.execute(objects.update().where(objects.c.id == obj.id).values(status="deleting"))
    report = s3_catalog.reconcile()
    assert report.deletes_finished == 1
    assert not s3_storage.exists(obj.key)


# -- native presign --------------------------------------------------------------------------


def test_native_presign_serves_bytes_and_headers(s3_catalog: AssetCatalog) -> None:
    asset = ingest(s3_catalog, CSV, "rapport été.csv")
    url = s3_catalog.presign("t1", asset.id, expires_in=300, disposition="inline")
    assert url.kind == "native"
    assert url.token is None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url.url).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["response-content-type"] == ["text/csv"]
    assert query["response-content-disposition"][0].startswith("inline")
    status, headers, body = fetch(url.url)
    assert (status, body) == (200, CSV)
    assert headers["Content-Type"].startswith("text/csv")
    disposition = headers["Content-Disposition"]
    assert disposition.startswith("inline")
    assert "filename*=UTF-8''rapport%20%C3%A9t%C3%A9.csv" in disposition
    events = [e.event for e in s3_catalog.events("t1", asset.id)]
    assert events == ["created", "url_issued"]


def test_active_content_is_always_an_attachment(s3_catalog: AssetCatalog) -> None:
    asset = ingest(s3_catalog, HTML, "page.html")
    url = s3_catalog.presign("t1", asset.id, disposition="inline")
    status, headers, body = fetch(url.url)
    assert (status, body) == (200, HTML)
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Disposition"].startswith("attachment")


def test_expiry_is_bound_into_the_url(s3_catalog: AssetCatalog) -> None:
    """``expires_at`` matches the signed ``X-Amz-Date`` + ``X-Amz-Expires``.

    moto (5.x) serves a presigned URL after its expiry (checked: 1 s expiry, 2 s sleep, 200),
    so the refusal itself cannot be tested here; S3 refuses past the signed parameters.
    """
    asset = ingest(s3_catalog)
    before = int(time.time())
    url = s3_catalog.presign("t1", asset.id, expires_in=1)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url.url).query)
    assert query["X-Amz-Expires"] == ["1"]
    signed_at = dt.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=dt.UTC
    )
    assert abs((signed_at + dt.timedelta(seconds=1) - url.expires_at).total_seconds()) <= 1
    assert before + 1 <= url.expires_at.timestamp() <= time.time() + 2


def test_presign_of_unknown_or_other_tenant_is_not_found(s3_catalog: AssetCatalog) -> None:
    asset = ingest(s3_catalog)
    with pytest.raises(AssetNotFound):
        s3_catalog.presign("t2", asset.id)
    with pytest.raises(AssetNotFound):
        s3_catalog.presign("t1", "nope")


# -- presign_many ----------------------------------------------------------------------------


class CountingRepository:
    """Counts the repository calls a catalog makes (wraps a real repository)."""

    def __init__(self, inner: AssetRepository) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if callable(attr):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attr(*args, **kwargs)

            return counted
        return attr


def test_presign_many_reads_the_batch_in_one_query(
    sqlite_repository: AssetRepository, s3_storage: FsspecStorage
) -> None:
    counting = CountingRepository(sqlite_repository)
    catalog = AssetCatalog(
        repository=counting,  # type: ignore[arg-type]
        storage=s3_storage,
        signer=UrlSigner(SECRET),
    )
    assets = [ingest(catalog, f"n,{i}\n".encode(), f"f{i}.csv") for i in range(5)]
    gone = ingest(catalog)
    catalog.delete("t1", gone.id)
    counting.calls.clear()
    ids = [a.id for a in assets] + ["nope", gone.id]
    batch = catalog.presign_many("t1", ids)
    reads = [c for c in counting.calls if c != "add_events"]
    assert reads == ["get_assets_with_keys"]
    assert set(batch.urls) == {a.id for a in assets}
    assert set(batch.missing) == {"nope", gone.id}
    assert batch.unsupported == ()
    for i, asset in enumerate(assets):
        url = batch.urls[asset.id]
        assert url.kind == "native"
        assert fetch(url.url)[2] == f"n,{i}\n".encode()


def test_presign_many_enforces_the_batch_size(s3_catalog: AssetCatalog) -> None:
    with pytest.raises(InvalidInput):
        s3_catalog.presign_many("t1", [f"id{i}" for i in range(101)])


# -- failures --------------------------------------------------------------------------------


def assert_nothing_stored(catalog: AssetCatalog) -> None:
    """No stored object row and no asset. With the server gone, the failed ingest cannot
    remove its (possibly partial) blob, so its row stays ``pending`` for ``reconcile()``
    (``AssetCatalog._abandon``): at most that one row is left, never a ``stored`` one."""
    left = rows_left(catalog.repository)
    assert left[ObjectStatus.STORED] == 0
    assert left[ObjectStatus.PENDING] + left[ObjectStatus.FAILED] <= 1
    assert catalog.list("t1").items == ()


def test_missing_bucket_is_a_storage_error(s3_server: S3Server, tmp_path: Path) -> None:
    repo = SqliteRepository(f"sqlite:///{tmp_path / 'c.db'}")
    repo.create_schema()
    storage = FsspecStorage(s3_server.filesystem(), "no-such-bucket-ac/blobs")
    catalog = AssetCatalog(repository=repo, storage=storage, signer=UrlSigner(SECRET))
    with pytest.raises(StorageError):
        ingest(catalog)
    assert_nothing_stored(catalog)
    assert rows_left(repo)[ObjectStatus.PENDING] == 0


def test_permission_denied_is_a_storage_error(private_server: S3Server, tmp_path: Path) -> None:
    """moto enforces IAM auth once ``/moto-api/reset-auth`` is set to 0 (process-wide, so it
    is set back at once): the dummy key is then refused with 403."""
    catalog = private_catalog(private_server, tmp_path)
    reset = f"{private_server.endpoint}/moto-api/reset-auth"

    def set_auth(value: bytes) -> None:
        request = urllib.request.Request(
            reset, data=value, method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    set_auth(b"0")
    try:
        with pytest.raises(StorageError):
            ingest(catalog)
    finally:
        set_auth(b"inf")
    assert_nothing_stored(catalog)


def test_server_down_is_a_storage_error(private_server: S3Server, tmp_path: Path) -> None:
    catalog = private_catalog(private_server, tmp_path)
    private_server.stop()
    with pytest.raises(StorageError):
        ingest(catalog)
    assert_nothing_stored(catalog)


def test_server_stopped_mid_ingest(private_server: S3Server, tmp_path: Path) -> None:
    """The server goes away after the first chunk of a 12 MiB stream (5 MiB parts)."""
    catalog = private_catalog(private_server, tmp_path, default_block_size=5 * MIB)

    def chunks() -> Iterator[bytes]:
        yield os.urandom(MIB)
        private_server.stop()
        for _ in range(11):
            yield os.urandom(MIB)

    with pytest.raises(StorageError):
        ingest(catalog, chunks(), "big.bin")
    assert_nothing_stored(catalog)
