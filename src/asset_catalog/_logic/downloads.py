"""Downloads: time-limited URLs (native or catalog-signed) and serving catalog tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from .._content.filenames import content_disposition
from .._inputs import host_id, plausible_id
from .._limits import MAX_EXPIRES_IN
from .._models import Asset, AssetEvent, Download, ObjectStatus, PresignBatch, PresignedUrl
from ..exceptions import AssetNotFound, InvalidInput, StorageError
from . import events
from .context import Context
from .headers import Disposition, choose_disposition, download_headers

__all__ = ["open_signed", "presign", "presign_many"]


def presign(
    ctx: Context,
    tenant_id: str,
    asset_id: str,
    *,
    expires_in: int,
    requested: Disposition | None,
    actor: str | None,
    window: int = 0,
    variant: str | None = None,
) -> PresignedUrl:
    """One URL for a live asset of the tenant (its ``variant`` if it has one), audited as
    ``url_issued`` (on the variant's trail when a variant's URL is issued)."""
    asset: Asset | None = None
    key: str | None = None
    if not plausible_id(asset_id):
        pass
    elif variant is not None and (
        pairs := ctx.repository.get_variants_with_keys(tenant_id, [asset_id], variant)
    ):
        asset, key = pairs[0]
    elif ctx.storage.can_sign:  # one query for the asset and its blob key
        pairs = ctx.repository.get_assets_with_keys(tenant_id, [asset_id])
        asset, key = pairs[0] if pairs else (None, None)
    else:
        asset = ctx.repository.get_asset(tenant_id, asset_id)
    if asset is None:
        raise AssetNotFound(str(asset_id))
    url, event = _issue(
        ctx, asset, key, expires_in=expires_in, requested=requested, actor=actor, window=window
    )
    ctx.repository.add_events([event])
    return attrs.evolve(url, variant=asset.variant) if asset.variant is not None else url


def presign_many(
    ctx: Context,
    tenant_id: str,
    asset_ids: Sequence[str],
    *,
    expires_in: int,
    requested: Disposition | None,
    actor: str | None,
    window: int = 0,
    variant: str | None = None,
) -> PresignBatch:
    """A URL per live asset among ``asset_ids``, read with one repository query (with
    ``variant``: one for the variants, and one more for the originals of the ids that have
    none, if any)."""
    while True:
        found = _lookup(ctx, tenant_id, asset_ids, variant)
        urls: dict[str, PresignedUrl] = {}
        unsupported: list[str] = []
        issued: list[AssetEvent] = []
        for asset_id in asset_ids:
            if asset_id not in found or asset_id in urls or asset_id in unsupported:
                continue
            asset, key = found[asset_id]
            try:
                url, event = _issue(
                    ctx,
                    asset,
                    key,
                    expires_in=expires_in,
                    requested=requested,
                    actor=actor,
                    window=window,
                )
            except StorageError:
                unsupported.append(asset_id)
                continue
            urls[asset_id] = attrs.evolve(url, variant=asset.variant) if asset.variant else url
            issued.append(event)
        try:
            ctx.repository.add_events(issued)
        except AssetNotFound:
            # One was deleted since it was read (nothing was recorded): read them again,
            # so it is reported missing. Each round has one live asset fewer.
            continue
        return PresignBatch(
            urls=urls,
            missing=tuple(i for i in asset_ids if i not in found),
            unsupported=tuple(unsupported),
            # with a variant asked for: the ids answered with their original
            fallbacks=tuple(i for i, url in urls.items() if variant and url.variant is None),
        )


def _lookup(
    ctx: Context, tenant_id: str, asset_ids: Sequence[str], variant: str | None = None
) -> dict[str, tuple[Asset, str | None]]:
    """The live assets among ``asset_ids`` in one query, with their blob keys when the
    storage signs natively (only then are the keys needed). With ``variant``, each id's
    variant of that name where it has one (keyed by the id asked for), else the asset."""
    repository = ctx.repository
    found: dict[str, tuple[Asset, str | None]] = {}
    if variant is not None:
        for derived, key in repository.get_variants_with_keys(tenant_id, asset_ids, variant):
            assert derived.variant_of is not None
            found[derived.variant_of] = (derived, key)
        asset_ids = [i for i in dict.fromkeys(asset_ids) if i not in found]
        if not asset_ids:
            return found
    if ctx.storage.can_sign:
        pairs = repository.get_assets_with_keys(tenant_id, asset_ids)
        return found | {a.id: (a, key) for a, key in pairs}
    return found | {a.id: (a, None) for a in repository.get_assets(tenant_id, asset_ids)}


def _issue(
    ctx: Context,
    asset: Asset,
    key: str | None,
    *,
    expires_in: int,
    requested: Disposition | None,
    actor: str | None,
    window: int,
) -> tuple[PresignedUrl, AssetEvent]:
    """One URL for ``asset``, natively signed when ``key`` (its blob's key, read with the
    asset) is known, else a catalog token; and its ``url_issued`` event. No query here."""
    now = ctx.clock()
    disposition = choose_disposition(asset.mime_type, requested)
    issued = int(now.timestamp())
    expires_at = window_expiry(issued, expires_in, window)
    expiry = dt.datetime.fromtimestamp(expires_at, dt.UTC)
    native: str | None = None
    if key is not None and ctx.storage.can_sign:
        native = ctx.storage.sign(
            key,
            expires_in=expires_at - issued,
            filename=asset.filename,
            content_type=asset.mime_type,
            disposition=content_disposition(asset.filename, disposition),
        )
    if native is not None:
        url = PresignedUrl(url=native, method="GET", headers={}, expires_at=expiry, kind="native")
    else:
        token = ctx.signer.sign(
            "download", {"t": asset.tenant_id, "a": asset.id, "exp": expires_at, "d": disposition}
        )
        url = PresignedUrl(
            url=ctx.signer.url_for(token),
            method="GET",
            headers={},
            expires_at=expiry,
            kind="catalog",
            token=token,
        )
    event = events.url_issued(
        asset,
        now,
        actor,
        kind=url.kind,
        expires_at=expires_at,
        disposition=disposition,
        windowed=window > 0,
    )
    return url, event


def window_expiry(issued: int, expires_in: int, window: int) -> int:
    """When a URL issued at ``issued`` (Unix seconds) for ``expires_in`` seconds expires:
    rounded up to a multiple of ``window``, so the same asset, disposition and caller get the
    same URL (and one audit event) throughout a window, and a browser can cache what it
    fetched. Rounded down instead where up would pass the longest lifetime allowed."""
    exact = issued + expires_in
    if window <= 0:
        return exact
    up = -(-exact // window) * window
    if up - issued <= MAX_EXPIRES_IN:
        return up
    return max(exact // window * window, issued + 1)


def _plausible_tenant(tenant: str) -> bool:
    try:
        host_id(tenant, "tenant_id")
    except InvalidInput:
        return False
    return True


def open_signed(ctx: Context, token: str, actor: str | None, *, audit: bool = True) -> Download:
    """Verify a catalog token and open the asset's bytes, audited as ``downloaded`` unless
    ``audit`` is false (a HEAD, a revalidation, a later piece of a ranged download)."""
    payload = ctx.signer.verify("download", token, now=ctx.clock().timestamp())
    tenant, asset_id, disposition = payload.get("t"), payload.get("a"), payload.get("d")
    if (
        not isinstance(tenant, str)
        or not isinstance(asset_id, str)
        or disposition not in {"inline", "attachment"}
    ):
        raise InvalidInput("token", "token payload is malformed")
    # A genuine token names a tenant and an asset the catalog issued; anything else (a key
    # leaked to someone signing odd values) is simply not found.
    if not plausible_id(asset_id) or not _plausible_tenant(tenant):
        raise AssetNotFound(asset_id)
    repository = ctx.repository
    asset = repository.get_asset(tenant, asset_id)
    obj = repository.get_object(asset.storage_object_id) if asset else None
    if asset is None or obj is None or obj.status is not ObjectStatus.STORED:
        raise AssetNotFound(asset_id)
    stream = ctx.storage.open(obj.key)
    try:
        if audit:
            repository.add_events([events.downloaded(tenant, asset_id, ctx.clock(), actor)])
    except BaseException:
        stream.close()
        raise
    headers = download_headers(asset, choose_disposition(asset.mime_type, disposition))
    return Download(asset, stream, headers)
