"""Presigned S3 GET URLs for a whole batch in one pass: SigV4 query signing, locally.

s3fs's ``sign`` goes through botocore's generic request signer, handed to fsspec's event-loop
thread and back, for every URL: about 0.5 ms each, where the signature itself is a few HMACs.
Here the parts that depend on the filesystem's configuration are taken from botocore once,
and only what varies per URL is computed per URL:

* **Endpoint, addressing style, signing region and service** come from one URL that botocore
  itself presigns through s3fs (a *probe*, per client and bucket): everything before the key
  in it is the base every key of that bucket is appended to. The probe is then signed again
  here, with botocore's timestamp and credentials; unless the two signatures agree, this
  module is not used for that client (the caller falls back to s3fs, URL by URL).
* **Credentials** are the client's, frozen once per batch (refreshable ones are refreshed
  then, as botocore would before signing).
* **The signing key** (four HMACs of the secret, the day, the region and the service) is kept
  for as long as those stay the same, so one URL costs one SHA-256 and one HMAC.

The canonical request is the one botocore's ``S3SigV4QueryAuth`` builds for a GET whose only
query parameters are the response overrides, with ``host`` as the only signed header and an
unsigned payload, and the URL carries the parameters in botocore's order.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import inspect
import time
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

__all__ = ["Base", "Credentials", "PresignedGet", "S3Presigner"]

ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None


class Base(NamedTuple):
    """Where one bucket's keys are addressed, as botocore's probe URL showed it."""

    prefix: str
    """Scheme, host and path up to (not including) the key, e.g. ``http://host:9000/bucket/``."""
    host: str
    """The ``host`` header botocore signs (the default port left out)."""
    path: str
    """The path of ``prefix``, the start of every canonical URI."""
    region: str
    service: str


class PresignedGet(NamedTuple):
    key: str
    """The object key in the bucket (the part after ``bucket/``)."""
    expires_in: int
    content_type: str
    disposition: str


_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"


def _table(safe: str) -> dict[int, str]:
    """``str.translate`` table of UTF-8 bytes (read as Latin-1) to themselves or ``%XX``."""
    return {b: chr(b) if chr(b) in safe else f"%{b:02X}" for b in range(256)}


_QUERY, _PATH = _table(_UNRESERVED), _table(_UNRESERVED + "/")


def _encode(value: str) -> str:
    """``urllib.parse.quote(value, safe="-_.~")`` (what botocore does to query values), in C:
    percent-encoding a download's disposition was most of the time a URL took."""
    return value.encode().decode("latin-1").translate(_QUERY)


def _encode_path(key: str) -> str:
    """``urllib.parse.quote(key, safe="/~")``, botocore's encoding of an S3 key in the path."""
    return key.encode().decode("latin-1").translate(_PATH)


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.digest(key, message.encode(), "sha256")


class S3Presigner:
    """Signs presigned GETs; keeps the last signing key (one per day and credentials)."""

    def __init__(self) -> None:
        self._key: tuple[tuple[str, str, str, str], bytes] | None = None

    def signing_key(self, secret: str, day: str, region: str, service: str) -> bytes:
        scope = (secret, day, region, service)
        cached = self._key
        if cached is not None and cached[0] == scope:
            return cached[1]
        key = _hmac(
            _hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), region), service), "aws4_request"
        )
        self._key = (scope, key)
        return key

    def sign(
        self,
        base: Base,
        credentials: Credentials,
        gets: Sequence[PresignedGet],
        *,
        now: float | None = None,
    ) -> list[str]:
        """One URL per item of ``gets``, all signed at ``now`` (default: the current time)."""
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
        day = stamp[:8]
        key = self.signing_key(credentials.secret_key, day, base.region, base.service)
        scope = f"{day}/{base.region}/{base.service}/aws4_request"
        credential = _encode(f"{credentials.access_key}/{scope}")
        token = "" if credentials.token is None else _encode(credentials.token)
        head = f"GET\n{base.path}"
        tail = f"\nhost:{base.host}\n\nhost\nUNSIGNED-PAYLOAD"
        sts_head = f"{ALGORITHM}\n{stamp}\n{scope}\n"
        urls = []
        for get in gets:
            path = _encode_path(get.key)
            overrides = (
                f"response-content-disposition={_encode(get.disposition)}"
                f"&response-content-type={_encode(get.content_type)}"
            )
            auth = (
                f"X-Amz-Algorithm={ALGORITHM}&X-Amz-Credential={credential}"
                f"&X-Amz-Date={stamp}&X-Amz-Expires={int(get.expires_in)}"
            )
            security = f"&X-Amz-Security-Token={token}" if token else ""
            # The canonical query is sorted by name: X-Amz-* (upper case) before response-*.
            canonical = f"{head}{path}\n{auth}{security}&X-Amz-SignedHeaders=host&{overrides}{tail}"
            digest = hashlib.sha256(canonical.encode()).hexdigest()
            signature = hmac.digest(key, (sts_head + digest).encode(), "sha256").hex()
            urls.append(
                f"{base.prefix}{path}?{overrides}&{auth}&X-Amz-SignedHeaders=host{security}"
                f"&X-Amz-Signature={signature}"
            )
        return urls


def base_from_probe(url: str, probe_key: str) -> Base | None:
    """The :class:`Base` of a URL botocore presigned for ``probe_key``, or None when it is not
    a plain SigV4 query-signed URL of that key with ``host`` as its only signed header."""
    parts = urlsplit(url)
    path = _encode_path(probe_key)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    scope = query.get("X-Amz-Credential", "").split("/")
    if (
        not parts.path.endswith("/" + path)
        or parts.fragment
        or query.get("X-Amz-Algorithm") != ALGORITHM
        or query.get("X-Amz-SignedHeaders") != "host"
        or len(scope) != 5
        or scope[4] != "aws4_request"
    ):
        return None
    base_path = parts.path[: len(parts.path) - len(path)]
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    prefix = f"{parts.scheme}://{parts.netloc}{base_path}"
    return Base(prefix=prefix, host=host, path=base_path, region=scope[2], service=scope[3])


def probe_agrees(
    presigner: S3Presigner, base: Base, credentials: Credentials, url: str, get: PresignedGet
) -> bool:
    """Whether signing ``get`` here at the probe's own timestamp gives botocore's URL."""
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    try:
        now = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
    except (KeyError, ValueError):
        return False
    mine = presigner.sign(base, credentials, [get], now=now)[0]
    return hmac.compare_digest(mine, url)


def frozen_credentials(client: Any, run: Any) -> Credentials | None:
    """The client's credentials now (refreshed if due), or None (anonymous, unknown kind).

    ``run`` runs a coroutine function on the filesystem's event loop and returns its result:
    aiobotocore's refreshable credentials are refreshed there.
    """
    signer = getattr(client, "_request_signer", None)
    source = getattr(signer, "_credentials", None)
    if source is None:
        return None
    frozen = getattr(source, "get_frozen_credentials", None)
    if frozen is None:
        return None
    try:
        # aiobotocore's static credentials: plain attributes, no need for the loop.
        if type(source).__name__ == "AioCredentials":
            values = (source.access_key, source.secret_key, source.token)
        else:
            result = run(frozen) if inspect.iscoroutinefunction(frozen) else frozen()
            values = (result.access_key, result.secret_key, result.token)
    except Exception:  # whatever the provider raises: s3fs's own sign then reports it
        return None
    if not isinstance(values[0], str) or not isinstance(values[1], str):
        return None
    return Credentials(values[0], values[1], values[2] if isinstance(values[2], str) else None)
