"""The catalog's own signed tokens: HMAC-SHA256, expiry bound in, key ids for rotation."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

from ._limits import MIN_SECRET_BYTES
from .exceptions import BadSignature, InvalidInput, SignatureExpired

__all__ = ["UrlSigner"]

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MAX_TOKEN = 4096


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise BadSignature("malformed token")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSignature("malformed token") from exc


class UrlSigner:
    """Signs and verifies the catalog's tokens (download links and list cursors).

    ``secret`` is one secret (bytes or text, at least 16 bytes; its key id is ``"k0"``) or a
    mapping of key id to secret for rotation (to rotate away from a single secret, keep it as
    ``{"k0": old, "k1": new}`` with ``active_key_id="k1"``): tokens are signed with
    ``active_key_id`` and verified with any key listed, so an old key can stay until its
    tokens have expired. Each purpose (``download``,
    ``cursor``) signs with its own derived key, so one kind of token is never accepted as
    another. Comparisons are constant-time.

    ``base_url`` is where the host serves :meth:`AssetCatalog.open_signed`; a download URL is
    ``{base_url}/{token}``.
    """

    def __init__(
        self,
        secret: str | bytes | Mapping[str, str | bytes],
        *,
        active_key_id: str | None = None,
        base_url: str = "/assets/download",
    ) -> None:
        keys = dict(secret) if isinstance(secret, Mapping) else {"k0": secret}
        if not keys:
            raise InvalidInput("secret", "at least one secret is required")
        self._keys: dict[str, bytes] = {}
        for key_id, value in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID.match(key_id):
                raise InvalidInput("secret", f"key id {key_id!r} must match {_KEY_ID.pattern}")
            if not isinstance(value, str | bytes | bytearray):
                raise InvalidInput(
                    "secret", f"secret {key_id!r} must be text or bytes, not {type(value).__name__}"
                )
            raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
            if len(raw) < MIN_SECRET_BYTES:
                raise InvalidInput(
                    "secret", f"secret {key_id!r} is too short (at least {MIN_SECRET_BYTES} bytes)"
                )
            self._keys[key_id] = raw
        if active_key_id is None:
            if len(self._keys) != 1:
                raise InvalidInput("active_key_id", "is required when several secrets are given")
            active_key_id = next(iter(self._keys))
        if active_key_id not in self._keys:
            raise InvalidInput("active_key_id", f"{active_key_id!r} is not among the secrets")
        if not isinstance(base_url, str):
            raise InvalidInput("base_url", f"must be text, not {type(base_url).__name__}")
        self._active = active_key_id
        self._base_url = base_url.rstrip("/")

    @property
    def base_url(self) -> str:
        """Where the host serves downloads."""
        return self._base_url

    def url_for(self, token: str) -> str:
        """The download URL carrying ``token``."""
        return f"{self._base_url}/{token}"

    def _mac(self, key_id: str, purpose: str, message: bytes) -> bytes:
        derived = hmac.new(self._keys[key_id], b"asset_catalog/" + purpose.encode(), "sha256")
        return hmac.new(derived.digest(), message, hashlib.sha256).digest()

    def sign(self, purpose: str, payload: Mapping[str, Any]) -> str:
        """Return a token ``{key_id}.{payload}.{mac}`` carrying ``payload`` (JSON)."""
        body = _b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        signed = f"{self._active}.{body}"
        mac = _b64encode(self._mac(self._active, purpose, signed.encode()))
        return f"{signed}.{mac}"

    def verify(self, purpose: str, token: object, *, now: float | None = None) -> dict[str, Any]:
        """Return the payload of a genuine token, or raise :class:`BadSignature`.

        When the payload has an ``exp`` (Unix seconds) and ``now`` is given, a token past it
        raises :class:`SignatureExpired`, checked only after the signature is proven.
        """
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN:
            raise BadSignature("malformed token")
        if not token.isascii():  # every token we issue is ASCII (base64url and dots)
            raise BadSignature("malformed token")
        parts = token.split(".")
        if len(parts) != 3:
            raise BadSignature("malformed token")
        key_id, body, mac_text = parts
        if key_id not in self._keys:
            raise BadSignature("token signed with an unknown key")
        expected = self._mac(key_id, purpose, f"{key_id}.{body}".encode())
        # Compare the encoded text, not decoded bytes: base64 ignores the spare bits of the
        # last character, so several spellings decode alike and must not all be accepted.
        if not hmac.compare_digest(_b64encode(expected).encode(), mac_text.encode()):
            raise BadSignature("token signature does not match")
        try:
            payload = json.loads(_b64decode(body))
        except ValueError as exc:  # only reachable with a genuine MAC over a bad payload
            raise BadSignature("malformed token payload") from exc
        if not isinstance(payload, dict):
            raise BadSignature("malformed token payload")
        exp = payload.get("exp")
        if now is not None and exp is not None and (not isinstance(exp, int) or now >= exp):
            raise SignatureExpired("token has expired")
        return payload
