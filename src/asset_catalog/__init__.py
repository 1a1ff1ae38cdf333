"""asset_catalog: a tenant-scoped, auditable catalog of what AI agents generate.

Start with :func:`open_catalog`; see the documentation in ``docs/`` for the concepts.
"""

from __future__ import annotations

from ._catalog import AssetCatalog
from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    Download,
    FindingKind,
    ObjectStatus,
    Page,
    PresignBatch,
    PresignedUrl,
    PurgeReport,
    ReconcileReport,
    SourceTool,
    StorageObject,
    VerifyFinding,
    VerifyProgress,
    VerifyReport,
)
from ._open import open_catalog
from ._protocols import AssetRepository, BlobStorage, ObjectEntry
from ._query import AssetQuery, Position
from ._signing import UrlSigner
from ._sql.postgres import PostgresRepository
from ._sql.schema import Tables, build_tables
from ._sql.sqlite import SqliteRepository
from ._storage.fsspec import FsspecStorage
from .exceptions import (
    AssetCatalogError,
    AssetNotFound,
    BadSignature,
    InvalidContent,
    InvalidCursor,
    InvalidInput,
    PayloadTooLarge,
    SignatureError,
    SignatureExpired,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "Asset",
    "AssetCatalog",
    "AssetCatalogError",
    "AssetEvent",
    "AssetNotFound",
    "AssetQuery",
    "AssetRepository",
    "AssetType",
    "BadSignature",
    "BlobStorage",
    "Download",
    "FindingKind",
    "FsspecStorage",
    "InvalidContent",
    "InvalidCursor",
    "InvalidInput",
    "ObjectEntry",
    "ObjectStatus",
    "Page",
    "PayloadTooLarge",
    "Position",
    "PostgresRepository",
    "PresignBatch",
    "PresignedUrl",
    "PurgeReport",
    "ReconcileReport",
    "SignatureError",
    "SignatureExpired",
    "SourceTool",
    "SqliteRepository",
    "StorageError",
    "StorageObject",
    "Tables",
    "UrlSigner",
    "VerifyFinding",
    "VerifyProgress",
    "VerifyReport",
    "__version__",
    "build_tables",
    "open_catalog",
]
