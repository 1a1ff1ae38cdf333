"""Downloads: time-limited URLs (native or catalog-signed) and serving catalog tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from .._content.filenames import content_disposition
from .._inputs import host_id, plausible_id
from .._limits import MAX_EXPIRES_IN
from .._models import Asset, AssetEvent, Download, ObjectStatus, PresignBatch, PresignedUrl
from ..exceptions import AssetNotFound, InvalidInput, StorageError
from ..protocols import BatchSigningStorage, BlobStorage, SignRequest
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
    now = ctx.clock()
    plan = _plan(asset, now, requested, expires_in, window)
    native = None
    if key is not None and ctx.storage.can_sign:
        native = ctx.storage.sign(key, **_sign_request_kwargs(_sign_request(asset, key, plan)))
    url, event = _issue(ctx, asset, plan, now, native, actor=actor)
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
    none, if any), signed in one pass where the storage signs batches."""
    while True:
        found = _lookup(ctx, tenant_id, asset_ids, variant)
        now = ctx.clock()
        live = [(i, *found[i]) for i in dict.fromkeys(asset_ids) if i in found]
        plans = [_plan(asset, now, requested, expires_in, window) for _, asset, _ in live]
        signable = ctx.storage.can_sign
        wanted = [
            (n, _sign_request(asset, key, plans[n]))
            for n, (_, asset, key) in enumerate(live)
            if key is not None and signable
        ]
        natives = _sign_all(ctx.storage, [request for _, request in wanted])
        signed = dict(zip((n for n, _ in wanted), natives, strict=True))
        urls: dict[str, PresignedUrl] = {}
        unsupported: list[str] = []
        issued: list[AssetEvent] = []
        for n, (asked, asset, _) in enumerate(live):
            native = signed.get(n)
            if isinstance(native, StorageError):
                unsupported.append(asked)
                continue
            url, event = _issue(ctx, asset, plans[n], now, native, actor=actor)
            urls[asked] = attrs.evolve(url, variant=asset.variant) if asset.variant else url
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


def _sign_all(storage: BlobStorage, requests: list[SignRequest]) -> list[str | StorageError | None]:
    """Native URLs for a batch: in one pass where the storage signs batches, else URL by URL
    (a URL the storage fails to sign is its error, so its asset is reported unsupported)."""
    if not requests:
        return []
    if isinstance(storage, BatchSigningStorage):
        try:
            batch = list(storage.sign_many(requests))
        except StorageError:
            batch = []
        if len(batch) == len(requests):
            return list[str | StorageError | None](batch)
    results: list[str | StorageError | None] = []
    for request in requests:
        try:
            results.append(storage.sign(request.key, **_sign_request_kwargs(request)))
        except StorageError as exc:
            results.append(exc)
    return results


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


class _Plan(NamedTuple):
    disposition: Disposition
    issued: int
    expires_at: int
    windowed: bool


def _plan(
    asset: Asset, now: dt.datetime, requested: Disposition | None, expires_in: int, window: int
) -> _Plan:
    issued = int(now.timestamp())
    return _Plan(
        choose_disposition(asset.mime_type, requested),
        issued,
        window_expiry(issued, expires_in, window),
        window > 0,
    )


def _sign_request(asset: Asset, key: str, plan: _Plan) -> SignRequest:
    return SignRequest(
        key=key,
        expires_in=plan.expires_at - plan.issued,
        filename=asset.filename,
        content_type=asset.mime_type,
        disposition=content_disposition(asset.filename, plan.disposition),
    )


def _sign_request_kwargs(request: SignRequest) -> dict[str, Any]:
    return {name: value for name, value in request._asdict().items() if name != "key"}


def _issue(
    ctx: Context,
    asset: Asset,
    plan: _Plan,
    now: dt.datetime,
    native: str | None,
    *,
    actor: str | None,
) -> tuple[PresignedUrl, AssetEvent]:
    """The URL for ``asset``: ``native`` (signed by the storage) when there is one, else a
    catalog token; and its ``url_issued`` event. No query here."""
    expires_at = plan.expires_at
    expiry = dt.datetime.fromtimestamp(expires_at, dt.UTC)
    if native is not None:
        url = PresignedUrl(url=native, method="GET", headers={}, expires_at=expiry, kind="native")
    else:
        token = ctx.signer.sign(
            "download",
            {"t": asset.tenant_id, "a": asset.id, "exp": expires_at, "d": plan.disposition},
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
        disposition=plan.disposition,
        windowed=plan.windowed,
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
