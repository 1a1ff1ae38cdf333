"""The ingest protocol behind the three ``ingest_*`` calls.

(1) A known idempotency key returns the existing asset; (2) a ``pending`` row is committed
before any byte is written; (3) the content streams to storage while being hashed, counted
and size-checked; (4) one transaction publishes the object, the asset and its ``created``
event. Any failure after (2) removes the blob and marks the row ``failed`` (see
:mod:`.lifecycle`), unless the publishing transaction turns out to have committed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import attrs

from .._content.images import ImageInfo
from .._content.mimetypes import extension_for, resolve_mime
from .._content.sniff import Sniffed, sniff
from .._ids import new_id
from .._models import Asset, AssetType, ObjectStatus, SourceTool, StorageObject
from ..exceptions import AssetNotFound, DuplicateKeyError, InvalidContent
from . import lifecycle
from .context import Context
from .keys import object_key
from .streams import Meter, read_head

__all__ = [
    "IngestRequest",
    "container_file_key",
    "find",
    "image_key",
    "ingest",
    "upload_key",
    "variant_key",
]


# -- idempotency keys: what makes a retry return the asset it made the first time ----------


def image_key(tool_call_id: str, output_index: int | None = None) -> str:
    """An image of a tool call: the call's one image, or its ``output_index``-th."""
    if output_index is None:
        return f"image_generation:{tool_call_id}"
    return f"image:{len(tool_call_id)}:{tool_call_id}:{output_index}"


def container_file_key(container_id: str, file_id: str) -> str:
    """A Code Interpreter container file."""
    return f"code_interpreter:{len(container_id)}:{container_id}:{file_id}"


def upload_key(key: str) -> str:
    """A host's own idempotency key for an upload."""
    return f"user_upload:{key}"


def variant_key(asset_id: str, variant: str) -> str:
    """A variant (a thumbnail) of an asset: made once, however often it is asked for."""
    return f"variant:{asset_id}:{variant}"


def _stored_key(key: str) -> str:
    """The key as stored: long keys (up to three 255-character host ids) are hashed, so every
    key fits any database's index entry limit (PostgreSQL's is ~2.7 kB)."""
    if len(key.encode("utf-8")) > 255:
        return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


def find(ctx: Context, tenant_id: str, key: str) -> Asset | None:
    """The live asset an ingest with this idempotency key made, without touching storage."""
    return ctx.repository.find_by_idempotency_key(tenant_id, _stored_key(key))


@attrs.frozen
class IngestRequest:
    """One validated ingest: what to store and what to record about it."""

    tenant_id: str
    chunks: Iterator[bytes]
    field: str
    """The argument the content came in (``image`` or ``content``), named by errors."""
    source_tool: SourceTool
    require_image: bool = False
    declared_format: str | None = None
    filename: str | None = None
    """The clean filename; None gives ``image-<id>.<ext>`` (``file-<id>.<ext>`` for a file)."""
    declared_mime: str | None = None
    idempotency_key: str | None = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    host_ids: Mapping[str, str | None] = attrs.field(factory=dict)
    """The asset's host identifiers (``conversation_id``, ``tool_call_id`` ...)."""
    source_asset_id: str | None = None
    """The image this one was edited from: a live asset of the tenant (checked)."""
    variant_of: str | None = None
    """For a variant: the asset it is derived from (then ``variant`` names it)."""
    variant: str | None = None


