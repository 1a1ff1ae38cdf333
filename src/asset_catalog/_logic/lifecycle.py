"""Every state change of a storage object and of its asset, in one place.

::

    storage object   pending ──► stored ──► deleting ──► deleted ──► (row purged)
                        │                                   ▲
                        └──────────► failed ────────────────┴──────► (row purged)
    asset            live ──► deleted (soft; invisible) ──► purged (row removed, trail kept)

* ``reserve``: the ``pending`` row, committed before any byte is written;
* ``publish``: one transaction marks the object ``stored`` and inserts the asset and its
  ``created`` event;
* ``abandon``: a failed ingest's blob is removed and its row marked ``failed``;
* ``delete``: one transaction soft-deletes the assets and moves their objects to
  ``deleting``; then the blobs are removed and the objects marked ``deleted``;
* ``reconcile``: old ``pending`` rows (an ingest that died) go to ``failed`` and ``deleting``
  rows (a delete that died) to ``deleted``, each after its blob is removed;
* ``purge``: ``deleted`` and ``failed`` rows past retention are removed for good.

Whenever a blob goes, it goes first and the row moves on after (:func:`_remove_blobs`): a
crash in between leaves a row that still claims a blob, which ``reconcile`` finishes, never
a blob that no row claims.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from .._models import (
    Asset,
    EraseReport,
    ObjectStatus,
    PurgeReport,
    ReconcileReport,
    StorageObject,
)
from ..exceptions import AssetCatalogError, InvalidInput, QuotaExceeded, StorageError
from ..protocols import Admit, AssetQuery, DeleteResult
from . import events
from .context import BATCH, Context

__all__ = [
    "abandon",
    "delete",
    "delete_conversation",
    "erase",
    "publish",
    "purge",
    "reconcile",
    "reserve",
]


def _remove_blobs(
    ctx: Context,
    objects: Sequence[StorageObject],
    advance: Callable[[Sequence[str], dt.datetime], None],
    errors: list[str] | None = None,
) -> list[str]:
    """Remove each object's blob, then ``advance`` the rows whose blob is gone; return
    their ids.

    A storage failure stops the loop and propagates (after the rows done so far have
    advanced), unless ``errors`` collects it: then that row is left as it is and the loop
    goes on.
    """
    done: list[str] = []
    try:
        for obj in objects:
            try:
                ctx.storage.delete(obj.key)
            except StorageError as exc:
                if errors is None:
                    raise
                errors.append(f"{obj.id}: {exc}")
                continue
            done.append(obj.id)
    finally:
        if done:
            advance(done, ctx.clock())
    return done


# -- ingest ------------------------------------------------------------------------------


def reserve(ctx: Context, obj: StorageObject) -> None:
    """Commit the ``pending`` row of a blob about to be written."""
    ctx.repository.add_pending_object(obj)


def publish(ctx: Context, asset: Asset) -> None:
    """One transaction: the object ``stored``, the asset and its ``created`` event inserted,
    the asset counted in its tenant's usage; refused there if it would pass the quota."""
    admit = _admission(ctx, asset)
    if admit is None:
        ctx.repository.complete_ingest(asset, events.created(asset))
    else:
        ctx.repository.complete_ingest(asset, events.created(asset), admit)


def _admission(ctx: Context, asset: Asset) -> Admit | None:
    """The check of the tenant's quota (None: it has none), run by the repository on the
    usage it reads inside the publishing transaction."""
    if asset.variant_of is not None:
        return None  # a variant is not counted in usage, so not against a quota either
    quota = ctx.quota(asset.tenant_id) if ctx.quota is not None else None
    if quota is None or (quota.max_assets is None and quota.max_bytes is None):
        return None
    tenant, size = asset.tenant_id, asset.size_bytes

    def admit(assets: int, used_bytes: int) -> None:
        if quota.max_assets is not None and assets + 1 > quota.max_assets:
            raise QuotaExceeded(tenant, "assets", quota.max_assets, assets, 1)
        if quota.max_bytes is not None and used_bytes + size > quota.max_bytes:
            raise QuotaExceeded(tenant, "bytes", quota.max_bytes, used_bytes, size)

    return admit


def abandon(ctx: Context, obj: StorageObject) -> bool:
    """Clean up after a failed ingest: remove the blob, then mark the row ``failed``.

    The row is read first. If it is ``stored``, the publishing transaction committed before
    the error reached the caller: the blob stays and True is returned. If the row cannot be
    read or a step fails, the row stays ``pending`` and ``reconcile()`` finishes the job; the
    original error is what the caller sees.
    """
    try:
        current = ctx.repository.get_object(obj.id)
        if current is not None and current.status is ObjectStatus.STORED:
            return True
        _remove_blobs(ctx, [obj], ctx.repository.mark_objects_failed)
    except AssetCatalogError:
        pass
    return False


