"""Downloads: time-limited URLs (native or catalog-signed) and serving catalog tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Literal

from ._content.filenames import content_disposition
from ._headers import choose_disposition, download_headers
from ._ids import new_id
from ._inputs import host_id, id_list, optional_host_id, plausible_id
from ._models import (
    Asset,
    AssetEvent,
    Download,
    EventKind,
    ObjectStatus,
    PresignBatch,
    PresignedUrl,
)
from ._signing import UrlSigner
from .exceptions import AssetNotFound, InvalidInput, StorageError
from .protocols import AssetRepository, BlobStorage

__all__ = ["MAX_EXPIRES_IN", "MAX_PRESIGN_BATCH", "DownloadsMixin"]

MAX_PRESIGN_BATCH = 100
MAX_EXPIRES_IN = 7 * 24 * 3600


def _plausible_tenant(tenant: str) -> bool:
    try:
        host_id(tenant, "tenant_id")
    except InvalidInput:
        return False
    return True


def may_sign_natively(storage: BlobStorage) -> bool:
    return bool(storage.can_sign)


class DownloadsMixin:
    """The download calls of :class:`~asset_catalog.AssetCatalog`."""

    __slots__ = ()
    _repository: AssetRepository
    _storage: BlobStorage
    _signer: UrlSigner
    clock: Callable[[], dt.datetime]

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
        if may_sign_natively(self._storage):
            # One query for the asset and its blob key.
            pairs = (
                self._repository.get_assets_with_keys(tenant, [asset_id])
                if plausible_id(asset_id)
                else []
            )
            asset, key = pairs[0] if pairs else (None, None)
        else:
            asset = self._repository.get_asset(tenant, asset_id) if plausible_id(asset_id) else None
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
        ids = id_list(asset_ids, "asset_ids", limit=MAX_PRESIGN_BATCH)
        seconds = self._expiry(expires_in)
        requested = self._disposition(disposition)
        who = optional_host_id(actor, "actor")
        native = may_sign_natively(self._storage)
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
        if key is not None and may_sign_natively(self._storage):
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
            event=EventKind.URL_ISSUED,
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
        # A genuine token names a tenant and an asset the catalog issued; anything else (a key
        # leaked to someone signing odd values) is simply not found.
        if not plausible_id(asset_id) or not _plausible_tenant(tenant):
            raise AssetNotFound(asset_id)
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
                        event=EventKind.DOWNLOADED,
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