def ingest(ctx: Context, request: IngestRequest) -> Asset:
    """Run the ingest protocol for ``request`` and return the asset (new or existing)."""
    repository, tenant_id = ctx.repository, request.tenant_id
    key = _stored_key(request.idempotency_key) if request.idempotency_key else None

    # (1) A known idempotency key returns the existing asset: no second blob.
    if key is not None:
        existing = repository.find_by_idempotency_key(tenant_id, key)
        if existing is not None:
            return existing

    source = request.source_asset_id
    if source is not None and repository.get_asset(tenant_id, source) is None:
        raise AssetNotFound(source)

    head, stream = read_head(request.chunks, ctx.max_bytes, request.field)
    if not head:
        raise InvalidContent(request.field, "is empty")
    sniffed = sniff(head)
    kind = _classify(sniffed, request)
    image = sniffed.image
    mime = (
        image.mime_type if image else resolve_mime(sniffed, request.filename, request.declared_mime)
    )
    now = ctx.clock()
    object_id = new_id()
    extension = extension_for(mime)
    name = (
        request.filename if request.filename is not None else f"{kind}-{object_id[:13]}.{extension}"
    )
    obj = StorageObject(
        id=object_id,
        tenant_id=tenant_id,
        key=object_key(tenant_id, now, object_id, extension),
        filename=name,
        mime_type=mime,
        status=ObjectStatus.PENDING,
        created_at=now,
    )

    # (2) The pending row is durable before any byte is written.
    lifecycle.reserve(ctx, obj)
    asset: Asset | None = None
    try:
        # (3) Stream to storage while hashing and counting.
        meter = Meter(stream, ctx.max_bytes, request.field)
        ctx.storage.write(obj.key, meter)
        asset = Asset(
            id=new_id(),
            tenant_id=tenant_id,
            storage_object_id=object_id,
            asset_type=kind,
            source_tool=request.source_tool,
            filename=name,
            mime_type=mime,
            size_bytes=meter.size,
            sha256=meter.sha256.hexdigest(),
            created_at=now,
            updated_at=now,
            width=image.width if image else None,
            height=image.height if image else None,
            metadata={**request.metadata, **_format_metadata(image, request.declared_format)},
            idempotency_key=key,
            source_asset_id=source,
            variant_of=request.variant_of,
            variant=request.variant,
            **request.host_ids,  # type: ignore[arg-type]
        )
        # (4) One transaction: object stored, asset and its event inserted.
        lifecycle.publish(ctx, asset)
    except DuplicateKeyError:
        # Lost a race on the idempotency key: the winner's asset is the answer. (Or the
        # publish was sent twice, a lost connection's retry, and the first one committed:
        # the object is stored, and this ingest's asset is the answer.)
        if lifecycle.abandon(ctx, obj) and asset is not None:
            return asset
        winner = repository.find_by_idempotency_key(tenant_id, key) if key else None
        if winner is not None:
            return winner
        raise
    except BaseException as exc:
        # A lost connection can report an error for a transaction that did commit: the
        # asset then exists, and this ingest succeeded after all.
        if lifecycle.abandon(ctx, obj) and asset is not None and isinstance(exc, Exception):
            return _derived(ctx, asset, obj.key)
        raise
    return _derived(ctx, asset, obj.key)


def _derived(ctx: Context, asset: Asset, key: str) -> Asset:
    """A new image, with its variants made and its placeholder set (see ``variants``);
    anything else as it is."""
    if asset.asset_type is not AssetType.IMAGE or asset.variant_of is not None:
        return asset
    from .variants import derive  # imports this module

    return derive(ctx, asset, key)


def _classify(sniffed: Sniffed, request: IngestRequest) -> AssetType:
    """``image`` or ``file``, refusing a non-image where one is required."""
    if sniffed.image is None:
        if request.require_image:
            what = sniffed.mime_type or "unrecognised binary data"
            raise InvalidContent(
                request.field, f"is not a PNG, JPEG, WebP or GIF image (looks like {what})"
            )
        return AssetType.FILE
    return AssetType.IMAGE


def _format_metadata(image: ImageInfo | None, declared: str | None) -> dict[str, str]:
    """The format the bytes prove; a declared one that disagrees is recorded beside it (the
    bytes decide, and a model's wrong claim never costs its output)."""
    if image is None:
        return {}
    if declared is not None and declared != image.format:
        return {"format": image.format, "declared_format": declared}
    return {"format": image.format}
