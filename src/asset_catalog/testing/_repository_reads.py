"""The repository contract, reads: what every read must return, and never return."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .._models import AssetType, ObjectStatus, SourceTool
from ..protocols import AssetQuery, AssetRepository, Position
from ._builders import (
    BASE_TIME,
    deleting,
    make_object,
    stored,
)

__all__ = ["ReadContract"]


class ReadContract:
    """What a repository must return: live rows of the tenant asked for, keyset pages,
    every filter, and the cross-tenant walks ``reconcile``/``verify`` make."""

    def test_assets_are_invisible_to_other_tenants(self, repository: AssetRepository) -> None:
        """No read returns another tenant's asset."""
        asset = stored(repository, idempotency_key="k")
        assert repository.get_asset("tenant-b", asset.id) is None
        assert repository.get_assets("tenant-b", [asset.id]) == []
        assert repository.find_by_idempotency_key("tenant-b", "k") is None
        assert repository.list_assets("tenant-b", AssetQuery(), None, 10) == []
        assert repository.events_for("tenant-b", asset.id) == []

    def test_list_is_newest_first_with_id_tie_break(self, repository: AssetRepository) -> None:
        """Assets list by created_at descending, then id descending for equal timestamps."""
        same = [stored(repository) for _ in range(3)]
        later = stored(repository, created_at=BASE_TIME + dt.timedelta(microseconds=1))
        got = repository.list_assets("tenant-a", AssetQuery(), None, 10)
        expected = [later, *sorted(same, key=lambda a: a.id, reverse=True)]
        assert [a.id for a in got] == [a.id for a in expected]

    def test_list_continues_strictly_after_a_position(self, repository: AssetRepository) -> None:
        """Keyset pages neither repeat nor skip items, even across equal timestamps."""
        assets = [
            stored(repository, created_at=BASE_TIME + dt.timedelta(seconds=i // 2))
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
        image = stored(
            repository,
            asset_type=AssetType.IMAGE,
            source_tool=SourceTool.IMAGE_GENERATION,
            conversation_id="c1",
            agent_key="designer",
            mime_type="image/png",
            created_at=BASE_TIME + dt.timedelta(hours=1),
        )
        other = stored(repository, conversation_id="c2", mime_type="text/csv")

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

    def test_host_identifier_filters(self, repository: AssetRepository) -> None:
        """Each host identifier filter matches exactly its value, and only live assets."""
        filters: dict[str, Callable[[str], AssetQuery]] = {
            "user_id": lambda v: AssetQuery(user_id=v),
            "response_id": lambda v: AssetQuery(response_id=v),
            "tool_call_id": lambda v: AssetQuery(tool_call_id=v),
            "container_id": lambda v: AssetQuery(container_id=v),
            "message_id": lambda v: AssetQuery(message_id=v),
        }
        ids_of = tuple(filters)
        first = stored(repository, **{name: f"{name}-1" for name in ids_of})
        second = stored(repository, **{name: f"{name}-2" for name in ids_of})
        gone = stored(repository, **{name: f"{name}-1" for name in ids_of})
        repository.mark_deleted("tenant-a", [gone.id], deleting("tenant-a", BASE_TIME))
        stored(repository, "tenant-b", **{name: f"{name}-1" for name in ids_of})
        for name in ids_of:
            for value, expected in ((f"{name}-1", first), (f"{name}-2", second)):
                got = repository.list_assets("tenant-a", filters[name](value), None, 10)
                assert [a.id for a in got] == [expected.id], (name, value)
            assert repository.list_assets("tenant-a", filters[name]("x"), None, 10) == []

    def test_mime_prefix_is_literal(self, repository: AssetRepository) -> None:
        """LIKE metacharacters in mime_prefix match only themselves."""
        odd = stored(repository, mime_type="application/x_y%z")
        stored(repository, mime_type="application/xay-z")

        def ids(prefix: str) -> list[str]:
            query = AssetQuery(mime_prefix=prefix)
            return [a.id for a in repository.list_assets("tenant-a", query, None, 10)]

        assert ids("application/x_") == [odd.id]
        assert ids("application/x_y%") == [odd.id]
        assert ids("%") == []
        assert ids("_") == []

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
        live = stored(repository, "tenant-a")
        gone = stored(repository, "tenant-b")
        repository.mark_deleted("tenant-b", [gone.id], deleting("tenant-b", BASE_TIME))
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
        a = stored(repository, "tenant-a")
        pending = make_object("tenant-b")
        repository.add_pending_object(pending)
        got = repository.get_objects([a.storage_object_id, pending.id, "nope", "x\x00y"])
        assert sorted(o.id for o in got) == sorted([a.storage_object_id, pending.id])
        assert repository.get_objects([]) == []

    def test_conversation_ids_are_live_and_scoped(self, repository: AssetRepository) -> None:
        """asset_ids_in_conversation lists only the tenant's live assets of it."""
        keep = stored(repository, conversation_id="c1")
        gone = stored(repository, conversation_id="c1")
        stored(repository, "tenant-b", conversation_id="c1")
        stored(repository, conversation_id="c2")
        repository.mark_deleted("tenant-a", [gone.id], deleting("tenant-a", BASE_TIME))
        assert repository.asset_ids_in_conversation("tenant-a", "c1", 10) == [keep.id]

    def test_get_assets_fetches_a_batch(self, repository: AssetRepository) -> None:
        """get_assets returns the live assets among the ids and ignores the rest."""
        a, b = stored(repository), stored(repository)
        got = repository.get_assets("tenant-a", [a.id, "nope", b.id])
        assert sorted(x.id for x in got) == sorted([a.id, b.id])

    def test_get_assets_with_keys_joins_the_object_key(self, repository: AssetRepository) -> None:
        """get_assets_with_keys returns live assets of the tenant with their blob keys."""
        a, b, gone = stored(repository), stored(repository), stored(repository)
        other = stored(repository, "tenant-b")
        repository.mark_deleted("tenant-a", [gone.id], deleting("tenant-a", BASE_TIME))
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
