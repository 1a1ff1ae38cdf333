"""The errors asset_catalog raises.

Every error a caller of the facade can see derives from :class:`AssetCatalogError`, and each
class also inherits the builtin a caller would naturally catch::

    AssetCatalogError(Exception)
    ├── AssetNotFound(LookupError)            unknown id, another tenant's id, or deleted
    ├── InvalidInput(ValueError)              bad argument; ``.field`` names it
    │   ├── InvalidContent                    bytes that are not what they claim to be
    │   ├── PayloadTooLarge                   content over the size limit (``.limit``)
    │   └── InvalidCursor                     malformed, tampered or foreign list cursor
    ├── SignatureError(ValueError)            a download token that must be refused
    │   ├── BadSignature                      malformed, tampered or unknown key id
    │   └── SignatureExpired                  valid but past its expiry
    ├── QuotaExceeded                         a tenant's quota would be passed (``.limit``)
    ├── UnsupportedOperation(NotImplementedError)
    ├── StorageError(OSError)                 the blob store failed
    ├── RepositoryError(RuntimeError)         the database failed
    │   └── DuplicateKeyError                 a unique key was taken (internal race signal)
    ├── ProviderError                         a provider (OpenAI) failed to deliver an output
    │   └── ProviderFileMissing(LookupError)  it no longer has the file (an expired container)
    └── MissingDependency(ImportError)        an optional extra is not installed

Backend errors (``sqlalchemy.exc.*``, ``OSError`` from fsspec, botocore errors) are translated
at the adapter boundary and chained with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "AssetCatalogError",
    "AssetNotFound",
    "BadSignature",
    "ConnectionLost",
    "DuplicateKeyError",
    "InvalidContent",
    "InvalidCursor",
    "InvalidInput",
    "MissingDependency",
    "PayloadTooLarge",
    "ProviderError",
    "ProviderFileMissing",
    "QuotaExceeded",
    "RepositoryError",
    "SignatureError",
    "SignatureExpired",
    "StorageError",
    "UnsupportedOperation",
]


class AssetCatalogError(Exception):
    """Root of every error raised by asset_catalog."""


class AssetNotFound(AssetCatalogError, LookupError):
    """No visible asset has this id for this tenant (it may belong to another, or be deleted)."""

    def __init__(self, asset_id: str, message: str | None = None) -> None:
        self.asset_id = asset_id
        super().__init__(message or f"asset {asset_id!r} not found")


class InvalidInput(AssetCatalogError, ValueError):
    """An argument was rejected; ``field`` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class InvalidContent(InvalidInput):
    """The content is not what it claims to be (e.g. not an image, bad base64)."""


class PayloadTooLarge(InvalidInput):
    """The content is larger than the configured limit (``limit`` bytes)."""

    def __init__(self, field: str, limit: int) -> None:
        self.limit = limit
        super().__init__(field, f"content exceeds the limit of {limit} bytes")


class InvalidCursor(InvalidInput):
    """The pagination cursor is malformed, tampered with, or belongs to another query."""

    def __init__(self, message: str = "invalid or foreign cursor") -> None:
        super().__init__("cursor", message)


class SignatureError(AssetCatalogError, ValueError):
    """A signed download token must be refused."""


class BadSignature(SignatureError):
    """The token is malformed, tampered with, or signed with an unknown key."""


class SignatureExpired(SignatureError):
    """The token's signature is valid but its expiry has passed."""


class UnsupportedOperation(AssetCatalogError, NotImplementedError):
    """The configured backend cannot do this."""


class StorageError(AssetCatalogError, OSError):
    """The blob storage failed; the original error is chained as ``__cause__``."""


class RepositoryError(AssetCatalogError, RuntimeError):
    """The database failed; the original error is chained as ``__cause__``."""


class DuplicateKeyError(RepositoryError):
    """A unique key is already taken (used internally to settle ingest races)."""


class ConnectionLost(RepositoryError):
    """The database connection broke under a call (the server restarted or dropped it).
    A call that finds its pooled connection broken is run once more on a fresh one; this
    is raised when that fails too."""


class QuotaExceeded(AssetCatalogError):
    """Publishing the asset would take the tenant past its quota: ``limit`` is ``"assets"``
    or ``"bytes"``, ``maximum`` the quota, ``current`` the tenant's live usage before this
    asset and ``requested`` what the asset adds. Nothing of the asset is kept."""

    def __init__(self, tenant_id: str, limit: str, maximum: int, current: int, requested: int):
        self.tenant_id, self.limit = tenant_id, limit
        self.maximum, self.current, self.requested = maximum, current, requested
        super().__init__(
            f"quota exceeded: {limit} {current:,} + {requested:,} would pass the tenant's "
            f"limit of {maximum:,}"
        )


class ProviderError(AssetCatalogError):
    """A provider (the OpenAI API) failed to deliver an output, after the retries; the
    provider's error is chained as ``__cause__``. Reported in a capture's failures."""


class ProviderFileMissing(ProviderError, LookupError):
    """The provider no longer has the file (Code Interpreter containers expire after about
    20 minutes idle): it cannot be catalogued any more."""


class MissingDependency(AssetCatalogError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"{module!r} is required for this feature: pip install 'asset-catalog[{extra}]'",
            name=module,
        )
