"""HTTP-correct downloads of catalog-signed URLs: HEAD, ``If-None-Match`` → 304, a single
``Range`` → 206 / 416, and one ``downloaded`` audit event per download (not per HEAD,
revalidation or later range piece)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

__all__ = ["Plan", "audited_by_request", "plan", "single_range"]

_RANGE = re.compile(r"^bytes=(?P<start>\d*)-(?P<end>\d*)$")


@attrs.frozen
class Plan:
    """What to answer: the status, the headers, which bytes to send, and whether this is a
    download to audit."""

    status: int
    headers: dict[str, str]
    start: int = 0
    length: int = 0
    """Bytes of the body (0: no body)."""
    audit: bool = False


def single_range(header: str | None) -> tuple[int | None, int | None] | None:
    """``(start, end)`` of a single ``bytes=`` range (``start`` None for a suffix range,
    ``end`` None for an open one); None when there is none or it is not one we serve
    (several ranges, another unit, bad syntax: the whole body is sent, as RFC 9110 allows)."""
    if not header:
        return None
    found = _RANGE.match(header.strip().replace(" ", ""))
    if found is None or (not found["start"] and not found["end"]):
        return None
    start = int(found["start"]) if found["start"] else None
    end = int(found["end"]) if found["end"] else None
    if start is not None and end is not None and end < start:
        return None
    return start, end


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


def audited_by_request(method: str, if_none_match: str | None, range_header: str | None) -> bool:
    """Whether a request is a download to audit, judged before the asset is read: a GET that
    is not a revalidation and asks for the bytes from the start."""
    if method != "GET" or if_none_match:
        return False
    wanted = single_range(range_header)
    return wanted is None or wanted[0] == 0


def plan(
    method: str,
    headers: Mapping[str, str],
    size: int,
    *,
    if_none_match: str | None = None,
    range_header: str | None = None,
    if_range: str | None = None,
) -> Plan:
    """The answer to a GET or HEAD of an asset whose download headers (``ETag``,
    ``Content-Length`` ...) are ``headers`` and whose size is ``size``."""
    base = {**headers, "Accept-Ranges": "bytes"}
    etag = base["ETag"]
    get = method == "GET"
    if _etag_matches(if_none_match, etag):
        kept = ("ETag", "Cache-Control", "X-Content-Type-Options", "Accept-Ranges")
        return Plan(304, {name: base[name] for name in kept if name in base})
    wanted = single_range(range_header)
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's copy is another one: send it all
    if wanted is None:
        return Plan(200, base, 0, size if get else 0, audit=get)
    start, end = wanted
    if start is None:  # the last ``end`` bytes
        assert end is not None
        start, end = max(size - end, 0), size - 1
        if size == 0 or wanted[1] == 0:
            return Plan(416, {**_unsatisfiable(base, size)})
    if start >= size:
        return Plan(416, _unsatisfiable(base, size))
    end = size - 1 if end is None or end >= size else end
    length = end - start + 1
    ranged = {**base, "Content-Length": str(length), "Content-Range": f"bytes {start}-{end}/{size}"}
    return Plan(206, ranged, start, length if get else 0, audit=get and start == 0)


def _unsatisfiable(base: Mapping[str, str], size: int) -> dict[str, str]:
    kept = ("ETag", "Cache-Control", "X-Content-Type-Options", "Accept-Ranges")
    return {**{n: base[n] for n in kept if n in base}, "Content-Range": f"bytes */{size}"}
