"""RFC 9457 problem details for the catalog's errors: the status a client gets for each."""

from __future__ import annotations

from typing import Any

import attrs

from ..exceptions import (
    AssetCatalogError,
    AssetNotFound,
    BadSignature,
    InvalidContent,
    InvalidCursor,
    InvalidInput,
    PayloadTooLarge,
    ProviderError,
    QuotaExceeded,
    RepositoryError,
    SignatureExpired,
    StorageError,
    UnsupportedOperation,
)

__all__ = ["MEDIA_TYPE", "Problem", "problem_for", "to_problem"]

MEDIA_TYPE = "application/problem+json"

#: (error class, status, slug, title), most specific first.
_TABLE: tuple[tuple[type[AssetCatalogError], int, str, str], ...] = (
    (PayloadTooLarge, 413, "payload-too-large", "Content too large"),
    (InvalidCursor, 400, "invalid-cursor", "Invalid cursor"),
    (InvalidContent, 400, "invalid-content", "Invalid content"),
    (InvalidInput, 400, "invalid-input", "Invalid input"),
    (AssetNotFound, 404, "not-found", "Asset not found"),
    (SignatureExpired, 410, "expired", "Download link expired"),
    (BadSignature, 403, "bad-signature", "Invalid download link"),
    (StorageError, 503, "storage-unavailable", "Storage unavailable"),
    (RepositoryError, 503, "database-unavailable", "Database unavailable"),
    (QuotaExceeded, 403, "quota-exceeded", "Quota exceeded"),
    (ProviderError, 502, "provider-error", "Provider error"),
    (UnsupportedOperation, 501, "unsupported", "Not supported"),
)


@attrs.frozen
class Problem:
    """One problem: what a client is told, never a stack trace."""

    status: int
    slug: str
    title: str
    detail: str
    field: str | None = None

    @property
    def type(self) -> str:
        return f"urn:asset-catalog:problem:{self.slug}"

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.field is not None:
            data["field"] = self.field
        return data


def problem_for(error: AssetCatalogError) -> Problem:
    """The problem for a catalog error. Server-side failures (storage, database) say what
    failed, not why: their detail may name keys or hosts a client has no business seeing."""
    for kind, status, slug, title in _TABLE:
        if isinstance(error, kind):
            if status >= 500:
                return Problem(status, slug, title, f"{title.lower()}; try again later")
            field = error.field if isinstance(error, InvalidInput) else None
            return Problem(status, slug, title, str(error), field)
    return Problem(500, "internal", "Internal error", "the catalog failed")


def to_problem(error: AssetCatalogError) -> dict[str, Any]:
    """A catalog error as RFC 9457 problem details, for a host on any framework: ``type``,
    ``title``, ``status``, ``detail`` (and ``field``), to send as ``application/problem+json``
    with that ``status``. Outages say what failed, never a key or a host name."""
    return problem_for(error).body()


def in_body(error: InvalidInput) -> InvalidInput:
    """An error of ``presign_many`` named as the request body names its field (``ids``)."""
    return InvalidInput("ids", error.message) if error.field == "asset_ids" else error


def method_not_allowed(method: str, allowed: list[str]) -> Problem:
    """A method the path has no route for (the response's ``Allow`` lists ``allowed``)."""
    detail = f"{method} is not allowed here; allowed: {', '.join(allowed)}"
    return Problem(405, "method-not-allowed", "Method not allowed", detail)


def forbidden(detail: str) -> Problem:
    """A refused action (a delete the host does not allow)."""
    return Problem(403, "forbidden", "Forbidden", detail)
