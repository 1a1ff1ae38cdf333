"""Value objects returned by the catalog: frozen, slotted attrs classes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import IO, Any, NamedTuple

import attrs

__all__ = [
    "Asset",
    "AssetEvent",
    "AssetType",
    "Download",
    "EraseReport",
    "EventKind",
    "ExportReport",
    "FindingKind",
    "Lineage",
    "ObjectStatus",
    "Page",
    "PresignBatch",
    "PresignedUrl",
    "PurgeReport",
    "Quota",
    "ReconcileReport",
    "SourceTool",
    "StorageObject",
    "Usage",
    "UsageEntry",
    "VerifyFinding",
    "VerifyProgress",
    "VerifyReport",
]


class AssetType(StrEnum):
    """What kind of asset an entry is."""

    IMAGE = "image"
    FILE = "file"


class SourceTool(StrEnum):
    """Which tool produced an asset."""

    IMAGE_GENERATION = "image_generation"
    CODE_INTERPRETER = "code_interpreter"
    USER_UPLOAD = "user_upload"
    UNKNOWN = "unknown"


class ObjectStatus(StrEnum):
    """Life cycle of a stored blob: pending -> stored -> deleting -> deleted, or failed."""

    PENDING = "pending"
    STORED = "stored"
    DELETING = "deleting"
    DELETED = "deleted"
    FAILED = "failed"


class EventKind(StrEnum):
    """What an audit event records (``AssetEvent.event``)."""

    CREATED = "created"
    """The asset was ingested (details: ``size_bytes``, ``sha256``)."""
    LINKED = "linked"
    """The asset was attached to a message (details: ``message_id``)."""
    URL_ISSUED = "url_issued"
    """A download URL was handed out (details: ``kind``, ``expires_at``, ``disposition``)."""
    DOWNLOADED = "downloaded"
    """A catalog-signed download was served."""
    VARIANT_SKIPPED = "variant_skipped"
    """An image's variants were not made (details: ``variants``, ``reason``: ``too_large``,
    ``undecodable``, ``unsupported``, ``failed``; ``detail``); the image itself is
    catalogued."""
    DELETED = "deleted"
    """The asset was deleted (always its last event but ``purged``)."""
    PURGED = "purged"
    """The asset's rows were removed for good (details: ``size_bytes``, ``sha256``,
    ``deleted_at``); the trail itself stays."""
    ERASED = "erased"
    """The asset was erased at a user's request (details: ``user_id``): its rows and every
    other event of its trail are gone."""


@attrs.frozen
class StorageObject:
    """One blob the catalog wrote (a ``storage_objects`` row)."""

    id: str
    tenant_id: str
    key: str
    filename: str
    mime_type: str
    status: ObjectStatus
    created_at: dt.datetime
    size_bytes: int | None = None
    sha256: str | None = None
    deleted_at: dt.datetime | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(slots=False)  # a __dict__: the SQL repository fills a page's rows in one call
class Asset:
    """A catalog entry: an image or file an agent produced, and where it came from."""

    id: str
    tenant_id: str
    storage_object_id: str
    asset_type: AssetType
    source_tool: SourceTool
    filename: str
    mime_type: str
    size_bytes: int
    sha256: str
    created_at: dt.datetime
    updated_at: dt.datetime
    conversation_id: str | None = None
    message_id: str | None = None
    tool_call_id: str | None = None
    response_id: str | None = None
    container_id: str | None = None
    openai_file_id: str | None = None
    agent_key: str | None = None
    user_id: str | None = None
    width: int | None = None
    height: int | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    idempotency_key: str | None = None
    deleted_at: dt.datetime | None = None
    variant_of: str | None = None
    """The asset this one was derived from, when it is a variant (a thumbnail); None for an
    original. Variants are left out of ``list``, exports and the asset counts of ``usage``."""
    variant: str | None = None
    """The variant's name (``"thumbnail"``), with ``variant_of``."""
    source_asset_id: str | None = None
    """The image this one was made from by editing it (lineage), if known."""
    placeholder: str | None = None
    """A tiny preview of an image (a ``data:image/webp;base64,...`` URI of about 1 KB at
    most) to paint while its thumbnail loads; None when none was made."""


@attrs.frozen
class Lineage:
    """What :meth:`AssetCatalog.lineage` returns: an asset and the assets related to it."""

    asset: Asset
    sources: tuple[Asset, ...] = ()
    """The image it was edited from, that image's source, and so on (nearest first); the
    chain stops at a source that is no longer live."""
    variants: tuple[Asset, ...] = ()
    """Its live variants (thumbnails), by name."""
    edits: tuple[Asset, ...] = ()
    """The live images made by editing it, oldest first."""


@attrs.frozen
class AssetEvent:
    """One line of the append-only audit trail."""

    id: str
    tenant_id: str
    asset_id: str
    event: EventKind
    at: dt.datetime
    actor: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Page:
    """One page of :meth:`AssetCatalog.list`; pass ``next_cursor`` back for the next page."""

    items: tuple[Asset, ...]
    next_cursor: str | None


