"""The facade: the one object a host needs."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

import attrs

from ._content.filenames import clean_filename, content_disposition
from ._content.mimetypes import extension_for, resolve_mime
from ._content.sniff import Sniffed, sniff
from ._headers import choose_disposition, download_headers
from ._ids import from_micros, new_id, to_micros, utcnow
from ._inputs import (
    aware_datetime,
    chunks_of,
    decode_image,
    enum_value,
    host_id,
    json_metadata,
    optional_host_id,
)
from ._keys import object_key
from ._maintenance import purge, reconcile, verify
from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    Download,
    ObjectStatus,
    Page,
    PresignBatch,
    PresignedUrl,
    PurgeReport,
    ReconcileReport,
    SourceTool,
    StorageObject,
    VerifyProgress,
    VerifyReport,
)
from ._protocols import AssetRepository, BlobStorage
from ._query import AssetQuery, Position
from ._signing import UrlSigner
from ._streams import Meter, read_head
from .exceptions import (
    AssetCatalogError,
    AssetNotFound,
    DuplicateKeyError,
    InvalidContent,
    InvalidCursor,
    InvalidInput,
    SignatureError,
    StorageError,
)

__all__ = ["AssetCatalog"]

DEFAULT_MAX_BYTES = 1024**3
MAX_LIST_LIMIT = 500
MAX_PRESIGN_BATCH = 100
MAX_EXPIRES_IN = 7 * 24 * 3600
_BATCH = 500
_IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp", "gif": "gif"}


@attrs.define
class AssetCatalog:
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

    def close(self) -> None:
        """Release the repository's connections."""
        self._repository.close()

    # -- ingest ---------------------------------------------------------------------------

    def ingest_image(
        self,
        tenant_id: str,
        image: Any,
        *,
        conversation_id: str | None = None,
        tool_call_id: str | None = None,
        response_id: str | None = None,
        message_id: str | None = None,
        agent_key: str | None = None,
        user_id: str | None = None,
        format: str | None = None,
        quality: str | None = None,
        background: str | None = None,
        size: str | None = None,
        revised_prompt: str | None = None,
        filename: str | None = None,
        source_tool: SourceTool | str = SourceTool.IMAGE_GENERATION,
        metadata: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Catalogue an image: bytes, base64 text (as ``image_generation`` returns it) or a
        binary stream.

        The bytes must really be a PNG, JPEG, WebP or GIF (checked by structure, not by
        name); width and height come from the header. Idempotent on
        ``(tenant_id, tool_call_id)``: the same tool call returns the same asset and writes
        no second blob. ``format`` (png/jpeg/webp), ``quality``, ``background``, ``size`` and
        ``revised_prompt`` are recorded in the metadata; a ``format`` that disagrees with the
        bytes is refused.
        """
        tenant = host_id(tenant_id, "tenant_id")
        tool_call = optional_host_id(tool_call_id, "tool_call_id")
        meta = json_metadata(metadata)
        for name, value in (
            ("quality", quality),
            ("background", background),
            ("size", size),
            ("revised_prompt", revised_prompt),
        ):
            if value is not None:
                if not isinstance(value, str) or len(value) > 32_000:
                    raise InvalidInput(name, "must be a string of at most 32000 characters")
                meta[name] = value
        declared_format: str | None = None
        if format is not None:
            if not isinstance(format, str) or format.lower() not in _IMAGE_FORMATS:
                raise InvalidInput("format", "must be one of png, jpeg, webp, gif")
            declared_format = _IMAGE_FORMATS[format.lower()]
        if isinstance(image, str):
            chunks = chunks_of(decode_image(image, self.max_bytes), "image", self.max_bytes)
        else:
            chunks = chunks_of(image, "image", self.max_bytes)
        return self._ingest(
            tenant,
            chunks,
            field="image",
            require_image=True,
            declared_format=declared_format,
            filename=clean_filename(filename) if filename is not None else None,
            declared_mime=None,
            idempotency_key=f"image_generation:{tool_call}" if tool_call else None,
            source_tool=enum_value(SourceTool, source_tool, "source_tool")
            or SourceTool.IMAGE_GENERATION,
            metadata=meta,
            ids={
                "conversation_id": conversation_id,
                "tool_call_id": tool_call,
                "response_id": response_id,
                "message_id": message_id,
                "agent_key": agent_key,
                "user_id": user_id,
            },
        )

    def ingest_container_file(
        self,
        tenant_id: str,
        content: Any,
        *,
        container_id: str,
        file_id: str,
        filename: str,
        conversation_id: str | None = None,
        response_id: str | None = None,
        tool_call_id: str | None = None,
        message_id: str | None = None,
        agent_key: str | None = None,
        user_id: str | None = None,
        mime_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Catalogue a Code Interpreter container file, streamed (bytes, a binary file
        object or an iterable of chunks), never held whole in memory.

        The filename is checked (a path prefix such as ``/mnt/data/`` is dropped; traversal,
        control and bidi characters are refused); the type comes from the content first, the
        extension second and the declared ``mime_type`` last. An image file becomes an
        ``image`` asset with its dimensions. Idempotent on
        ``(tenant_id, container_id, file_id)``.
        """
        tenant = host_id(tenant_id, "tenant_id")
        container = host_id(container_id, "container_id")
        file = host_id(file_id, "file_id")
        return self._ingest(
            tenant,
            chunks_of(content, "content", self.max_bytes),
            field="content",
            require_image=False,
            declared_format=None,
            filename=clean_filename(filename),
            declared_mime=mime_type,
            idempotency_key=f"code_interpreter:{len(container)}:{container}:{file}",
            source_tool=SourceTool.CODE_INTERPRETER,
            metadata=json_metadata(metadata),
            ids={
                "conversation_id": conversation_id,
                "tool_call_id": tool_call_id,
                "response_id": response_id,
                "message_id": message_id,
                "agent_key": agent_key,
                "user_id": user_id,
                "container_id": container,
                "openai_file_id": file,
            },
        )

    def ingest_upload(
        self,
        tenant_id: str,
        content: Any,
        *,
        filename: str,
        user_id: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        openai_file_id: str | None = None,
        mime_type: str | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Catalogue a file a user uploaded (same checks as container files).

        Pass an ``idempotency_key`` (e.g. the upload request id) to make retries safe.
        """
        tenant = host_id(tenant_id, "tenant_id")
        key = optional_host_id(idempotency_key, "idempotency_key")
        return self._ingest(
            tenant,
            chunks_of(content, "content", self.max_bytes),
            field="content",
            require_image=False,
            declared_format=None,
            filename=clean_filename(filename),
            declared_mime=mime_type,
            idempotency_key=f"user_upload:{key}" if key else None,
            source_tool=SourceTool.USER_UPLOAD,
            metadata=json_metadata(metadata),
            ids={
                "conversation_id": conversation_id,
                "message_id": message_id,
                "user_id": user_id,
                "openai_file_id": openai_file_id,
            },
        )

    def _ingest(
        self,
        tenant_id: str,
        chunks: Iterator[bytes],
        *,
        field: str,
        require_image: bool,
        declared_format: str | None,
        filename: str | None,
        declared_mime: str | None,
        idempotency_key: str | None,
        source_tool: SourceTool,
        metadata: dict[str, Any],
        ids: Mapping[str, str | None],
    ) -> Asset:
        host_ids = {name: optional_host_id(value, name) for name, value in ids.items()}
        if declared_mime is not None and not isinstance(declared_mime, str):
            raise InvalidInput("mime_type", "must be a string")

        # Long keys (up to three 255-character host ids) are hashed, so every key fits any
        # database's index entry limit (PostgreSQL's is ~2.7 kB).
        if idempotency_key is not None and len(idempotency_key.encode("utf-8")) > 255:
            digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
            idempotency_key = f"sha256:{digest}"

        # (1) A known idempotency key returns the existing asset: no second blob.
        if idempotency_key is not None:
            existing = self._repository.find_by_idempotency_key(tenant_id, idempotency_key)
            if existing is not None:
                return existing

        head, stream = read_head(chunks, self.max_bytes, field)
        if not head:
            raise InvalidContent(field, "is empty")
        sniffed = sniff(head)
        kind = self._classify(sniffed, field, require_image, declared_format)
        mime = (
            sniffed.image.mime_type
            if sniffed.image
            else resolve_mime(sniffed, filename, declared_mime)
        )
        now = self.clock()
        object_id = new_id()
        extension = extension_for(mime)
        name = filename if filename is not None else f"image-{object_id[:13]}.{extension}"
        key = object_key(tenant_id, now, object_id, extension)

        # (2) The pending row is durable before any byte is written.
        self._repository.add_pending_object(
            StorageObject(
                id=object_id,
                tenant_id=tenant_id,
                key=key,
                filename=name,
                mime_type=mime,
                status=ObjectStatus.PENDING,
                created_at=now,
            )
        )
        asset: Asset | None = None
        try:
            # (3) Stream to storage while hashing and counting.
            meter = Meter(stream, self.max_bytes, field)
            self._storage.write(key, meter)
            asset = Asset(
                id=new_id(),
                tenant_id=tenant_id,
                storage_object_id=object_id,
                asset_type=kind,
                source_tool=source_tool,
                filename=name,
                mime_type=mime,
                size_bytes=meter.size,
                sha256=meter.sha256.hexdigest(),
                created_at=now,
                updated_at=now,
                width=sniffed.image.width if sniffed.image else None,
                height=sniffed.image.height if sniffed.image else None,
                metadata={
                    **metadata,
                    **({"format": sniffed.image.format} if sniffed.image else {}),
                },
                idempotency_key=idempotency_key,
                **cast(Any, host_ids),
            )
            created = AssetEvent(
                id=new_id(),
                tenant_id=tenant_id,
                asset_id=asset.id,
                event="created",
                at=now,
                actor=host_ids.get("user_id") or host_ids.get("agent_key"),
                details={"size_bytes": asset.size_bytes, "sha256": asset.sha256},
            )
            # (4) One transaction: object stored, asset and its event inserted.
            self._repository.complete_ingest(asset, created)
        except DuplicateKeyError:
            # Lost a race on the idempotency key: the winner's asset is the answer.
            self._abandon(key, object_id)
            if idempotency_key is not None:
                winner = self._repository.find_by_idempotency_key(tenant_id, idempotency_key)
                if winner is not None:
                    return winner
            raise
        except BaseException as exc:
            # A lost connection can report an error for a transaction that did commit: the
            # asset then exists, and this ingest succeeded after all.
            committed = self._abandon(key, object_id)
            if committed and asset is not None and isinstance(exc, Exception):
                return asset
            raise
        return asset

    @staticmethod
    def _classify(
        sniffed: Sniffed, field: str, require_image: bool, declared_format: str | None
    ) -> AssetType:
        if sniffed.image is None:
            if require_image:
                what = sniffed.mime_type or "unrecognised binary data"
                raise InvalidContent(
                    field, f"is not a PNG, JPEG, WebP or GIF image (looks like {what})"
                )
            return AssetType.FILE
        if declared_format is not None and declared_format != sniffed.image.format:
            raise InvalidContent(
                "format", f"says {declared_format!r} but the bytes are {sniffed.image.format!r}"
            )
        return AssetType.IMAGE

    def _abandon(self, key: str, object_id: str) -> bool:
        """Clean up after a failed ingest: remove the blob, then mark the row ``failed``.

        The row is read first. If it is ``stored``, the final transaction committed before
        the error reached us: the blob stays and True is returned. If the row cannot be read
        or a step fails, the row stays ``pending`` and ``reconcile()`` finishes the job; the
        original error is what the caller sees.
        """
        try:
            obj = self._repository.get_object(object_id)
            if obj is not None and obj.status is ObjectStatus.STORED:
                return True
            self._storage.delete(key)
            self._repository.mark_object_failed(object_id, self.clock())
        except AssetCatalogError:
            pass
        return False

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
        ids = self._id_list(asset_ids, "asset_ids")
        calls = self._id_list(tool_call_ids, "tool_call_ids")
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

    @staticmethod
    def _id_list(values: Iterable[str] | None, field: str, limit: int = 1000) -> list[str]:
        if values is None:
            return []
        if isinstance(values, str):
            raise InvalidInput(field, "must be a list of ids, not a single string")
        ids = list(dict.fromkeys(host_id(v, field) for v in values))
        if len(ids) > limit:
            raise InvalidInput(field, f"at most {limit} ids per call")
        return ids

    # -- reads ----------------------------------------------------------------------------

    def get(self, tenant_id: str, asset_id: str) -> Asset:
        """One live asset of the tenant, or :class:`AssetNotFound`."""
        tenant = host_id(tenant_id, "tenant_id")
        asset = self._lookup(tenant, asset_id)
        if asset is None:
            raise AssetNotFound(str(asset_id))
        return asset

    def _lookup(self, tenant_id: str, asset_id: object) -> Asset | None:
        if not _plausible_id(asset_id):
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
            f"{len(tenant)}:{tenant}|{query.fingerprint()}".encode()
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
        if not _plausible_id(asset_id):
            return ()
        return tuple(self._repository.events_for(tenant, asset_id))

    # -- downloads ------------------------------------------------------------------------

    def presign(
        self,
        tenant_id: str,
        asset_id: str,
        *,
        expires_in: int = 900,
        disposition: Literal["inline", "attachment"] | None = None,
        actor: str | None = None,
    ) -> PresignedUrl:
        """A time-limited download URL for one asset (audited as ``url_issued``).

        The storage's native presigning is used where it exists (S3); otherwise the URL
        carries the catalog's signed token, to be served by a host route that calls
        :meth:`open_signed`. Active content (HTML, SVG, JavaScript ...) is always an
        ``attachment``.
        """
        tenant = host_id(tenant_id, "tenant_id")
        key: str | None = None
        if _may_sign_natively(self._storage):
            # One query for the asset and its blob key.
            pairs = (
                self._repository.get_assets_with_keys(tenant, [asset_id])
                if _plausible_id(asset_id)
                else []
            )
            asset, key = pairs[0] if pairs else (None, None)
        else:
            asset = self._lookup(tenant, asset_id)
        if asset is None:
            raise AssetNotFound(str(asset_id))
        seconds = self._expiry(expires_in)
        requested = self._disposition(disposition)
        url, event = self._issue(asset, key, seconds, requested, optional_host_id(actor, "actor"))
        self._repository.add_events([event])
        return url

    def presign_many(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        *,
        expires_in: int = 900,
        disposition: Literal["inline", "attachment"] | None = None,
        actor: str | None = None,
    ) -> PresignBatch:
        """Download URLs for up to 100 assets with one repository query (thumbnail grids).

        Every id gets one answer: a URL in ``urls``; or ``missing`` when it is not a live
        asset of the tenant; or ``unsupported`` when the storage failed to sign it natively
        (the rest of the batch is still answered). More than 100 ids is ``InvalidInput``.
        """
        tenant = host_id(tenant_id, "tenant_id")
        ids = self._id_list(asset_ids, "asset_ids", limit=MAX_PRESIGN_BATCH)
        seconds = self._expiry(expires_in)
        requested = self._disposition(disposition)
        who = optional_host_id(actor, "actor")
        native = _may_sign_natively(self._storage)
        while True:
            found: dict[str, tuple[Asset, str | None]]
            if native:
                found = {
                    a.id: (a, key) for a, key in self._repository.get_assets_with_keys(tenant, ids)
                }
            else:
                found = {a.id: (a, None) for a in self._repository.get_assets(tenant, ids)}
            urls: dict[str, PresignedUrl] = {}
            unsupported: list[str] = []
            events: list[AssetEvent] = []
            for asset_id in ids:
                if asset_id not in found or asset_id in urls or asset_id in unsupported:
                    continue
                asset, key = found[asset_id]
                try:
                    urls[asset_id], event = self._issue(asset, key, seconds, requested, who)
                except StorageError:
                    unsupported.append(asset_id)
                    continue
                events.append(event)
            try:
                self._repository.add_events(events)
            except AssetNotFound:
                # One was deleted since it was read (nothing was recorded): read them again,
                # so it is reported missing. Each round has one live asset fewer.
                continue
            break
        return PresignBatch(
            urls=urls,
            missing=tuple(i for i in ids if i not in found),
            unsupported=tuple(unsupported),
        )

    @staticmethod
    def _expiry(expires_in: object) -> int:
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
            or not 1 <= expires_in <= MAX_EXPIRES_IN
        ):
            raise InvalidInput("expires_in", f"must be whole seconds from 1 to {MAX_EXPIRES_IN}")
        return expires_in

    @staticmethod
    def _disposition(value: object) -> Literal["inline", "attachment"] | None:
        if value is None or value == "inline" or value == "attachment":  # noqa: PLR1714 - narrows
            return value
        raise InvalidInput("disposition", "must be 'inline' or 'attachment'")

    def _issue(
        self,
        asset: Asset,
        key: str | None,
        expires_in: int,
        requested: Literal["inline", "attachment"] | None,
        actor: str | None,
    ) -> tuple[PresignedUrl, AssetEvent]:
        """One URL for ``asset``; natively signed when the storage can sign and ``key`` (the
        blob's key, read with the asset) is known, else a catalog token. No query here."""
        now = self.clock()
        disposition = choose_disposition(asset.mime_type, requested)
        expires_at = int(now.timestamp()) + expires_in
        native: str | None = None
        if key is not None and _may_sign_natively(self._storage):
            native = self._storage.sign(
                key,
                expires_in=expires_in,
                filename=asset.filename,
                content_type=asset.mime_type,
                disposition=content_disposition(asset.filename, disposition),
            )
        if native is not None:
            url = PresignedUrl(
                url=native,
                method="GET",
                headers={},
                expires_at=dt.datetime.fromtimestamp(expires_at, dt.UTC),
                kind="native",
            )
        else:
            token = self._signer.sign(
                "download",
                {"t": asset.tenant_id, "a": asset.id, "exp": expires_at, "d": disposition},
            )
            url = PresignedUrl(
                url=self._signer.url_for(token),
                method="GET",
                headers={},
                expires_at=dt.datetime.fromtimestamp(expires_at, dt.UTC),
                kind="catalog",
                token=token,
            )
        event = AssetEvent(
            id=new_id(),
            tenant_id=asset.tenant_id,
            asset_id=asset.id,
            event="url_issued",
            at=now,
            actor=actor,
            details={"kind": url.kind, "expires_at": expires_at, "disposition": disposition},
        )
        return url, event

    def open_signed(self, token: str, *, actor: str | None = None) -> Download:
        """Serve a catalog-signed download: verify the token, then return the asset, an open
        stream of its bytes (close it) and the response headers to send.

        Raises :class:`BadSignature` / :class:`SignatureExpired` for a token to refuse and
        :class:`AssetNotFound` when the asset is gone. Audited as ``downloaded``.
        """
        payload = self._signer.verify("download", token, now=self.clock().timestamp())
        tenant, asset_id, disposition = payload.get("t"), payload.get("a"), payload.get("d")
        if (
            not isinstance(tenant, str)
            or not isinstance(asset_id, str)
            or disposition not in {"inline", "attachment"}
        ):
            raise InvalidInput("token", "token payload is malformed")
        asset = self._repository.get_asset(tenant, asset_id)
        obj = self._repository.get_object(asset.storage_object_id) if asset else None
        if asset is None or obj is None or obj.status is not ObjectStatus.STORED:
            raise AssetNotFound(asset_id)
        stream = self._storage.open(obj.key)
        try:
            self._repository.add_events(
                [
                    AssetEvent(
                        id=new_id(),
                        tenant_id=tenant,
                        asset_id=asset_id,
                        event="downloaded",
                        at=self.clock(),
                        actor=optional_host_id(actor, "actor"),
                    )
                ]
            )
        except BaseException:
            stream.close()
            raise
        return Download(
            asset, stream, download_headers(asset, choose_disposition(asset.mime_type, disposition))
        )

    # -- deletes --------------------------------------------------------------------------

    def delete(self, tenant_id: str, asset_id: str, *, actor: str | None = None) -> bool:
        """Soft-delete an asset and delete its blob; audited; idempotent.

        Returns True if this call deleted it, False if it was already deleted. An id the
        tenant never had raises :class:`AssetNotFound`. If the blob store fails, the asset is
        already invisible and :class:`StorageError` is raised; calling ``delete`` again, or
        ``reconcile()``, removes the blob.
        """
        tenant = host_id(tenant_id, "tenant_id")
        if not _plausible_id(asset_id):
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


def _plausible_id(asset_id: object) -> bool:
    """Whether a value could be an asset id at all; anything else is simply not found.

    Never raises for odd text (NUL, control characters, 10 kB ids), which some databases would
    refuse with an error of their own.
    """
    if not isinstance(asset_id, str):
        raise InvalidInput("asset_id", "must be a string")
    return 0 < len(asset_id) <= 64 and asset_id.isprintable()


def _may_sign_natively(storage: BlobStorage) -> bool:
    return bool(storage.can_sign)
