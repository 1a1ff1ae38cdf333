"""asset_catalog: a tenant-scoped, auditable catalog of what AI agents generate.

Start with :func:`open_catalog`; see the documentation in ``docs/`` for the concepts.

The top level holds what a host uses: the facade, ``open_catalog``, the models, every error
the library raises and its limits. The backends live in public sub-modules:
:mod:`asset_catalog.sql` (the SQLite and PostgreSQL repositories and the table builder) and
:mod:`asset_catalog.storage` (``FsspecStorage``); :mod:`asset_catalog.protocols` has what a
third-party backend implements, :mod:`asset_catalog.testing` the contract suites it runs.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._async import AsyncAssetCatalog, LoopBridge, open_async_catalog
from ._catalog import AssetCatalog
from ._json import to_json
from ._limits import (
    DEFAULT_MAX_BYTES,
    MAX_EXPIRES_IN,
    MAX_FILENAME_BYTES,
    MAX_HOST_ID_LENGTH,
    MAX_IDS_PER_CALL,
    MAX_LIST_LIMIT,
    MAX_METADATA_BYTES,
    MAX_PRESIGN_BATCH,
    MAX_VARIANT_PIXELS,
    MIN_SECRET_BYTES,
)
from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    Download,
    EraseReport,
    EventKind,
    ExportReport,
    FindingKind,
    Lineage,
    ObjectStatus,
    Page,
    PresignBatch,
    PresignedUrl,
    PurgeReport,
    Quota,
    ReconcileReport,
    SourceTool,
    StorageObject,
    Usage,
    UsageEntry,
    VerifyFinding,
    VerifyProgress,
    VerifyReport,
)
from ._open import open_catalog
from ._signing import UrlSigner
from ._web.problems import to_problem
from ._web.requests import list_arguments
from .exceptions import (
    AssetCatalogError,
    AssetNotFound,
    BadSignature,
    ConnectionLost,
    DuplicateKeyError,
    InvalidContent,
    InvalidCursor,
    InvalidInput,
    MissingDependency,
    PayloadTooLarge,
    ProviderError,
    ProviderFileMissing,
    QuotaExceeded,
    RepositoryError,
    SignatureError,
    SignatureExpired,
    StorageError,
    UnsupportedOperation,
)
from .protocols import AssetRepository, BlobStorage

try:
    __version__ = version("asset-catalog")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_EXPIRES_IN",
    "MAX_FILENAME_BYTES",
    "MAX_HOST_ID_LENGTH",
    "MAX_IDS_PER_CALL",
    "MAX_LIST_LIMIT",
    "MAX_METADATA_BYTES",
    "MAX_PRESIGN_BATCH",
    "MAX_VARIANT_PIXELS",
    "MIN_SECRET_BYTES",
    "Asset",
    "AssetCatalog",
    "AssetCatalogError",
    "AssetEvent",
    "AssetNotFound",
    "AssetRepository",
    "AssetType",
    "AsyncAssetCatalog",
    "BadSignature",
    "BlobStorage",
    "ConnectionLost",
    "Download",
    "DuplicateKeyError",
    "EraseReport",
    "EventKind",
    "ExportReport",
    "FindingKind",
    "InvalidContent",
    "InvalidCursor",
    "InvalidInput",
    "Lineage",
    "LoopBridge",
    "MissingDependency",
    "ObjectStatus",
    "Page",
    "PayloadTooLarge",
    "PresignBatch",
    "PresignedUrl",
    "ProviderError",
    "ProviderFileMissing",
    "PurgeReport",
    "Quota",
    "QuotaExceeded",
    "ReconcileReport",
    "RepositoryError",
    "SignatureError",
    "SignatureExpired",
    "SourceTool",
    "StorageError",
    "StorageObject",
    "UnsupportedOperation",
    "UrlSigner",
    "Usage",
    "UsageEntry",
    "VerifyFinding",
    "VerifyProgress",
    "VerifyReport",
    "__version__",
    "list_arguments",
    "open_async_catalog",
    "open_catalog",
    "to_json",
    "to_problem",
]