@attrs.frozen
class PresignedUrl:
    """A time-limited download URL.

    ``kind`` is ``"native"`` when the storage signed it (e.g. S3) and ``"catalog"`` when it
    carries the catalog's own token, to be served by a host route calling ``open_signed``.
    """

    url: str
    method: str
    headers: Mapping[str, str]
    expires_at: dt.datetime
    kind: str = "catalog"
    token: str | None = None
    """The catalog's token (``kind == "catalog"``): what the host route passes to
    ``open_signed``; the last path segment of ``url``."""
    variant: str | None = None
    """The variant the URL serves (``"thumbnail"``); None: the original, also when a
    variant was asked for and the asset has none."""


@attrs.frozen
class PresignBatch:
    """What :meth:`AssetCatalog.presign_many` returns: a URL per live asset, and the ids
    that are missing (unknown, deleted or another tenant's) or unsupported."""

    urls: Mapping[str, PresignedUrl]
    missing: tuple[str, ...] = ()
    unsupported: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    """With ``variant=``: the ids answered with the original's URL because they have no such
    variant (a file, an image made before variants, one whose variant was skipped)."""


class Download(NamedTuple):
    """What :meth:`AssetCatalog.open_signed` returns: unpack as ``asset, stream, headers``.

    The caller owns ``stream`` and must close it (it is a context manager).
    """

    asset: Asset
    stream: IO[bytes]
    headers: Mapping[str, str]


@attrs.frozen
class Quota:
    """A tenant's limits on its live assets (None: no limit), checked in the transaction
    that publishes an asset, so that concurrent ingests cannot overshoot them."""

    max_assets: int | None = None
    max_bytes: int | None = None


@attrs.frozen
class UsageEntry:
    """Live assets of one type from one source tool, and their bytes."""

    asset_type: AssetType
    source_tool: SourceTool
    assets: int
    bytes: int


@attrs.frozen
class Usage:
    """What a tenant stores now (live assets; deleted ones stop counting when deleted)."""

    tenant_id: str
    assets: int
    bytes: int
    entries: tuple[UsageEntry, ...] = ()
    """By asset type and source tool, in that order."""


@attrs.frozen
class ReconcileReport:
    """What :meth:`AssetCatalog.reconcile` found and did."""

    pending_failed: int = 0
    """Ingests that died: their blob removed, their row now ``failed``."""
    deletes_finished: int = 0
    """Deletes that died half-way: their blob removed, their row now ``deleted``."""
    errors: tuple[str, ...] = ()
    """One line per object whose blob could not be removed (left for the next run)."""


@attrs.frozen
class EraseReport:
    """What :meth:`AssetCatalog.erase` removed."""

    asset_ids: tuple[str, ...] = ()
    """The assets erased now (live ones deleted first), in id order."""
    events_anonymized: int = 0
    """Events of the tenant's other assets that named the user as their actor, now none."""


@attrs.frozen
class ExportReport:
    """What :meth:`AssetCatalog.export` wrote: how many assets, and their bytes."""

    assets: int = 0
    bytes: int = 0


@attrs.frozen
class PurgeReport:
    """What :meth:`AssetCatalog.purge` removed for good."""

    assets_purged: int = 0
    """Soft-deleted asset rows removed (each leaves a ``purged`` event)."""
    objects_purged: int = 0
    """``deleted`` and ``failed`` storage-object rows removed."""


class FindingKind(StrEnum):
    """What :meth:`AssetCatalog.verify` can find wrong."""

    MISSING_BLOB = "missing_blob"
    """A stored object (a live asset's bytes) has no blob."""
    SIZE_MISMATCH = "size_mismatch"
    """The blob's size differs from the recorded ``size_bytes``."""
    CHECKSUM_MISMATCH = "checksum_mismatch"
    """The blob's sha256 differs from the recorded one."""
    ORPHAN_BLOB = "orphan_blob"
    """A blob that no ``pending``/``stored``/``deleting`` row claims."""
    BROKEN_ROW = "broken_row"
    """A live asset whose object is not ``stored``, or a stored object with no live asset."""


@attrs.frozen
class VerifyFinding:
    """One thing :meth:`AssetCatalog.verify` found wrong."""

    kind: FindingKind
    key: str
    """The blob's storage key."""
    object_id: str | None = None
    """The ``storage_objects`` row concerned (None for a blob no row knows)."""
    detail: str = ""


@attrs.frozen
class VerifyProgress:
    """Passed to ``verify(progress=...)`` after each batch."""

    phase: str
    """``"rows"`` (checking each object row against its blob) or ``"blobs"`` (looking for
    blobs no row claims)."""
    done: int
    """Rows, or blobs, checked so far in this phase."""
    findings: int
    """Findings so far, both phases."""


@attrs.frozen
class VerifyReport:
    """What :meth:`AssetCatalog.verify` checked and found. ``ok`` when nothing is wrong."""

    objects_checked: int = 0
    blobs_checked: int = 0
    bytes_hashed: int = 0
    counts: Mapping[FindingKind, int] = attrs.field(factory=dict)
    """Findings per kind (exact, however many)."""
    findings: tuple[VerifyFinding, ...] = ()
    """The findings themselves, at most ``max_findings`` of them."""
    in_flight: int = 0
    """Objects still ``pending`` or ``deleting`` (work for ``reconcile()``; not findings)."""

    @property
    def ok(self) -> bool:
        """True when nothing was found wrong."""
        return not any(self.counts.values())

    @property
    def total(self) -> int:
        """Number of findings, all kinds."""
        return sum(self.counts.values())
