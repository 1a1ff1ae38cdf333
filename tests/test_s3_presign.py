"""S3 URLs signed in one pass (``FsspecStorage.sign_many``): the same URLs as botocore's,
accepted by the S3 server (moto on loopback) with the forced response headers, credentials
resolved per batch, and s3fs's own signing wherever the fast path does not apply."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import botocore.auth
import botocore.session
import pytest
from aiobotocore.credentials import AioRefreshableCredentials
from botocore.config import Config
from hypothesis import given
from hypothesis import strategies as st

from asset_catalog import AssetCatalog, UrlSigner
from asset_catalog.protocols import AssetRepository, BatchSigningStorage, SignRequest
from asset_catalog.sql import SqliteRepository
from asset_catalog.storage import FsspecStorage
from asset_catalog.storage._s3_presign import (
    Credentials,
    PresignedGet,
    S3Presigner,
    _encode,
    _encode_path,
    base_from_probe,
)

from .backends import SECRET, S3Server
from .test_s3 import CSV, HTML, fetch, ingest

pytestmark = pytest.mark.s3

DISPOSITION = (
    "attachment; filename=\"rapport ete.csv\"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.csv"
)
PINNED = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


def botocore_client(server: S3Server, token: str | None = None) -> Any:
    """A plain (sync) botocore client for the same server, credentials and region."""
    return botocore.session.get_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token=token,
        config=Config(signature_version="s3v4"),
    )


def botocore_url(client: Any, bucket: str, key: str, expires: int, content_type: str) -> str:
    params = {
        "Bucket": bucket,
        "Key": key,
        "ResponseContentDisposition": DISPOSITION,
        "ResponseContentType": content_type,
    }
    return str(client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))


def signed_at(stamp: str) -> float:
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def test_sign_many_gives_botocores_url(s3_server: S3Server, s3_storage: FsspecStorage) -> None:
    """For the same key, expiry and overrides: botocore's URL, but for the time of signing."""
    bucket = s3_storage.root.split("/", 1)[0]
    requests = [
        SignRequest("t1/2026/a.csv", 300, "a.csv", "text/csv", DISPOSITION),
        SignRequest("t1/2026/b-2.png", 604800, "b.png", "image/png", DISPOSITION),
    ]
    ours = s3_storage.sign_many(requests)
    client = botocore_client(s3_server)
    for url, request in zip(ours, requests, strict=True):
        assert url is not None
        theirs = botocore_url(
            client, bucket, f"blobs/{request.key}", request.expires_in, request.content_type
        )
        assert url.split("?")[0] == theirs.split("?")[0]
        mine, boto = query(url), query(theirs)
        assert abs(signed_at(mine.pop("X-Amz-Date")) - signed_at(boto.pop("X-Amz-Date"))) <= 60
        assert len(mine.pop("X-Amz-Signature")) == len(boto.pop("X-Amz-Signature")) == 64
        assert mine == boto
        assert mine["X-Amz-Expires"] == str(request.expires_in)


