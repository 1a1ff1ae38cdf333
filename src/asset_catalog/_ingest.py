"""Ingest: the protocol of DESIGN section 4 behind the three ``ingest_*`` calls.

(1) a known idempotency key returns the existing asset; (2) a ``pending`` row is committed
before any byte is written; (3) the content streams to storage while being hashed, counted and
size-checked; (4) one transaction publishes the object, the asset and its ``created`` event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

from ._content.filenames import clean_filename
from ._content.mimetypes import extension_for, resolve_mime
from ._content.sniff import Sniffed, sniff
from ._ids import new_id
from ._inputs import (
    chunks_of,
    decode_image,
    enum_value,
    host_id,
    json_metadata,
    optional_host_id,
    storable_text,
)
from ._keys import object_key
from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    EventKind,
    ObjectStatus,
    SourceTool,
    StorageObject,
)
from ._streams import Meter, read_head
from .exceptions import AssetCatalogError, DuplicateKeyError, InvalidContent, InvalidInput
from .protocols import AssetRepository, BlobStorage

__all__ = ["IngestMixin"]

_IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp", "gif": "gif"}


class IngestMixin:
    """The ingest calls of :class:`~asset_catalog.AssetCatalog`."""

    __slots__ = ()
    _repository: AssetRepository
    _storage: BlobStorage
    max_bytes: int
    clock: Callable[[], dt.datetime]

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
                meta[name] = storable_text(value, name)
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
                event=EventKind.CREATED,
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
