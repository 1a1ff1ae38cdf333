"""The two seams of the catalog: where rows live and where bytes live, and what crosses them.

Both protocols are small and I/O-only: a repository persists and returns rows, a storage
moves bytes. Every decision (which state comes next, which event is recorded and when) is
the catalog's, made once for every backend. Where the rows a call changes are only known
inside the repository's transaction (a link, a delete, a purge), the catalog passes a
callback that builds their events, and the repository stores exactly what it returns.

A third-party backend implements :class:`AssetRepository` or :class:`BlobStorage` and runs
the contract suites of :mod:`asset_catalog.testing`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, NamedTuple, Protocol, runtime_checkable

import attrs

from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    ObjectStatus,
    SourceTool,
    StorageObject,
    UsageEntry,
)

__all__ = [
    "Admit",
    "AssetQuery",
    "AssetRepository",
    "BatchSigningStorage",
    "BlobStorage",
    "DeleteResult",
    "DeletedEvents",
    "ErasedEvent",
    "LinkedEvent",
    "ObjectEntry",
    "Position",
    "PurgedEvent",
    "SignRequest",
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
    user_id: str | None = None
    response_id: str | None = None
    tool_call_id: str | None = None
    container_id: str | None = None
    mime_prefix: str | None = None
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None


LinkedEvent = Callable[[str], AssetEvent]
"""Builds the ``linked`` event of one asset id (``link_message`` calls it per asset it links)."""

DeletedEvents = Callable[[Sequence[str], dt.datetime | None], Sequence[AssetEvent]]
"""Builds the ``deleted`` events of the live assets a delete found (their ids, in id order)
given the time of the latest event any of them already has (None: none has one): one event
per id, each carrying the time at which its asset is deleted."""

PurgedEvent = Callable[[Asset], AssetEvent]
"""Builds the ``purged`` event of one asset row that a purge removed."""

ErasedEvent = Callable[[str], AssetEvent]
"""Builds the ``erased`` event of one asset id that an erasure removed."""

Admit = Callable[[int, int], None]
"""Checks a tenant's quota: given its live assets and bytes before the asset being
published (read inside the publishing transaction), raises
:class:`~asset_catalog.exceptions.QuotaExceeded` to refuse it."""


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
    """Durable rows: storage objects, assets and audit events, always tenant-scoped.

    Reads of assets only ever return *live* ones (``deleted_at`` is None) of the tenant
    asked for. A method documented as "one transaction" must be atomic: all or nothing.
    Errors are the library's own (:class:`~asset_catalog.exceptions.RepositoryError` for a
    database failure), never the driver's.
    """

    def create_schema(self) -> None:
        """Create the tables and indexes if they do not exist."""

    # -- ingest ---------------------------------------------------------------------------

    def find_by_idempotency_key(self, tenant_id: str, key: str) -> Asset | None:
        """Return the live asset with this idempotency key, if any."""

    def add_pending_object(self, obj: StorageObject) -> None:
        """Insert a ``pending`` storage object row (committed before any byte is written)."""

    def complete_ingest(self, asset: Asset, event: AssetEvent, admit: Admit | None = None) -> None:
        """One transaction: mark the asset's object ``stored`` with the asset's size and
        sha256 (only if it is still ``pending``), insert the asset and ``event``, and add
        the asset to its tenant's usage (a variant adds nothing: usage counts what ``list``
        shows).

        With ``admit``, the tenant's usage is read inside the transaction, with concurrent
        admitted publishes of the tenant excluded until it commits, and passed to ``admit``,
        which raises to refuse the asset.

        Raises :class:`~asset_catalog.exceptions.DuplicateKeyError` when the idempotency key
        was taken meanwhile, and :class:`~asset_catalog.exceptions.RepositoryError` when the
        object is no longer ``pending``; nothing is written then, nor when ``admit`` raises.
        """

    def mark_objects_failed(self, object_ids: Sequence[str], at: dt.datetime) -> None:
        """Mark those of the objects that are ``pending`` as ``failed`` at ``at`` (their blobs
        have been removed); leave every other status alone."""

    # -- reads ----------------------------------------------------------------------------

    def get_asset(self, tenant_id: str, asset_id: str) -> Asset | None:
        """Return a live asset of this tenant, or None."""

    def get_assets(self, tenant_id: str, asset_ids: Sequence[str]) -> list[Asset]:
        """Return the live assets of this tenant among ``asset_ids``, in one query."""

    def get_assets_with_keys(
        self, tenant_id: str, asset_ids: Sequence[str]
    ) -> list[tuple[Asset, str]]:
        """Like :meth:`get_assets`, each with its storage object's key, in one query."""

    def usage(self, tenant_id: str) -> list[UsageEntry]:
        """The tenant's live assets and bytes by asset type and source tool (entries with
        no asset left out), kept by ``complete_ingest`` and ``mark_deleted``."""

    def usage_rows(
        self, after: tuple[str, str, str] | None, limit: int
    ) -> list[tuple[str, UsageEntry]]:
        """Every tenant's usage entries (with assets), in (tenant_id, asset_type, source_tool)
        order, strictly after ``after``, at most ``limit``: for operators, across tenants."""

    def get_object(self, object_id: str) -> StorageObject | None:
        """Return a storage object row by id (any tenant, any status)."""

    def get_objects(self, object_ids: Sequence[str]) -> list[StorageObject]:
        """The storage objects among ``object_ids`` (any tenant, any status), in one query."""

    def list_assets(
        self, tenant_id: str, query: AssetQuery, after: Position | None, limit: int
    ) -> list[Asset]:
        """Live assets matching ``query`` that are not variants, newest first
        (created_at DESC, id DESC), strictly after ``after``, at most ``limit``."""

    def asset_ids_in_conversation(
        self, tenant_id: str, conversation_id: str, limit: int
    ) -> list[str]:
        """Ids of up to ``limit`` live assets of a conversation (not variants: they go with
        their source)."""

    def events_for(self, tenant_id: str, asset_id: str) -> list[AssetEvent]:
        """The audit trail of one asset (live, deleted or purged), oldest first."""

    def objects_in_status(
        self, status: ObjectStatus, created_before: dt.datetime, limit: int
    ) -> list[StorageObject]:
        """Objects in ``status`` created before a time, oldest first (for ``reconcile``)."""

    def objects_after(self, after_id: str | None, limit: int) -> list[ObjectEntry]:
        """Up to ``limit`` storage objects of every tenant and status with an id greater than
        ``after_id``, in id order, each with the state of its asset (for ``verify``)."""

    # -- derived assets (variants, lineage) -----------------------------------------------

    def get_variants_with_keys(
        self, tenant_id: str, asset_ids: Sequence[str], variant: str
    ) -> list[tuple[Asset, str]]:
        """The tenant's live assets that are the ``variant`` of one of ``asset_ids``
        (``variant_of`` among them), each with its storage object's key, in one query."""

    def derived_from(self, tenant_id: str, asset_id: str) -> list[Asset]:
        """The tenant's live assets derived from ``asset_id``: its variants (``variant_of``)
        and the edits made from it (``source_asset_id``), oldest first."""

    def set_placeholder(self, tenant_id: str, asset_id: str, placeholder: str) -> bool:
        """Set the placeholder of a live asset of the tenant (part of its ingest: its
        ``updated_at`` stays); False when there is no such asset."""

    # -- changes whose events the catalog builds -----------------------------------------

    def link_message(
        self,
        tenant_id: str,
        message_id: str,
        *,
        asset_ids: Sequence[str] | None,
        tool_call_ids: Sequence[str] | None,
        response_id: str | None,
        at: dt.datetime,
        linked: LinkedEvent,
    ) -> list[str]:
        """One transaction: set ``message_id`` (and ``updated_at = at``) on the tenant's live
        assets that match any selector and have no message yet, store ``linked(asset_id)``
        for each, and return their ids in id order. Raises ``AssetNotFound`` (writing
        nothing) when an id of ``asset_ids`` is not a live asset of the tenant."""

    def mark_deleted(
        self, tenant_id: str, asset_ids: Sequence[str], deleted: DeletedEvents
    ) -> DeleteResult:
        """One transaction, holding the assets against concurrent changes: for the tenant's
        live assets among ``asset_ids``, read the time of the latest event any of them has,
        call ``deleted(live_ids, latest)`` and store its events; soft-delete each asset at
        its event's time, move its ``stored`` object to ``deleting`` and take it out of its
        tenant's usage. The live variants of the given assets (``variant_of`` among them,
        also of ones deleted earlier) are deleted with them, in the same way; the edits made
        from them (``source_asset_id``) are not.

        Reports the ids deleted now, the ids the tenant never had (or that were purged), and
        every object of the given assets (also of ones deleted earlier) still waiting in
        ``deleting`` for its blob to go."""

    def finish_delete(self, object_ids: Sequence[str], at: dt.datetime) -> None:
        """Mark those of the objects that are ``deleting`` as ``deleted`` at ``at`` (their
        blobs are gone)."""

    def add_events(self, events: Sequence[AssetEvent]) -> None:
        """Append audit events about live assets, in one transaction that holds the assets
        against a concurrent delete; raises ``AssetNotFound`` (recording nothing) if one of
        them is no longer live, so no event ever follows an asset's ``deleted`` event. An
        event whose id is already stored is skipped, not stored twice (the catalog gives a
        repeated ``url_issued`` event the same id)."""

    def purge_deleted(
        self, before: dt.datetime, limit: int, purged: PurgedEvent
    ) -> tuple[int, int]:
        """One transaction: hard-delete up to ``limit`` storage objects that are ``deleted``
        or ``failed`` since before ``before`` (never one a live asset points at), with the
        soft-deleted assets that own them, storing ``purged(asset)`` for each asset removed
        (the rest of its trail stays). A concurrent purge never removes, or records, the same
        asset twice. Returns ``(assets purged, objects purged)``; ``(0, 0)`` when nothing is
        left."""

    def erase_deleted(
        self, tenant_id: str, user_id: str, erased: ErasedEvent
    ) -> tuple[list[str], int]:
        """One transaction, for an erasure: the tenant's assets of ``user_id`` that are
        deleted and whose objects are ``deleted`` or ``failed`` (their blobs gone) lose their
        events, their rows and their objects' rows, and get ``erased(asset_id)`` as their
        only event; every other event of the tenant whose actor is ``user_id`` gets no actor.
        Returns the ids erased (in id order; not those of variants, which are erased with
        their source all the same) and how many events lost their actor."""

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


class SignRequest(NamedTuple):
    """One URL asked of :meth:`BatchSigningStorage.sign_many`: the arguments of
    :meth:`BlobStorage.sign`."""

    key: str
    expires_in: int
    filename: str
    content_type: str
    disposition: str


@runtime_checkable
class BatchSigningStorage(Protocol):
    """Optional for a :class:`BlobStorage` that signs natively: many URLs in one pass.

    ``presign_many`` calls ``sign_many`` when the storage has it, and ``sign`` per URL
    otherwise, so a storage without it keeps working unchanged.
    """

    def sign_many(self, requests: Sequence[SignRequest]) -> Sequence[str | None]:
        """One URL (or None, as :meth:`BlobStorage.sign` would return) per request, in order.
        Raising :class:`~asset_catalog.exceptions.StorageError` fails the whole batch: the
        catalog then asks :meth:`BlobStorage.sign` URL by URL."""
