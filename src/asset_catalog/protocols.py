"""The two seams of the catalog: where rows live and where bytes live.

Both protocols are small and I/O-only. The logic that makes an ingest or a delete safe lives
once, in :class:`~asset_catalog.AssetCatalog`, not in each backend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, NamedTuple, Protocol, runtime_checkable

import attrs

from ._models import Asset, AssetEvent, AssetType, ObjectStatus, SourceTool, StorageObject

__all__ = [
    "AssetQuery",
    "AssetRepository",
    "BlobStorage",
    "DeleteResult",
    "ObjectEntry",
    "Position",
]


@attrs.frozen
class Position:
    """A keyset position: the last item of the previous page."""

    created_at: dt.datetime
    id: str


@attrs.frozen
class AssetQuery:
    """Filters of a list call; every field is optional and they combine with AND."""

    asset_type: AssetType | None = None
    source_tool: SourceTool | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    agent_key: str | None = None
    mime_prefix: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


class ObjectEntry(NamedTuple):
    """A storage object row and the state of the asset that owns it (for ``verify``)."""

    object: StorageObject
    asset_live: bool | None
    """True: a live asset owns it; False: a soft-deleted one; None: no asset row."""


class DeleteResult(Protocol):
    """What :meth:`AssetRepository.mark_deleted` reports."""

    @property
    def deleted(self) -> Sequence[str]: ...
    @property
    def missing(self) -> Sequence[str]: ...
    @property
    def objects(self) -> Sequence[StorageObject]: ...


@runtime_checkable
class AssetRepository(Protocol):
    """Durable rows: storage objects, assets and audit events, always tenant-scoped."""

    def create_schema(self) -> None:
        """Create the tables and indexes if they do not exist."""

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Asset | None:
        """Return the live asset with this idempotency key, if any."""

    def add_pending_object(self, obj: StorageObject) -> None:
        """Insert a ``pending`` storage object row (committed before any byte is written)."""

    def complete_ingest(self, asset: Asset, event: AssetEvent) -> None:
        """In one transaction: mark the object ``stored`` with the asset's size and sha256,
        insert the asset and its ``created`` event.

        Raises :class:`~asset_catalog.exceptions.DuplicateKeyError` when the idempotency key
        was taken meanwhile; nothing is written then.
        """

    def mark_object_failed(self, object_id: str, at: dt.datetime) -> None:
        """Mark a ``pending`` object ``failed`` (its blob has been removed)."""

    def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        """Return a live asset of this tenant, or None."""

    def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> list[Asset]:
        """Return the live assets of this tenant among ``asset_ids``, in one query."""

    def get_assets_with_keys(
        self, tenant_id: str, asset_ids: Sequence[str]
    ) -> list[tuple[Asset, str]]:
        """Like :meth:`get_assets`, each with its storage object's key, in one query."""

    def get_object(self, object_id: str) -> StorageObject | None:
        """Return a storage object row by id."""

    def list_assets(
        self, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
    ) -> list[Asset]:
        """Live assets matching ``query``, newest first (created_at DESC, id DESC),
        strictly after ``after``, at most ``limit``."""

    def asset_ids_in_conversation(
        self, tenant_id: str, conversation_id: str, limit: int
    ) -> list[str]:
        """Ids of up to ``limit`` live assets of a conversation."""

    def link_message(
        self,
        tenant_id: str,
        message_id: str,
        *,
        asset_ids: Sequence[str] | None,
        tool_call_ids: Sequence[str] | None,
        response_id: str | None,
        at: dt.datetime,
        actor: str | None,
    ) -> list[str]:
        """Set ``message_id`` on matching live assets that have none; record ``linked``
        events; return the ids linked. Raises ``AssetNotFound`` (writing nothing) when an
        id of ``asset_ids`` is not a live asset of the tenant."""

    def mark_deleted(
        self, tenant_id: str, asset_ids: Sequence[str], at: dt.datetime, actor: str | None
    ) -> DeleteResult:
        """In one transaction: soft-delete the live assets, move their objects to
        ``deleting`` and record ``deleted`` events. Reports the ids deleted now, the ids
        that never existed for the tenant, and every object (also of assets deleted
        earlier) still waiting in ``deleting`` for its blob to go."""

    def finish_delete(self, object_ids: Sequence[str], at: dt.datetime) -> None:
        """Mark ``deleting`` objects ``deleted`` once their blobs are gone."""

    def add_events(self, events: Sequence[AssetEvent]) -> None:
        """Append audit events about live assets, in one transaction that holds the assets
        against a concurrent delete; raises ``AssetNotFound`` (recording nothing) if one of
        them is no longer live, so no event ever follows an asset's ``deleted`` event."""

    def objects_in_status(
        self, status: ObjectStatus, created_before: dt.datetime, limit: int
    ) -> list[StorageObject]:
        """Objects in ``status`` created before a time (for ``reconcile``)."""

    def objects_after(self, after_id: str | None, limit: int) -> list[ObjectEntry]:
        """Up to ``limit`` storage objects of every tenant and status with an id greater than
        ``after_id``, in id order, each with the state of its asset (for ``verify``)."""

    def get_objects(self, object_ids: Sequence[str]) -> list[StorageObject]:
        """The storage objects among ``object_ids`` (any tenant, any status), in one query."""

    def purge_deleted(
        self, before: dt.datetime, limit: int, at: dt.datetime, actor: str | None
    ) -> tuple[int, int]:
        """In one transaction: hard-delete up to ``limit`` storage objects that have been
        ``deleted`` or ``failed`` since before ``before``, with the soft-deleted assets that
        own them, appending a ``purged`` event for each asset (the audit trail stays).
        Returns ``(assets purged, objects purged)``; ``(0, 0)`` when nothing is left."""

    def events_for(self, tenant_id: str, asset_id: str) -> list[AssetEvent]:
        """The audit trail of one asset, oldest first."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class BlobStorage(Protocol):
    """Where the bytes live. Keys are built by the catalog, never from user input."""

    @property
    def can_sign(self) -> bool:
        """Whether :meth:`sign` can produce native presigned URLs."""

    def write(self, key: str, chunks: Iterable[bytes]) -> None:
        """Stream ``chunks`` to ``key``, creating or replacing it. If the iterator raises,
        the error propagates (the caller removes the partial blob)."""

    def open(self, key: str) -> IO[bytes]:
        """Open a blob for streaming reads."""

    def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""

    def exists(self, key: str) -> bool:
        """Whether a blob exists."""

    def size(self, key: str) -> int:
        """The size in bytes of a blob."""

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (relative to the storage root), lazily: ``verify()``
        walks whole buckets with it, so an implementation should not list everything at
        once."""

    def sign(
        self,
        key: str,
        *,
        expires_in: int,
        filename: str,
        content_type: str,
        disposition: str,
    ) -> str | None:
        """A native presigned GET URL, or None when the backend cannot sign."""
