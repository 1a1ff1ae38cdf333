"""Variants: the thumbnails and the placeholder derived from an image, right after its ingest.

An image is published first (its own ingest is complete and committed whatever follows);
then its blob is read back, decoded once, and each variant is catalogued as an asset of its
own through the same ingest protocol (pending row, streamed write, one publishing
transaction), with ``variant_of`` naming the image and an idempotency key derived from
(image id, variant name). The placeholder goes into the image's row. Nothing here raises:
a variant that cannot be made is recorded as a ``variant_skipped`` event on the image (its
reason and what the decoder said), and the image is returned as it is.
"""

from __future__ import annotations

import contextlib

import attrs

from .._content import thumbnails
from .._content.filenames import cut_to_bytes
from .._limits import MAX_FILENAME_BYTES, MAX_VARIANT_PIXELS
from .._models import Asset
from ..exceptions import AssetCatalogError
from . import events, lifecycle
from .context import Context
from .ingest import IngestRequest, ingest, variant_key

__all__ = ["derive"]

#: The host identifiers a variant shares with its image: what deletes and erasures select
#: by (a variant is never linked to a message or found by a tool call of its own).
_SHARED_IDS = ("conversation_id", "user_id", "agent_key")


def derive(ctx: Context, asset: Asset, key: str) -> Asset:
    """Make the variants of a newly published image (blob at ``key``) and set its
    placeholder; return the image (with its placeholder). Never raises an error."""
    sizes = dict(ctx.variant_sizes)
    if not sizes or not thumbnails.available():
        return asset  # variants are simply not made
    names = sorted(sizes)
    try:
        with ctx.storage.open(key) as stream:
            rendering = thumbnails.render(stream, sizes, max_pixels=MAX_VARIANT_PIXELS)
    except Exception as exc:  # the storage failed to read it back
        _skipped(ctx, asset, names, "failed", f"{type(exc).__name__}: {exc}")
        return asset
    if isinstance(rendering, thumbnails.Skipped):
        _skipped(ctx, asset, names, rendering.reason, rendering.detail)
        return asset
    stem = asset.filename.rsplit(".", 1)[0] or "image"
    for rendered in rendering.variants:
        try:
            ingest(
                ctx,
                IngestRequest(
                    tenant_id=asset.tenant_id,
                    chunks=iter([rendered.data]),
                    field="image",
                    source_tool=asset.source_tool,
                    require_image=True,
                    filename=variant_filename(stem, rendered.name),
                    idempotency_key=variant_key(asset.id, rendered.name),
                    metadata={"format": "webp"},
                    host_ids={name: getattr(asset, name) for name in _SHARED_IDS},
                    variant_of=asset.id,
                    variant=rendered.name,
                ),
            )
        except Exception as exc:  # quota, database or storage: the image stays
            _skipped(ctx, asset, [rendered.name], "failed", f"{type(exc).__name__}: {exc}")
    live = True
    if rendering.placeholder is not None:
        try:
            live = ctx.repository.set_placeholder(asset.tenant_id, asset.id, rendering.placeholder)
        except AssetCatalogError:
            return asset
        if live:
            asset = attrs.evolve(asset, placeholder=rendering.placeholder)
    if not live:
        # The image was deleted while its variants were made: they go too.
        with contextlib.suppress(AssetCatalogError):  # else left for the next delete
            lifecycle.delete(ctx, asset.tenant_id, [asset.id], None)
    return asset


def variant_filename(stem: str, name: str) -> str:
    """``{stem}.{name}.webp``, the stem (of a safe name) cut to keep it within 255 bytes."""
    suffix = f".{name}.webp"
    cut = cut_to_bytes(stem, MAX_FILENAME_BYTES - len(suffix)).rstrip()
    return f"{cut}{suffix}" if cut.strip(".") else f"image{suffix}"


def _skipped(ctx: Context, asset: Asset, names: list[str], reason: str, detail: str) -> None:
    """Record why variants were not made (on the image's trail); a deleted image needs none."""
    event = events.variant_skipped(asset, ctx.clock(), names, reason, detail[:200])
    with contextlib.suppress(AssetCatalogError):
        ctx.repository.add_events([event])
