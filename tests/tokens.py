"""Taking the catalog's tokens and cursors apart, and forging edited copies of them."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

__all__ = ["token_payload", "with_payload"]


def token_payload(token: str) -> dict[str, Any]:
    """The JSON payload of a token or cursor (``key_id.body.mac``), unverified."""
    body = token.split(".")[1]
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return payload


def with_payload(token: str, /, *, drop: Iterable[str] = (), **changes: Any) -> str:
    """The same token (same key id and MAC) with its payload edited: keys in ``drop``
    removed, ``changes`` set. The MAC no longer matches, which is the point."""
    key_id, _body, mac = token.split(".")
    payload = {**token_payload(token), **changes}
    for key in drop:
        payload.pop(key, None)
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    encoded = base64.urlsafe_b64encode(body).rstrip(b"=").decode("ascii")
    return f"{key_id}.{encoded}.{mac}"
