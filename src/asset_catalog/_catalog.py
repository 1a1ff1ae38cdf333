"""The facade: the one object a host needs.

Ingest lives in :mod:`._ingest`, downloads in :mod:`._downloads` and the maintenance calls
in :mod:`._maintenance`; this module holds the catalog itself, reads, links and deletes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence

import attrs

from ._downloads import DownloadsMixin
from ._ids import from_micros, to_micros, utcnow
from ._ingest import IngestMixin
from ._inputs import (
    aware_datetime,
    enum_value,
    host_id,
    id_list,
    optional_host_id,
    plausible_id,
)
from ._maintenance import purge, reconcile, verify
from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    Page,
    PurgeReport,
    ReconcileReport,
    SourceTool,
    StorageObject,
    VerifyProgress,
    VerifyReport,
)
from ._signing import UrlSigner
from .exceptions import AssetNotFound, InvalidCursor, InvalidInput, SignatureError
from .protocols import AssetQuery, AssetRepository, BlobStorage, Position

__all__ = ["AssetCatalog"]

DEFAULT_MAX_BYTES = 1024**3
MAX_LIST_LIMIT = 500
_BATCH = 500


def _fingerprint(query: AssetQuery) -> str:
    """A stable text form of the filters, bound into cursors."""
    parts = [
        query.asset_type.value if query.asset_type else "",
        query.source_tool.value if query.source_tool else "",
        query.conversation_id or "",
        query.message_id or "",
        query.agent_key or "",
        query.mime_prefix or "",
        query.created_after.isoformat() if query.created_after else "",
        query.created_before.isoformat() if query.created_before else "",
    ]
    return "\x1f".join(f"{len(p)}:{p}" for p in parts)


@attrs.define
class AssetCatalog(IngestMixin, DownloadsMixin):
    """A tenant-scoped catalog of agent-generated images and files.

    Build one with :func:`~asset_catalog.open_catalog`, or pass the collaborators::

        AssetCatalog(repository=SqliteRepository("sqlite:///assets.db"),
                     storage=FsspecStorage.from_url("file://./asset-blobs"),
                     signer=UrlSigner(secret))

    Every call takes the ``tenant_id`` first and never returns another tenant's data. The
    catalog is thread-safe as far as its repository and storage are (both built-ins are).
    """

    _repository: AssetRepository = attrs.field(alias="repository")
    _storage: BlobStorage = attrs.field(alias="storage")
    _signer: UrlSigner = attrs.field(alias="signer")
    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest content accepted, in bytes; checked while streaming."""
    clock: Callable[[], dt.datetime] = utcnow
    """Source of timestamps (timezone-aware UTC); replace it in tests."""

    @property
    def repository(self) -> AssetRepository:
        """Where the rows live."""
        return self._repository

    @property
    def storage(self) -> BlobStorage:
        """Where the bytes live."""
        return self._storage

    @property
    def signer(self) -> UrlSigner:
        """What signs download tokens and list cursors."""
        return self._signer

    def close(self) -> None:
        """Release the repository's connections."""
        self._repository.close()

    # -- linking --------------------------------------------------------------------------

    def link_message(
        self,
        tenant_id: str,
        message_id: str,
        *,
        asset_ids: Sequence[str] | None = None,
        tool_call_ids: Sequence[str] | None = None,
        response_id: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Attach assets to a persisted message, by asset ids, tool call ids or response id.

        Never moves an asset already linked to a message; idempotent. Returns how many assets
        this call linked. An id in ``asset_ids`` that is not a live asset of the tenant raises
        :class:`AssetNotFound` and links nothing.
        """
        tenant = host_id(tenant_id, "tenant_id")
        message = host_id(message_id, "message_id")
        ids = id_list(asset_ids, "asset_ids")
        calls = id_list(tool_call_ids, "tool_call_ids")
        response = optional_host_id(response_id, "response_id")
        if not ids and not calls and response is None:
            raise InvalidInput("asset_ids", "give asset_ids, tool_call_ids or response_id")
        linked = self._repository.link_message(
            tenant,
            message,
            asset_ids=ids,
            tool_call_ids=calls,
            response_id=response,
            at=self.clock(),
            actor=optional_host_id(actor, "actor"),
        )
        return len(linked)

    # -- reads ----------------------------------------------------------------------------

    def get(self, tenant_id: str, asset_id: str) -> Asset:
        """One live asset of the tenant, or :class:`AssetNotFound`."""
        tenant = host_id(tenant_id, "tenant_id")
        asset = self._lookup(tenant, asset_id)
        if asset is None:
            raise AssetNotFound(str(asset_id))
        return asset

    def _lookup(self, tenant_id: str, asset_id: object) -> Asset | None:
        if not plausible_id(asset_id):
            return None
        assert isinstance(asset_id, str)
        return self._repository.get_asset(tenant_id, asset_id)

    def list(
        self,
        tenant_id: str,
        *,
        asset_type: AssetType | str | None = None,
        source_tool: SourceTool | str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        agent_key: str | None = None,
        mime_prefix: str | None = None,
        created_after: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Live assets, newest first, one page at a time.

        Filters combine with AND. ``mime_prefix`` is a literal prefix (``%`` and ``_`` match
        themselves); ``created_after`` and ``created_before`` are exclusive bounds. ``limit``
        is 1 to 500. Pass ``next_cursor`` of a page as ``cursor`` to get the next one, with
        the same filters; a cursor that is malformed, tampered with or made for other filters
        raises :class:`InvalidCursor`.
        """
        tenant = host_id(tenant_id, "tenant_id")
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= MAX_LIST_LIMIT
        ):
            raise InvalidInput("limit", f"must be an integer from 1 to {MAX_LIST_LIMIT}")
        if mime_prefix is not None and (
            not isinstance(mime_prefix, str)
            or len(mime_prefix) > 255
            or not (mime_prefix.isascii() and mime_prefix.isprintable())
        ):
            raise InvalidInput("mime_prefix", "must be printable ASCII of at most 255 characters")
        query = AssetQuery(
            asset_type=enum_value(AssetType, asset_type, "asset_type"),
            source_tool=enum_value(SourceTool, source_tool, "source_tool"),
            conversation_id=optional_host_id(conversation_id, "conversation_id"),
            message_id=optional_host_id(message_id, "message_id"),
            agent_key=optional_host_id(agent_key, "agent_key"),
            mime_prefix=mime_prefix.lower() if mime_prefix else None,
            created_after=aware_datetime(created_after, "created_after"),
            created_before=aware_datetime(created_before, "created_before"),
        )
        scope = hashlib.sha256(
            f"{len(tenant)}:{tenant}|{_fingerprint(query)}".encode()
        ).hexdigest()[:32]
        after = self._decode_cursor(cursor, scope) if cursor is not None else None
        rows = self._repository.list_assets(tenant, query, after, limit + 1)
        items = tuple(rows[:limit])
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            micros = to_micros(last.created_at)
            next_cursor = self._signer.sign("cursor", {"s": scope, "t": micros, "i": last.id})
        return Page(items=items, next_cursor=next_cursor)

    def _decode_cursor(self, cursor: object, scope: str) -> Position:
        try:
            payload = self._signer.verify("cursor", cursor)
        except SignatureError as exc:
            raise InvalidCursor("malformed or tampered cursor") from exc
        if payload.get("s") != scope:
            raise InvalidCursor("cursor was made for another tenant or other filters")
        micros, last_id = payload.get("t"), payload.get("i")
        if not isinstance(micros, int) or not isinstance(last_id, str):
            raise InvalidCursor("malformed cursor")
        try:
            created_at = from_micros(micros)
        except OverflowError:
            raise InvalidCursor("malformed cursor") from None
        return Position(created_at=created_at, id=last_id)

    def events(self, tenant_id: str, asset_id: str) -> tuple[AssetEvent, ...]:
        """The audit trail of an asset (also after it was deleted), oldest first."""
        tenant = host_id(tenant_id, "tenant_id")
        if not plausible_id(asset_id):
            return ()
        return tuple(self._repository.events_for(tenant, asset_id))

    # -- deletes --------------------------------------------------------------------------

    def delete(self, tenant_id: str, asset_id: str, *, actor: str | None = None) -> bool:
        """Soft-delete an asset and delete its blob; audited; idempotent.

        Returns True if this call deleted it, False if it was already deleted. An id the
        tenant never had raises :class:`AssetNotFound`. If the blob store fails, the asset is
        already invisible and :class:`StorageError` is raised; calling ``delete`` again, or
        ``reconcile()``, removes the blob.
        """
        tenant = host_id(tenant_id, "tenant_id")
        if not plausible_id(asset_id):
            raise AssetNotFound(str(asset_id))
        result = self._repository.mark_deleted(
            tenant, [asset_id], self.clock(), optional_host_id(actor, "actor")
        )
        if result.missing:
            raise AssetNotFound(asset_id)
        self._remove_blobs(result.objects)
        return bool(result.deleted)

    def delete_conversation(
        self, tenant_id: str, conversation_id: str, *, actor: str | None = None
    ) -> int:
        """Delete every asset of a conversation (as :meth:`delete` does each); returns how
        many this call deleted."""
        tenant = host_id(tenant_id, "tenant_id")
        conversation = host_id(conversation_id, "conversation_id")
        who = optional_host_id(actor, "actor")
        total = 0
        while True:
            ids = self._repository.asset_ids_in_conversation(tenant, conversation, _BATCH)
            if not ids:
                return total
            result = self._repository.mark_deleted(tenant, ids, self.clock(), who)
            total += len(result.deleted)
            self._remove_blobs(result.objects)

    def _remove_blobs(self, objects: Iterable[StorageObject]) -> None:
        done: list[str] = []
        try:
            for obj in objects:
                self._storage.delete(obj.key)
                done.append(obj.id)
        finally:
            # Whatever was removed is recorded; the rest stays `deleting` for reconcile().
            self._repository.finish_delete(done, self.clock())

    # -- repair ---------------------------------------------------------------------------

    def reconcile(self, *, older_than: dt.timedelta = dt.timedelta(hours=1)) -> ReconcileReport:
        """Finish what a crash left behind.

        ``pending`` objects older than ``older_than`` (an ingest that died mid-way) lose their
        blob and become ``failed``; ``deleting`` objects (a delete that died between its
        transaction and the blob removal) lose their blob and become ``deleted``. Keep
        ``older_than`` above your longest upload. Safe to run at any time, from any number of
        processes.
        """
        return reconcile(self._repository, self._storage, self.clock, older_than)

    def verify(
        self,
        *,
        checksums: bool = True,
        progress: Callable[[VerifyProgress], object] | None = None,
        max_findings: int = 1000,
    ) -> VerifyReport:
        """Check the whole catalog against its storage and report what is wrong; read-only.

        Every ``stored`` object must have its blob with the recorded size and (when
        ``checksums``, streamed through sha256) content, and belong to a live asset; every
        blob must be claimed by a ``pending``/``stored``/``deleting`` row. Rows and blobs are
        walked in batches of 500, so memory stays bounded; ``progress`` is called after each
        batch. At most ``max_findings`` findings are kept; ``counts`` is always exact.
        Raises :class:`StorageError` if the storage cannot be read.
        """
        return verify(
            self._repository,
            self._storage,
            checksums=bool(checksums),
            progress=progress,
            max_findings=max_findings,
        )

    def purge(self, older_than: dt.timedelta, *, actor: str | None = None) -> PurgeReport:
        """Hard-delete the rows of assets deleted more than ``older_than`` ago (and of
        ingests that failed that long ago). Their blobs are already gone.

        Each purged asset gets a last ``purged`` event with its size and sha256; the audit
        trail itself is kept. Objects still ``deleting`` are left for :meth:`reconcile`.
        Idempotent: a second run purges nothing.
        """
        return purge(self._repository, self.clock, older_than, optional_host_id(actor, "actor"))
