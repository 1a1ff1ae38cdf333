"""erase(): a user's assets gone for good, now, with one `erased` event each left."""

from __future__ import annotations

import pytest

from asset_catalog import (
    AssetCatalog,
    AssetNotFound,
    EraseReport,
    EventKind,
    InvalidInput,
    StorageError,
)

from .snapshots import snapshot


def test_a_users_assets_are_erased_and_nothing_else(catalog: AssetCatalog) -> None:
    """The user's live and deleted assets lose their rows, blobs and trails (one erased
    event each, naming the operator and the user id); another user's and another tenant's
    stay, and the user's name leaves the events of the assets that stay."""
    mine = [
        catalog.ingest_upload("t1", f"mine {n}".encode(), filename="m.txt", user_id="u1")
        for n in range(2)
    ]
    earlier = catalog.ingest_upload("t1", b"deleted before", filename="d.txt", user_id="u1")
    catalog.delete("t1", earlier.id, actor="u1")
    kept = catalog.ingest_upload("t1", b"someone else's", filename="k.txt", user_id="u2")
    catalog.presign("t1", kept.id, actor="u1")  # u1 was given a URL of u2's asset
    theirs = catalog.ingest_upload("t2", b"other tenant", filename="o.txt", user_id="u1")
    other_tenant = snapshot(catalog, "t2")

    report = catalog.erase("t1", user_id="u1", actor="dpo")

    assert set(report.asset_ids) == {a.id for a in [*mine, earlier]}
    assert report.events_anonymized == 1
    for asset in [*mine, earlier]:
        with pytest.raises(AssetNotFound):
            catalog.get("t1", asset.id)
        (event,) = catalog.events("t1", asset.id)
        assert (event.event, event.actor, event.details) == (
            EventKind.ERASED,
            "dpo",
            {"user_id": "u1"},
        )
    assert catalog.get("t1", kept.id) == kept
    assert [(e.event, e.actor) for e in catalog.events("t1", kept.id)] == [
        (EventKind.CREATED, "u2"),
        (EventKind.URL_ISSUED, None),
    ]
    assert snapshot(catalog, "t2") == other_tenant
    assert catalog.get("t2", theirs.id) == theirs
    assert catalog.usage("t1").assets == 1
    assert catalog.verify().ok
    assert catalog.erase("t1", user_id="u1") == EraseReport()  # again: nothing left


def test_a_storage_failure_stops_before_the_erasure(local_catalog: AssetCatalog) -> None:
    """The blob cannot be removed: the asset is deleted (invisible) but not erased yet, and
    the same call succeeds once the storage is back."""
    asset = local_catalog.ingest_upload("t1", b"stuck", filename="s.txt", user_id="u1")
    storage = local_catalog.storage
    real = storage.delete

    def broken(key: str) -> None:
        raise StorageError("storage down")

    storage.delete = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(StorageError):
            local_catalog.erase("t1", user_id="u1")
    finally:
        storage.delete = real  # type: ignore[method-assign]
    with pytest.raises(AssetNotFound):
        local_catalog.get("t1", asset.id)
    assert [e.event for e in local_catalog.events("t1", asset.id)][-1] == EventKind.DELETED
    local_catalog.reconcile()
    assert local_catalog.erase("t1", user_id="u1").asset_ids == (asset.id,)
    assert local_catalog.verify().ok


def test_the_user_id_is_required(catalog: AssetCatalog) -> None:
    """No user id, an empty one: InvalidInput naming user_id (never 'erase everyone')."""
    for bad in (None, ""):
        with pytest.raises(InvalidInput) as info:
            catalog.erase("t1", user_id=bad)  # type: ignore[arg-type]
        assert info.value.field == "user_id"