@pytest.mark.parametrize("token", [None, "session/token+with=odd chars"])
@pytest.mark.parametrize("root_key", ["blobs/t1/2026/a.csv", "pré fix/t1/x~y_z.bin"])
def test_signer_matches_botocore_byte_for_byte(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, token: str | None, root_key: str
) -> None:
    """Signed at the same instant, the URL is botocore's to the last character (signature
    included), with a session token and with a prefix that needs percent-encoding."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: PINNED)
    client = botocore_client(s3_server, token)
    probe = botocore_url(client, "bkt", "probe/asset-catalog-probe", 60, "text/plain")
    base = base_from_probe(probe, "probe/asset-catalog-probe")
    assert base is not None
    theirs = botocore_url(client, "bkt", root_key, 900, "text/csv")
    gets = [PresignedGet(root_key, 900, "text/csv", DISPOSITION)]
    credentials = Credentials("testing", "testing", token)
    mine = S3Presigner().sign(base, credentials, gets, now=PINNED.timestamp())
    assert mine == [theirs]


def test_batch_urls_download_with_forced_headers(s3_storage: FsspecStorage, tmp_path: Path) -> None:
    """presign_many's native URLs are accepted by the S3 server, which answers with the
    disposition and type the URL forces (an attachment for active content)."""
    repo = SqliteRepository(f"sqlite:///{tmp_path / 'c.db'}")
    repo.create_schema()
    catalog = AssetCatalog(repository=repo, storage=s3_storage, signer=UrlSigner(SECRET))
    csv, page = ingest(catalog, CSV, "rapport été.csv"), ingest(catalog, HTML, "page.html")
    batch = catalog.presign_many("t1", [csv.id, page.id], disposition="inline", expires_in=600)
    assert {url.kind for url in batch.urls.values()} == {"native"}
    status, headers, body = fetch(batch.urls[csv.id].url)
    assert (status, body) == (200, CSV)
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"].startswith("inline")
    assert "filename*=UTF-8''rapport%20%C3%A9t%C3%A9.csv" in headers["Content-Disposition"]
    status, headers, body = fetch(batch.urls[page.id].url)
    assert (status, body) == (200, HTML)
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Disposition"].startswith("attachment")
    for url in batch.urls.values():
        assert query(url.url)["X-Amz-Expires"] == "600"
        signed = dt.datetime.strptime(query(url.url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
        expected = signed.replace(tzinfo=dt.UTC) + dt.timedelta(seconds=600)
        assert abs((expected - url.expires_at).total_seconds()) <= 2


def test_refreshable_credentials_are_resolved_per_batch(s3_storage: FsspecStorage) -> None:
    """Credentials that expire (STS, instance roles ...) are refreshed when a batch is
    signed, not frozen for the life of the storage; their session token is signed in."""
    issued: list[str] = []

    async def refresh() -> dict[str, str]:
        issued.append(f"key-{len(issued)}")
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)  # due for refresh at once
        return {
            "access_key": issued[-1],
            "secret_key": "testing",
            "token": f"token-{len(issued)}",
            "expiry_time": expiry.isoformat(),
        }

    credentials = AioRefreshableCredentials.create_from_metadata(
        {
            "access_key": "key-initial",
            "secret_key": "testing",
            "token": "token-initial",
            "expiry_time": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
        },
        refresh_using=refresh,
        method="test",
    )
    s3_storage.fs.s3._request_signer._credentials = credentials
    s3_storage.write("t1/2026/a.csv", [CSV])
    request = SignRequest("t1/2026/a.csv", 60, "a.csv", "text/csv", "attachment")
    first = s3_storage.sign_many([request])[0]
    assert first is not None
    assert query(first)["X-Amz-Credential"].startswith("key-initial/")
    assert query(first)["X-Amz-Security-Token"] == "token-initial"
    assert fetch(first)[2] == CSV  # moto takes any key and token
    credentials._expiry_time = dt.datetime.now(dt.UTC)  # the first credentials expire
    second = s3_storage.sign_many([request])[0]
    assert second is not None
    assert issued
    assert query(second)["X-Amz-Credential"].startswith(f"{issued[-1]}/")
    assert query(second)["X-Amz-Security-Token"] == f"token-{len(issued)}"
    assert fetch(second)[2] == CSV


def test_sigv2_configuration_is_signed_by_s3fs(s3_server: S3Server) -> None:
    """A configuration the one-pass signer does not follow (SigV2 here) keeps s3fs's URLs."""
    fs = s3_server.filesystem(
        config_kwargs={**s3_server.storage_options()["config_kwargs"], "signature_version": "s3"}
    )
    bucket = s3_server.new_bucket(fs)
    storage = FsspecStorage(fs, f"{bucket}/blobs")
    storage.write("t1/2026/a.csv", [CSV])
    urls = storage.sign_many([SignRequest("t1/2026/a.csv", 60, "a.csv", "text/csv", "attachment")])
    assert urls[0] is not None
    assert "AWSAccessKeyId" in query(urls[0])
    assert "X-Amz-Signature" not in query(urls[0])
    assert fetch(urls[0])[2] == CSV


class SignsOneByOne:
    """A third-party storage: the BlobStorage protocol only, no ``sign_many``."""

    def __init__(self, inner: FsspecStorage) -> None:
        self.inner = inner
        self.signed = 0

    @property
    def can_sign(self) -> bool:
        return self.inner.can_sign

    def write(self, key: str, chunks: Iterable[bytes]) -> None:
        self.inner.write(key, chunks)

    def open(self, key: str) -> IO[bytes]:
        return self.inner.open(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def size(self, key: str) -> int:
        return self.inner.size(key)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        return self.inner.iter_keys(prefix)

    def sign(self, key: str, **kwargs: Any) -> str | None:
        self.signed += 1
        return self.inner.sign(key, **kwargs)


def test_storage_without_sign_many_is_asked_url_by_url(
    s3_storage: FsspecStorage, sqlite_repository: AssetRepository
) -> None:
    storage = SignsOneByOne(s3_storage)
    assert not isinstance(storage, BatchSigningStorage)
    catalog = AssetCatalog(repository=sqlite_repository, storage=storage, signer=UrlSigner(SECRET))
    assets = [ingest(catalog, f"n,{i}\n".encode(), f"f{i}.csv") for i in range(3)]
    batch = catalog.presign_many("t1", [a.id for a in assets])
    assert storage.signed == 3
    for i, asset in enumerate(assets):
        assert batch.urls[asset.id].kind == "native"
        assert fetch(batch.urls[asset.id].url)[2] == f"n,{i}\n".encode()


def test_signing_time_is_now(s3_storage: FsspecStorage) -> None:
    before = time.time()
    url = s3_storage.sign_many([SignRequest("t1/a", 60, "a", "text/plain", "attachment")])[0]
    assert url is not None
    signed = dt.datetime.strptime(query(url)["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    assert before - 1 <= signed.replace(tzinfo=dt.UTC).timestamp() <= time.time() + 1


@given(st.text())
def test_percent_encoding_is_urllibs(value: str) -> None:
    """The table-driven encoders give what botocore's ``quote`` calls give, for any text
    (surrogates, which neither can encode, aside)."""
    try:
        expected = urllib.parse.quote(value, safe="-_.~"), urllib.parse.quote(value, safe="/~")
    except UnicodeEncodeError:
        return
    assert (_encode(value), _encode_path(value)) == expected
