"""The repository contract, changes: links, deletes and purges, atomic and tenant-scoped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs
import pytest

from .._ids import new_id
from .._models import Asset, AssetEvent, EventKind, ObjectStatus
from ..exceptions import AssetNotFound
from ..protocols import AssetQuery, AssetRepository
from ._builders import (
    BASE_TIME,
    created_event,
    deleting,
    linking,
    make_object,
    purging,
    stored,
)

__all__ = ["ChangeContract"]


class ChangeContract:
    """What a repository must do for the changes whose events the catalog builds: link,
    delete, purge; each stores exactly the events its callback returns."""

    def test_link_by_ids_tool_calls_and_response(self, repository: AssetRepository) -> None:
        """link_message links by asset id, tool call id or response id, once each."""
        by_id = stored(repository)
        by_call = stored(repository, tool_call_id="call_1")
        by_response = stored(repository, response_id="resp_1")
        at = BASE_TIME + dt.timedelta(minutes=1)

        def link(**kw: Any) -> list[str]:
            args: dict[str, Any] = {"asset_ids": None, "tool_call_ids": None, "response_id": None}
            args.update(kw)
            linked = linking("tenant-a", "m1", at, "u")
            return repository.link_message("tenant-a", "m1", at=at, linked=linked, **args)

        assert link(asset_ids=[by_id.id]) == [by_id.id]
        assert link(tool_call_ids=["call_1"]) == [by_call.id]
        assert link(response_id="resp_1") == [by_response.id]
        assert link(asset_ids=[by_id.id], tool_call_ids=["call_1"], response_id="resp_1") == []
        for asset in (by_id, by_call, by_response):
            got = repository.get_asset("tenant-a", asset.id)
            assert got is not None
            assert (got.message_id, got.updated_at) == ("m1", at)
            events = repository.events_for("tenant-a", asset.id)
            assert [e.event for e in events] == ["created", "linked"]
            assert events[-1].details == {"message_id": "m1"}

    def test_link_never_moves_an_asset(self, repository: AssetRepository) -> None:
        """An asset linked to one message is not moved to another."""
        asset = stored(repository, message_id="m1")
        linked = repository.link_message(
            "tenant-a",
            "m2",
            asset_ids=[asset.id],
            tool_call_ids=None,
            response_id=None,
            at=BASE_TIME,
            linked=linking("tenant-a", "m2", BASE_TIME),
        )
        assert linked == []
        got = repository.get_asset("tenant-a", asset.id)
        assert got is not None
        assert got.message_id == "m1"

    def test_link_with_unknown_id_links_nothing(self, repository: AssetRepository) -> None:
        """An id that is not the tenant's live asset fails the whole call."""
        mine = stored(repository)
        theirs = stored(repository, "tenant-b")
        with pytest.raises(AssetNotFound):
            repository.link_message(
                "tenant-a",
                "m1",
                asset_ids=[mine.id, theirs.id],
                tool_call_ids=None,
                response_id=None,
                at=BASE_TIME,
                linked=linking("tenant-a", "m1", BASE_TIME),
            )
        got = repository.get_asset("tenant-a", mine.id)
        assert got is not None
        assert got.message_id is None
        assert [e.event for e in repository.events_for("tenant-a", mine.id)] == ["created"]

    def test_mark_deleted_hides_asset_and_queues_blob(self, repository: AssetRepository) -> None:
        """A deleted asset disappears from reads and its object waits in `deleting`."""
        asset = stored(repository, idempotency_key="k1")
        result = repository.mark_deleted(
            "tenant-a", [asset.id], deleting("tenant-a", BASE_TIME, "user:7")
        )
        assert list(result.deleted) == [asset.id]
        assert list(result.missing) == []
        assert [o.id for o in result.objects] == [asset.storage_object_id]
        assert result.objects[0].status is ObjectStatus.DELETING
        assert repository.get_asset("tenant-a", asset.id) is None
        assert repository.get_assets("tenant-a", [asset.id]) == []
        assert repository.list_assets("tenant-a", AssetQuery(), None, 10) == []
        assert repository.find_by_idempotency_key("tenant-a", "k1") is None
        events = repository.events_for("tenant-a", asset.id)
        assert [(e.event, e.actor) for e in events] == [("created", None), ("deleted", "user:7")]

    def test_mark_deleted_is_idempotent_until_finished(self, repository: AssetRepository) -> None:
        """Deleting again reports nothing new but still returns the unfinished object."""
        asset = stored(repository)
        repository.mark_deleted("tenant-a", [asset.id], deleting("tenant-a", BASE_TIME))
        again = repository.mark_deleted("tenant-a", [asset.id], deleting("tenant-a", BASE_TIME))
        assert list(again.deleted) == []
        assert [o.id for o in again.objects] == [asset.storage_object_id]
        repository.finish_delete([asset.storage_object_id], BASE_TIME)
        done = repository.mark_deleted("tenant-a", [asset.id], deleting("tenant-a", BASE_TIME))
        assert (list(done.deleted), list(done.objects), list(done.missing)) == ([], [], [])
        obj = repository.get_object(asset.storage_object_id)
        assert obj is not None
        assert obj.status is ObjectStatus.DELETED
        assert obj.deleted_at == BASE_TIME
        events = [e.event for e in repository.events_for("tenant-a", asset.id)]
        assert events == ["created", "deleted"]

    def test_mark_deleted_reports_other_tenants_ids_missing(
        self, repository: AssetRepository
    ) -> None:
        """Another tenant's id is reported missing and left untouched."""
        theirs = stored(repository, "tenant-b")
        result = repository.mark_deleted("tenant-a", [theirs.id], deleting("tenant-a", BASE_TIME))
        assert list(result.missing) == [theirs.id]
        assert list(result.deleted) == []
        assert repository.get_asset("tenant-b", theirs.id) == theirs

    def test_same_idempotency_key_is_free_after_delete(self, repository: AssetRepository) -> None:
        """A deleted asset's idempotency key may be used by a new asset."""
        old = stored(repository, idempotency_key="tool:9")
        repository.mark_deleted("tenant-a", [old.id], deleting("tenant-a", BASE_TIME))
        new = stored(repository, idempotency_key="tool:9")
        assert repository.find_by_idempotency_key("tenant-a", "tool:9") == new

    def test_purge_deleted_removes_old_rows_and_keeps_the_trail(
        self, repository: AssetRepository
    ) -> None:
        """purge_deleted hard-deletes deleted assets and deleted/failed objects past the cut,
        once, with a `purged` event after the trail; live, recent and `deleting` rows stay."""
        old, recent, live, unfinished = (stored(repository) for _ in range(4))
        for asset, at in ((old, BASE_TIME), (recent, BASE_TIME + dt.timedelta(days=30))):
            repository.mark_deleted("tenant-a", [asset.id], deleting("tenant-a", at, "user:1"))
            repository.finish_delete([asset.storage_object_id], at)
        repository.mark_deleted(
            "tenant-a", [unfinished.id], deleting("tenant-a", BASE_TIME)
        )  # still deleting
        failed = make_object()
        repository.add_pending_object(failed)
        repository.mark_objects_failed([failed.id], BASE_TIME)
        cut = BASE_TIME + dt.timedelta(days=7)
        now = BASE_TIME + dt.timedelta(days=37)

        assert repository.purge_deleted(cut, 100, purging(now, "retention")) == (1, 2)
        assert repository.get_object(old.storage_object_id) is None
        assert repository.get_object(failed.id) is None
        for kept in (recent, unfinished, live):
            assert repository.get_object(kept.storage_object_id) is not None
        assert repository.get_asset("tenant-a", live.id) == live
        trail = repository.events_for("tenant-a", old.id)
        assert [e.event for e in trail] == ["created", "deleted", "purged"]
        assert trail[-1].actor == "retention"
        assert trail[-1].details["sha256"] == old.sha256
        assert trail[-1].details["size_bytes"] == old.size_bytes
        assert repository.purge_deleted(cut, 100, purging(now)) == (0, 0)
        # The purged asset's idempotency key and id are simply unknown now.
        assert list(
            repository.mark_deleted("tenant-a", [old.id], deleting("tenant-a", now)).missing
        ) == [old.id]

    def test_erase_deleted_removes_the_users_gone_assets_and_their_trail(
        self, repository: AssetRepository
    ) -> None:
        """erase_deleted removes the user's deleted assets whose blobs are gone, with their
        objects and events, stores the erased events it is given, and takes the user's name
        off the tenant's other events; live, still-deleting, other users' and other tenants'
        rows stay."""
        done, unfinished, live = (stored(repository, user_id="u1") for _ in range(3))
        other = stored(repository, user_id="u2")
        theirs = stored(repository, "tenant-b", user_id="u1")
        for asset in (done, unfinished):
            repository.mark_deleted("tenant-a", [asset.id], deleting("tenant-a", BASE_TIME, "u1"))
        repository.finish_delete([done.storage_object_id], BASE_TIME)
        repository.mark_deleted("tenant-b", [theirs.id], deleting("tenant-b", BASE_TIME, "u1"))
        repository.finish_delete([theirs.storage_object_id], BASE_TIME)
        at = BASE_TIME + dt.timedelta(days=1)
        repository.add_events(
            [
                attrs.evolve(
                    created_event(other), id=new_id(), event=EventKind.DOWNLOADED, actor="u1", at=at
                )
            ]
        )
        asked: list[str] = []

        def erased(asset_id: str) -> AssetEvent:
            asked.append(asset_id)
            event = created_event(done)
            return attrs.evolve(event, id=new_id(), event=EventKind.ERASED, actor="dpo", at=at)

        # the downloaded event of u2's asset and the deleted event of the unfinished one:
        assert repository.erase_deleted("tenant-a", "u1", erased) == ([done.id], 2)
        assert asked == [done.id]
        assert repository.get_object(done.storage_object_id) is None
        assert [(e.event, e.actor) for e in repository.events_for("tenant-a", done.id)] == [
            (EventKind.ERASED, "dpo")
        ]
        for kept in (unfinished, live):
            assert repository.get_object(kept.storage_object_id) is not None
        assert repository.get_asset("tenant-a", live.id) == live
        assert [e.actor for e in repository.events_for("tenant-a", other.id)] == [None, None]
        assert [e.actor for e in repository.events_for("tenant-a", unfinished.id)] == [None, None]
        assert [e.actor for e in repository.events_for("tenant-b", theirs.id)][-1] == "u1"
        assert repository.get_object(theirs.storage_object_id) is not None  # tenant-b's
        assert repository.erase_deleted("tenant-a", "u1", erased) == ([], 0)

    def test_purge_deleted_works_in_batches(self, repository: AssetRepository) -> None:
        """purge_deleted removes at most ``limit`` objects per call."""
        assets = [stored(repository) for _ in range(5)]
        repository.mark_deleted("tenant-a", [a.id for a in assets], deleting("tenant-a", BASE_TIME))
        repository.finish_delete([a.storage_object_id for a in assets], BASE_TIME)
        cut = BASE_TIME + dt.timedelta(days=1)
        counts = [repository.purge_deleted(cut, 2, purging(cut)) for _ in range(4)]
        assert counts == [(2, 2), (2, 2), (1, 1), (0, 0)]

    def test_link_stores_exactly_the_events_it_is_given(self, repository: AssetRepository) -> None:
        """link_message asks for one event per asset it links, and stores those events."""
        first, second = stored(repository, response_id="r"), stored(repository, response_id="r")
        stored(repository, response_id="r", message_id="m0")  # already linked: not asked
        asked: list[str] = []
        built = linking("tenant-a", "m1", BASE_TIME, "app")

        def record(asset_id: str) -> AssetEvent:
            asked.append(asset_id)
            return built(asset_id)

        linked = repository.link_message(
            "tenant-a",
            "m1",
            asset_ids=None,
            tool_call_ids=None,
            response_id="r",
            at=BASE_TIME,
            linked=record,
        )
        assert linked == sorted([first.id, second.id])
        assert sorted(asked) == linked
        for asset_id in linked:
            trail = repository.events_for("tenant-a", asset_id)
            assert [(e.event, e.actor, e.details) for e in trail[1:]] == [
                (EventKind.LINKED, "app", {"message_id": "m1"})
            ]

    def test_mark_deleted_dates_each_asset_by_its_event(self, repository: AssetRepository) -> None:
        """The catalog is told the live ids (in id order) and the time of their latest event;
        each asset is deleted at the time of the event it returns."""
        assets = [stored(repository) for _ in range(3)]
        later = BASE_TIME + dt.timedelta(minutes=5)
        linked = linking("tenant-a", "m1", later)
        repository.link_message(
            "tenant-a",
            "m1",
            asset_ids=[assets[0].id],
            tool_call_ids=None,
            response_id=None,
            at=later,
            linked=linked,
        )
        repository.mark_deleted("tenant-a", [assets[2].id], deleting("tenant-a", BASE_TIME))
        calls: list[tuple[list[str], dt.datetime | None]] = []
        when = later + dt.timedelta(seconds=1)

        def record(asset_ids: Sequence[str], latest: dt.datetime | None) -> Sequence[AssetEvent]:
            calls.append((list(asset_ids), latest))
            return deleting("tenant-a", when)(asset_ids, latest)

        ids = [a.id for a in assets]
        result = repository.mark_deleted("tenant-a", [*reversed(ids), "nope"], record)
        assert calls == [(sorted(ids[:2]), later)]
        assert (list(result.deleted), list(result.missing)) == (sorted(ids[:2]), ["nope"])
        for asset in assets[:2]:
            assert repository.events_for("tenant-a", asset.id)[-1].at == when
        repository.finish_delete([a.storage_object_id for a in assets], when)
        purged: dict[str, dt.datetime | None] = {}

        def remember(asset: Asset) -> AssetEvent:
            purged[asset.id] = asset.deleted_at
            return purging(when)(asset)

        repository.purge_deleted(when + dt.timedelta(days=1), 10, remember)
        assert purged == {ids[0]: when, ids[1]: when, ids[2]: BASE_TIME}

    def test_purge_hands_each_removed_asset_over_once(self, repository: AssetRepository) -> None:
        """purge_deleted asks for one event per asset it removes, with the whole row."""
        asset = stored(repository, conversation_id="c1", user_id="u1")
        repository.mark_deleted("tenant-a", [asset.id], deleting("tenant-a", BASE_TIME))
        repository.finish_delete([asset.storage_object_id], BASE_TIME)
        seen: list[Asset] = []

        def remember(removed: Asset) -> AssetEvent:
            seen.append(removed)
            return purging(BASE_TIME)(removed)

        cut = BASE_TIME + dt.timedelta(days=1)
        assert repository.purge_deleted(cut, 10, remember) == (1, 1)
        assert repository.purge_deleted(cut, 10, remember) == (0, 0)
        assert seen == [attrs.evolve(asset, deleted_at=BASE_TIME, updated_at=BASE_TIME)]

    def test_an_event_id_is_stored_once(self, repository: AssetRepository) -> None:
        """add_events skips an event whose id is already stored (a URL issued again within
        its window is the same event)."""
        asset = stored(repository)
        event = AssetEvent(
            "e-once", asset.tenant_id, asset.id, EventKind.URL_ISSUED, BASE_TIME, "u1", {"n": 1}
        )
        repository.add_events([event])
        repository.add_events([attrs.evolve(event, details={"n": 2}), event])
        trail = repository.events_for("tenant-a", asset.id)
        assert [(e.id, e.details) for e in trail if e.event == EventKind.URL_ISSUED] == [
            ("e-once", {"n": 1})
        ]
