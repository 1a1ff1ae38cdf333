"""The repository contract: every AssetRepository must pass these tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest

from .._models import Asset, AssetType, ObjectStatus, SourceTool
from ..exceptions import AssetNotFound, DuplicateKeyError, RepositoryError
from ..protocols import AssetQuery, AssetRepository, Position
from ._builders import BASE_TIME, created_event, make_asset, make_object

__all__ = ["RepositoryContract"]


def _stored(repo: AssetRepository, tenant: str = "tenant-a", **changes: Any) -> Asset:
    at = changes.pop("created_at", BASE_TIME)
    obj = make_object(tenant, at=at)
    repo.add_pending_object(obj)
    asset = make_asset(obj, **changes)
    repo.complete_ingest(asset, created_event(asset))
    return asset


class RepositoryContract:
    """Behaviour every :class:`~asset_catalog.AssetRepository` must have.

    Subclasses provide a ``repository`` fixture: a fresh repository with its schema created.
    """

    def test_pending_object_round_trips(self, repository: AssetRepository) -> None:
        """A pending object reads back field for field, timestamps to the microsecond."""
        obj = make_object()
        repository.add_pending_object(obj)
        assert repository.get_object(obj.id) == obj

    def test_timestamps_are_utc_whatever_zone_was_given(self, repository: AssetRepository) -> None:
        """A timestamp given in another zone reads back as the same instant in UTC."""
        zone = dt.timezone(dt.timedelta(hours=5, minutes=30))
        obj = make_object(at=BASE_TIME.astimezone(zone))
        repository.add_pending_object(obj)
        got = repository.get_object(obj.id)
        assert got is not None
        assert got.created_at == BASE_TIME
        assert got.created_at.utcoffset() == dt.timedelta(0)

    def test_complete_ingest_stores_object_asset_and_event(
        self, repository: AssetRepository
    ) -> None:
        """Completing an ingest marks the object stored and makes the asset visible."""
        asset = _stored(repository)
        assert repository.get_asset("tenant-a", asset.id) == asset
        obj = repository.get_object(asset.storage_object_id)
        assert obj is not None
        assert obj.status is ObjectStatus.STORED
        assert (obj.size_bytes, obj.sha256) == (asset.size_bytes, asset.sha256)
        assert [e.event for e in repository.events_for("tenant-a", asset.id)] == ["created"]

    def test_assets_are_invisible_to_other_tenants(self, repository: AssetRepository) -> None:
        """No read returns another tenant's asset."""
        asset = _stored(repository, idempotency_key="k")
        assert repository.get_asset("tenant-b", asset.id) is None
        assert repository.get_assets("tenant-b", [asset.id]) == []
        assert repository.find_by_idempotency_key("tenant-b", "k") is None
        assert repository.list_assets("tenant-b", AssetQuery(), None, 10) == []
        assert repository.events_for("tenant-b", asset.id) == []

    def test_duplicate_idempotency_key_is_refused_atomically(
        self, repository: AssetRepository
    ) -> None:
        """A second asset with a taken key raises DuplicateKeyError and writes nothing."""
        first = _stored(repository, idempotency_key="tool:1")
        obj = make_object()
        repository.add_pending_object(obj)
        loser = make_asset(obj, idempotency_key="tool:1")
        with pytest.raises(DuplicateKeyError):
            repository.complete_ingest(loser, created_event(loser))
        assert repository.get_asset("tenant-a", loser.id) is None
        assert repository.events_for("tenant-a", loser.id) == []
        pending = repository.get_object(obj.id)
        assert pending is not None
        assert pending.status is ObjectStatus.PENDING
        assert repository.find_by_idempotency_key("tenant-a", "tool:1") == first

    def test_complete_ingest_refuses_a_reclaimed_object(self, repository: AssetRepository) -> None:
        """An object reconcile() already marked failed cannot be published."""
        obj = make_object()
        repository.add_pending_object(obj)
        repository.mark_object_failed(obj.id, BASE_TIME)
        asset = make_asset(obj)
        with pytest.raises(RepositoryError):
            repository.complete_ingest(asset, created_event(asset))
        assert repository.get_asset("tenant-a", asset.id) is None
        failed = repository.get_object(obj.id)
        assert failed is not None
        assert failed.status is ObjectStatus.FAILED

    def test_same_idempotency_key_in_two_tenants(self, repository: AssetRepository) -> None:
        """Idempotency keys are scoped to a tenant."""
        a = _stored(repository, "tenant-a", idempotency_key="tool:1")
        b = _stored(repository, "tenant-b", idempotency_key="tool:1")
        assert repository.find_by_idempotency_key("tenant-a", "tool:1") == a
        assert repository.find_by_idempotency_key("tenant-b", "tool:1") == b

    def test_failed_marks_only_pending_objects(self, repository: AssetRepository) -> None:
        """mark_object_failed moves pending to failed and leaves stored objects alone."""
        obj = make_object()
        repository.add_pending_object(obj)
        repository.mark_object_failed(obj.id, BASE_TIME)
        failed = repository.get_object(obj.id)
        assert failed is not None
        assert failed.status is ObjectStatus.FAILED
        asset = _stored(repository)
        repository.mark_object_failed(asset.storage_object_id, BASE_TIME)
        stored = repository.get_object(asset.storage_object_id)
        assert stored is not None
        assert stored.status is ObjectStatus.STORED

    def test_list_is_newest_first_with_id_tie_break(self, repository: AssetRepository) -> None:
        """Assets list by created_at descending, then id descending for equal timestamps."""
        same = [_stored(repository) for _ in range(3)]
        later = _stored(repository, created_at=BASE_TIME + dt.timedelta(microseconds=1))
        got = repository.list_assets("tenant-a", AssetQuery(), None, 10)
        expected = [later, *sorted(same, key=lambda a: a.id, reverse=True)]
        assert [a.id for a in got] == [a.id for a in expected]

    def test_list_continues_strictly_after_a_position(self, repository: AssetRepository) -> None:
        """Keyset pages neither repeat nor skip items, even across equal timestamps."""
        assets = [
            _stored(repository, created_at=BASE_TIME + dt.timedelta(seconds=i // 2))
            for i in range(7)
        ]
        seen: list[str] = []
        after = None
        while True:
            page = repository.list_assets("tenant-a", AssetQuery(), after, 2)
            if not page:
                break
            seen += [a.id for a in page]
            after = Position(page[-1].created_at, page[-1].id)
        ordered = sorted(assets, key=lambda a: (a.created_at, a.id), reverse=True)
        assert seen == [a.id for a in ordered]

    def test_each_filter_selects_exactly_its_assets(self, repository: AssetRepository) -> None:
        """Every filter of AssetQuery agrees with the equivalent Python predicate."""
        image = _stored(
            repository,
            asset_type=AssetType.IMAGE,
            source_tool=SourceTool.IMAGE_GENERATION,
            conversation_id="c1",
            agent_key="designer",
            mime_type="image/png",
            created_at=BASE_TIME + dt.timedelta(hours=1),
        )
        other = _stored(repository, conversation_id="c2", mime_type="text/csv")

        def ids(query: AssetQuery) -> list[str]:
            return [a.id for a in repository.list_assets("tenant-a", query, None, 10)]

        assert ids(AssetQuery(asset_type=AssetType.IMAGE)) == [image.id]
        assert ids(AssetQuery(asset_type=AssetType.FILE)) == [other.id]
        assert ids(AssetQuery(source_tool=SourceTool.IMAGE_GENERATION)) == [image.id]
        assert ids(AssetQuery(conversation_id="c2")) == [other.id]
        assert ids(AssetQuery(agent_key="designer")) == [image.id]
        assert ids(AssetQuery(mime_prefix="image/")) == [image.id]
        assert ids(AssetQuery(created_after=BASE_TIME)) == [image.id]
        assert ids(AssetQuery(created_before=BASE_TIME + dt.timedelta(hours=1))) == [other.id]
        assert ids(AssetQuery(conversation_id="c1", mime_prefix="text/")) == []

    def test_mime_prefix_is_literal(self, repository: AssetRepository) -> None:
        """LIKE metacharacters in mime_prefix match only themselves."""
        odd = _stored(repository, mime_type="application/x_y%z")
        _stored(repository, mime_type="application/xay-z")

        def ids(prefix: str) -> list[str]:
            query = AssetQuery(mime_prefix=prefix)
            return [a.id for a in repository.list_assets("tenant-a", query, None, 10)]

        assert ids("application/x_") == [odd.id]
        assert ids("application/x_y%") == [odd.id]
        assert ids("%") == []
        assert ids("_") == []

    def test_link_by_ids_tool_calls_and_response(self, repository: AssetRepository) -> None:
        """link_message links by asset id, tool call id or response id, once each."""
        by_id = _stored(repository)
        by_call = _stored(repository, tool_call_id="call_1")
        by_response = _stored(repository, response_id="resp_1")
        at = BASE_TIME + dt.timedelta(minutes=1)

        def link(**kw: Any) -> list[str]:
            args: dict[str, Any] = {"asset_ids": None, "tool_call_ids": None, "response_id": None}
            args.update(kw)
            return repository.link_message("tenant-a", "m1", at=at, actor="u", **args)

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
        asset = _stored(repository, message_id="m1")
        linked = repository.link_message(
            "tenant-a",
            "m2",
            asset_ids=[asset.id],
            tool_call_ids=None,
            response_id=None,
            at=BASE_TIME,
            actor=None,
        )
        assert linked == []
        got = repository.get_asset("tenant-a", asset.id)
        assert got is not None
        assert got.message_id == "m1"

    def test_link_with_unknown_id_links_nothing(self, repository: AssetRepository) -> None:
        """An id that is not the tenant's live asset fails the whole call."""
        mine = _stored(repository)
        theirs = _stored(repository, "tenant-b")
        with pytest.raises(AssetNotFound):
            repository.link_message(
                "tenant-a",
                "m1",
                asset_ids=[mine.id, theirs.id],
                tool_call_ids=None,
                response_id=None,
                at=BASE_TIME,
                actor=None,
            )
        got = repository.get_asset("tenant-a", mine.id)
        assert got is not None
        assert got.message_id is None
        assert [e.event for e in repository.events_for("tenant-a", mine.id)] == ["created"]

    def test_mark_deleted_hides_asset_and_queues_blob(self, repository: AssetRepository) -> None:
        """A deleted asset disappears from reads and its object waits in `deleting`."""
        asset = _stored(repository, idempotency_key="k1")
        result = repository.mark_deleted("tenant-a", [asset.id], BASE_TIME, "user:7")
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
        asset = _stored(repository)
        repository.mark_deleted("tenant-a", [asset.id], BASE_TIME, None)
        again = repository.mark_deleted("tenant-a", [asset.id], BASE_TIME, None)
        assert list(again.deleted) == []
        assert [o.id for o in again.objects] == [asset.storage_object_id]
        repository.finish_delete([asset.storage_object_id], BASE_TIME)
        done = repository.mark_deleted("tenant-a", [asset.id], BASE_TIME, None)
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
        theirs = _stored(repository, "tenant-b")
        result = repository.mark_deleted("tenant-a", [theirs.id], BASE_TIME, None)
        assert list(result.missing) == [theirs.id]
        assert list(result.deleted) == []
        assert repository.get_asset("tenant-b", theirs.id) == theirs

    def test_same_idempotency_key_is_free_after_delete(self, repository: AssetRepository) -> None:
        """A deleted asset's idempotency key may be used by a new asset."""
        old = _stored(repository, idempotency_key="tool:9")
        repository.mark_deleted("tenant-a", [old.id], BASE_TIME, None)
        new = _stored(repository, idempotency_key="tool:9")
        assert repository.find_by_idempotency_key("tenant-a", "tool:9") == new

    def test_objects_in_status_finds_old_leftovers(self, repository: AssetRepository) -> None:
        """objects_in_status returns objects in that status created before the cut-off."""
        old = make_object(at=BASE_TIME)
        new = make_object(at=BASE_TIME + dt.timedelta(hours=2))
        repository.add_pending_object(old)
        repository.add_pending_object(new)
        cut = BASE_TIME + dt.timedelta(hours=1)
        assert [o.id for o in repository.objects_in_status(ObjectStatus.PENDING, cut, 10)] == [
            old.id
        ]
        assert repository.objects_in_status(ObjectStatus.DELETING, cut, 10) == []

    def test_objects_after_walks_every_object_in_id_order(
        self, repository: AssetRepository
    ) -> None:
        """objects_after pages through all objects of all tenants and statuses by id, each
        with the state of its asset (live, deleted or none)."""
        live = _stored(repository, "tenant-a")
        gone = _stored(repository, "tenant-b")
        repository.mark_deleted("tenant-b", [gone.id], BASE_TIME, None)
        pending = make_object("tenant-c")
        repository.add_pending_object(pending)
        expected = {
            live.storage_object_id: (ObjectStatus.STORED, True),
            gone.storage_object_id: (ObjectStatus.DELETING, False),
            pending.id: (ObjectStatus.PENDING, None),
        }
        seen: list[str] = []
        after: str | None = None
        while page := repository.objects_after(after, 2):
            assert len(page) <= 2
            for entry in page:
                assert (entry.object.status, entry.asset_live) == expected[entry.object.id]
                seen.append(entry.object.id)
            after = page[-1].object.id
        assert seen == sorted(expected)
        assert repository.objects_after(max(expected), 10) == []

    def test_get_objects_reads_a_batch_of_any_tenant(self, repository: AssetRepository) -> None:
        """get_objects returns the rows among the ids, whatever their tenant or status."""
        a = _stored(repository, "tenant-a")
        pending = make_object("tenant-b")
        repository.add_pending_object(pending)
        got = repository.get_objects([a.storage_object_id, pending.id, "nope", "x\x00y"])
        assert sorted(o.id for o in got) == sorted([a.storage_object_id, pending.id])
        assert repository.get_objects([]) == []

    def test_purge_deleted_removes_old_rows_and_keeps_the_trail(
        self, repository: AssetRepository
    ) -> None:
        """purge_deleted hard-deletes deleted assets and deleted/failed objects past the cut,
        once, with a `purged` event after the trail; live, recent and `deleting` rows stay."""
        old, recent, live, unfinished = (_stored(repository) for _ in range(4))
        for asset, at in ((old, BASE_TIME), (recent, BASE_TIME + dt.timedelta(days=30))):
            repository.mark_deleted("tenant-a", [asset.id], at, "user:1")
            repository.finish_delete([asset.storage_object_id], at)
        repository.mark_deleted("tenant-a", [unfinished.id], BASE_TIME, None)  # still deleting
        failed = make_object()
        repository.add_pending_object(failed)
        repository.mark_object_failed(failed.id, BASE_TIME)
        cut = BASE_TIME + dt.timedelta(days=7)
        now = BASE_TIME + dt.timedelta(days=37)

        assert repository.purge_deleted(cut, 100, now, "retention") == (1, 2)
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
        assert repository.purge_deleted(cut, 100, now, None) == (0, 0)
        # The purged asset's idempotency key and id are simply unknown now.
        assert list(repository.mark_deleted("tenant-a", [old.id], now, None).missing) == [old.id]

    def test_purge_deleted_works_in_batches(self, repository: AssetRepository) -> None:
        """purge_deleted removes at most ``limit`` objects per call."""
        assets = [_stored(repository) for _ in range(5)]
        repository.mark_deleted("tenant-a", [a.id for a in assets], BASE_TIME, None)
        repository.finish_delete([a.storage_object_id for a in assets], BASE_TIME)
        cut = BASE_TIME + dt.timedelta(days=1)
        counts = [repository.purge_deleted(cut, 2, cut, None) for _ in range(4)]
        assert counts == [(2, 2), (2, 2), (1, 1), (0, 0)]

    def test_conversation_ids_are_live_and_scoped(self, repository: AssetRepository) -> None:
        """asset_ids_in_conversation lists only the tenant's live assets of it."""
        keep = _stored(repository, conversation_id="c1")
        gone = _stored(repository, conversation_id="c1")
        _stored(repository, "tenant-b", conversation_id="c1")
        _stored(repository, conversation_id="c2")
        repository.mark_deleted("tenant-a", [gone.id], BASE_TIME, None)
        assert repository.asset_ids_in_conversation("tenant-a", "c1", 10) == [keep.id]

    def test_get_assets_fetches_a_batch(self, repository: AssetRepository) -> None:
        """get_assets returns the live assets among the ids and ignores the rest."""
        a, b = _stored(repository), _stored(repository)
        got = repository.get_assets("tenant-a", [a.id, "nope", b.id])
        assert sorted(x.id for x in got) == sorted([a.id, b.id])

    def test_get_assets_with_keys_joins_the_object_key(self, repository: AssetRepository) -> None:
        """get_assets_with_keys returns live assets of the tenant with their blob keys."""
        a, b, gone = _stored(repository), _stored(repository), _stored(repository)
        other = _stored(repository, "tenant-b")
        repository.mark_deleted("tenant-a", [gone.id], BASE_TIME, None)
        got = repository.get_assets_with_keys(
            "tenant-a", [a.id, "nope", b.id, gone.id, other.id, "\x00"]
        )
        expected = []
        for asset in (a, b):
            obj = repository.get_object(asset.storage_object_id)
            assert obj is not None
            expected.append((asset, obj.key))
        assert sorted(got, key=lambda pair: pair[0].id) == sorted(
            expected, key=lambda pair: pair[0].id
        )
        assert repository.get_assets_with_keys("tenant-a", []) == []

    def test_assets_keep_every_field(self, repository: AssetRepository) -> None:
        """Every Asset field survives the round trip unchanged."""
        asset = _stored(
            repository,
            asset_type=AssetType.IMAGE,
            conversation_id="c" * 255,
            message_id="m",
            tool_call_id="tc",
            response_id="r",
            container_id="cntr",
            openai_file_id="file",
            agent_key="agent",
            user_id="ユーザー",
            width=1024,
            height=768,
            idempotency_key="idem",
            metadata={"format": "png", "nested": {"list": [1, 2.5, True, None]}},
        )
        assert repository.get_asset("tenant-a", asset.id) == attrs.evolve(asset)