# -- delete ------------------------------------------------------------------------------


def delete(
    ctx: Context, tenant_id: str, asset_ids: Sequence[str], actor: str | None
) -> DeleteResult:
    """Soft-delete the live assets among ``asset_ids`` (with their ``deleted`` events), then
    remove their blobs (and the blobs earlier deletes left behind).

    If the storage fails, the assets are already invisible and :class:`StorageError` is
    raised; the rows stay ``deleting`` for the next delete or ``reconcile()``.
    """
    at = ctx.clock()
    result = ctx.repository.mark_deleted(
        tenant_id,
        asset_ids,
        lambda live, latest: events.deleted(tenant_id, live, at, latest, actor),
    )
    _remove_blobs(ctx, result.objects, ctx.repository.finish_delete)
    return result


def erase(ctx: Context, tenant_id: str, user_id: str, actor: str | None) -> EraseReport:
    """A user's assets gone for good, now: the live ones deleted (blobs removed) a batch at a
    time, then every deleted one whose blob is gone erased in one transaction (rows and
    trail replaced by one ``erased`` event each), and the user's name taken off the
    tenant's other events. A storage failure stops it before the erasure (run it again)."""
    mine = AssetQuery(user_id=user_id)
    while page := ctx.repository.list_assets(tenant_id, mine, None, BATCH):
        delete(ctx, tenant_id, [asset.id for asset in page], actor)
    at = ctx.clock()
    ids, anonymized = ctx.repository.erase_deleted(
        tenant_id,
        user_id,
        lambda asset_id: events.erased(tenant_id, asset_id, at, actor, user_id),
    )
    return EraseReport(asset_ids=tuple(ids), events_anonymized=anonymized)


def delete_conversation(
    ctx: Context, tenant_id: str, conversation_id: str, actor: str | None
) -> int:
    """Delete every live asset of a conversation, a batch at a time; return how many."""
    total = 0
    while ids := ctx.repository.asset_ids_in_conversation(tenant_id, conversation_id, BATCH):
        asked = set(ids)  # their variants are deleted with them, and not counted
        total += sum(1 for i in delete(ctx, tenant_id, ids, actor).deleted if i in asked)
    return total


# -- maintenance -------------------------------------------------------------------------


def _cutoff(now: dt.datetime, older_than: object) -> dt.datetime:
    """``now - older_than``, for an ``older_than`` that must be a non-negative timedelta."""
    if not isinstance(older_than, dt.timedelta) or older_than < dt.timedelta(0):
        raise InvalidInput("older_than", "must be a datetime.timedelta of zero or more")
    try:
        return now - older_than
    except OverflowError:
        raise InvalidInput("older_than", "reaches back before the year 1") from None


def reconcile(ctx: Context, older_than: object) -> ReconcileReport:
    """Finish the ingests and deletes a crash left half-done (see ``AssetCatalog.reconcile``).

    Each object is finished on its own (its blob removed, then its row advanced), so the
    time between the two steps stays short whatever the batch.
    """
    repository = ctx.repository
    cutoff = _cutoff(ctx.clock(), older_than)
    counts = {ObjectStatus.PENDING: 0, ObjectStatus.DELETING: 0}
    advance = {
        ObjectStatus.PENDING: repository.mark_objects_failed,
        ObjectStatus.DELETING: repository.finish_delete,
    }
    errors: list[str] = []
    seen: set[str] = set()
    for status in (ObjectStatus.PENDING, ObjectStatus.DELETING):
        # Every deleting row is a delete that stopped half-way, however recent.
        limit = ctx.clock() if status is ObjectStatus.DELETING else cutoff
        while batch := [
            o for o in repository.objects_in_status(status, limit, BATCH) if o.id not in seen
        ]:
            for obj in batch:
                seen.add(obj.id)
                counts[status] += len(_remove_blobs(ctx, [obj], advance[status], errors))
    return ReconcileReport(
        pending_failed=counts[ObjectStatus.PENDING],
        deletes_finished=counts[ObjectStatus.DELETING],
        errors=tuple(errors),
    )


def purge(ctx: Context, older_than: object, actor: str | None) -> PurgeReport:
    """Remove for good what was deleted (or failed) longer ago than ``older_than``."""
    now = ctx.clock()
    before = _cutoff(now, older_than)
    assets = objects = 0
    while True:
        purged_assets, purged_objects = ctx.repository.purge_deleted(
            before, BATCH, lambda asset: events.purged(asset, now, actor)
        )
        if not purged_assets and not purged_objects:
            return PurgeReport(assets_purged=assets, objects_purged=objects)
        assets += purged_assets
        objects += purged_objects
