"""Storage keys, built only from values the catalog controls."""

from __future__ import annotations

import datetime as dt
import hashlib

__all__ = ["object_key", "tenant_token"]


def tenant_token(tenant_id: str) -> str:
    """A fixed-length, path-safe token for a tenant (the tenant id itself never reaches a path)."""
    return "t" + hashlib.sha256(tenant_id.encode("utf-8")).hexdigest()[:24]


def object_key(tenant_id: str, created_at: dt.datetime, object_id: str, extension: str) -> str:
    """``{tenant_token}/{yyyy}/{mm}/{dd}/{object_id}.{ext}``: one directory per tenant and day."""
    day = created_at.astimezone(dt.UTC)
    return f"{tenant_token(tenant_id)}/{day:%Y/%m/%d}/{object_id}.{extension}"
