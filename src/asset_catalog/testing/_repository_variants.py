"""Contract tests of derived assets: variants (thumbnails), placeholders and lineage."""

from __future__ import annotations

import datetime as dt

from ..protocols import AssetQuery, AssetRepository
from ._builders import BASE_TIME, deleting, stored

__all__ = ["VariantContract"]


class VariantContract:
    """How a repository keeps variants (``variant_of``/``variant``), edit lineage
    (``source_asset_id``) and placeholders."""

    def test_variants_are_read_by_source_and_name(self, repository: AssetRepository) -> None:
        """get_variants_with_keys: the tenant's live variants of that name among the sources,
        with their keys; derived_from: variants and edits of one asset, oldest first."""
        # One second apart: ids made in the same millisecond are in no particular order.
        at = [BASE_TIME + dt.timedelta(seconds=n) for n in range(4)]
        image = stored(repository)
        thumb = stored(repository, variant_of=image.id, variant="thumbnail", created_at=at[1])
        preview = stored(repository, variant_of=image.id, variant="preview", created_at=at[2])
        stored(repository, "tenant-b", variant_of=image.id, variant="thumbnail")
        edit = stored(repository, source_asset_id=image.id, created_at=at[3])
        got = repository.get_variants_with_keys("tenant-a", [image.id, "nope"], "thumbnail")
        obj = repository.get_object(thumb.storage_object_id)
        assert obj is not None
        assert got == [(thumb, obj.key)]
        assert repository.get_variants_with_keys("tenant-a", [image.id], "\x00") == []
        derived = repository.derived_from("tenant-a", image.id)
        assert [a.id for a in derived] == [thumb.id, preview.id, edit.id]  # (created_at, id)
        assert repository.derived_from("tenant-b", thumb.id) == []

    def test_variants_are_not_listed_nor_counted(self, repository: AssetRepository) -> None:
        """list_assets, asset_ids_in_conversation and usage leave variants out."""
        image = stored(repository, conversation_id="c1")
        stored(repository, conversation_id="c1", variant_of=image.id, variant="thumbnail")
        assert [a.id for a in repository.list_assets("tenant-a", AssetQuery(), None, 10)] == [
            image.id
        ]
        assert repository.asset_ids_in_conversation("tenant-a", "c1", 10) == [image.id]
        (entry,) = repository.usage("tenant-a")
        assert (entry.assets, entry.bytes) == (1, image.size_bytes)

    def test_deleting_an_asset_deletes_its_variants_not_its_edits(
        self, repository: AssetRepository
    ) -> None:
        """mark_deleted takes the live variants of the given assets along (also of one
        deleted earlier), moves their objects to deleting, and leaves edits alone."""
        image = stored(repository)
        thumb = stored(repository, variant_of=image.id, variant="thumbnail")
        edit = stored(repository, source_asset_id=image.id)
        result = repository.mark_deleted("tenant-a", [image.id], deleting("tenant-a", BASE_TIME))
        assert sorted(result.deleted) == sorted([image.id, thumb.id])
        assert result.missing == ()
        assert {o.id for o in result.objects} == {
            image.storage_object_id,
            thumb.storage_object_id,
        }
        assert repository.get_asset("tenant-a", edit.id) is not None
        assert repository.get_asset("tenant-a", thumb.id) is None
        assert repository.usage("tenant-a")[0].assets == 1
        late = stored(repository, variant_of=image.id, variant="thumbnail")  # made meanwhile
        again = repository.mark_deleted("tenant-a", [image.id], deleting("tenant-a", BASE_TIME))
        assert list(again.deleted) == [late.id]
        assert repository.usage("tenant-a")[0].assets == 1

    def test_placeholder_is_set_on_a_live_asset(self, repository: AssetRepository) -> None:
        """set_placeholder writes it (updated_at unchanged); False for no such live asset."""
        image = stored(repository)
        uri = "data:image/webp;base64,UklGRg=="
        assert repository.set_placeholder("tenant-a", image.id, uri) is True
        got = repository.get_asset("tenant-a", image.id)
        assert got is not None
        assert (got.placeholder, got.updated_at) == (uri, image.updated_at)
        assert repository.set_placeholder("tenant-b", image.id, uri) is False
        repository.mark_deleted("tenant-a", [image.id], deleting("tenant-a", BASE_TIME))
        assert repository.set_placeholder("tenant-a", image.id, uri) is False
        assert repository.set_placeholder("tenant-a", "\x00", uri) is False
