"""``find`` and the provider-id list filters: "is this output already catalogued?"."""

from __future__ import annotations

import pytest

from asset_catalog import AssetCatalog, InvalidInput, SourceTool

from .images import png_bytes

CSV = b"a,b\n1,2\n"


class TestFind:
    """find answers from the idempotency key, for live assets of the tenant only."""

    def test_finds_an_image_by_its_tool_call(self, catalog: AssetCatalog) -> None:
        """The image of a tool call is found by the call's id; an unknown call is None."""
        image = catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id="ig_1")
        assert catalog.find("t1", tool_call_id="ig_1") == image
        assert catalog.find("t1", tool_call_id="ig_2") is None
        assert catalog.find("t2", tool_call_id="ig_1") is None

    def test_finds_a_container_file(self, catalog: AssetCatalog) -> None:
        """A container file is found by (container_id, file_id), and not by either alone."""
        doc = catalog.ingest_container_file(
            "t1", CSV, container_id="cntr_1", file_id="cfile_1", filename="a.csv"
        )
        assert catalog.find("t1", container_id="cntr_1", file_id="cfile_1") == doc
        assert catalog.find("t1", container_id="cntr_1", file_id="cfile_2") is None
        assert catalog.find("t1", container_id="cntr_2", file_id="cfile_1") is None

    def test_several_images_of_one_call_are_told_apart(self, catalog: AssetCatalog) -> None:
        """With output_index, each output of one tool call is its own asset, found by it."""
        first, second = (
            catalog.ingest_image(
                "t1",
                png_bytes(2 + i, 2),
                tool_call_id="ci_1",
                output_index=i,
                source_tool=SourceTool.CODE_INTERPRETER,
            )
            for i in range(2)
        )
        assert first.id != second.id
        assert catalog.find("t1", tool_call_id="ci_1", output_index=0) == first
        assert catalog.find("t1", tool_call_id="ci_1", output_index=1) == second
        assert catalog.find("t1", tool_call_id="ci_1") is None
        again = catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id="ci_1", output_index=0)
        assert again == first

    def test_a_deleted_asset_is_not_found(self, catalog: AssetCatalog) -> None:
        """After delete, the output is not catalogued any more (a retry makes a new asset)."""
        image = catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id="ig_1")
        catalog.delete("t1", image.id)
        assert catalog.find("t1", tool_call_id="ig_1") is None

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({}, "tool_call_id"),
            ({"tool_call_id": "c", "container_id": "x", "file_id": "y"}, "tool_call_id"),
            ({"file_id": "y"}, "container_id"),
            ({"container_id": "x"}, "file_id"),
            ({"container_id": "x", "file_id": "y", "output_index": 0}, "output_index"),
            ({"tool_call_id": "c", "output_index": -1}, "output_index"),
        ],
    )
    def test_bad_combinations_name_the_field(
        self, catalog: AssetCatalog, kwargs: dict[str, object], field: str
    ) -> None:
        """A lookup that is not one of the two kinds is InvalidInput naming what is wrong."""
        with pytest.raises(InvalidInput) as info:
            catalog.find("t1", **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field


class TestProviderFilters:
    """list filters on response, tool call, container and user."""

    def test_each_filter_selects_its_assets(self, catalog: AssetCatalog) -> None:
        """Every provider-id filter matches exactly, alone and with the others."""
        image = catalog.ingest_image(
            "t1", png_bytes(2, 2), tool_call_id="ig_1", response_id="resp_1", user_id="u1"
        )
        doc = catalog.ingest_container_file(
            "t1",
            CSV,
            container_id="cntr_1",
            file_id="f1",
            filename="a.csv",
            response_id="resp_1",
            tool_call_id="ci_1",
            user_id="u2",
        )

        def ids(**filters: str) -> list[str]:
            return [a.id for a in catalog.list("t1", **filters).items]  # type: ignore[arg-type]

        assert ids(response_id="resp_1") == [doc.id, image.id]
        assert ids(tool_call_id="ig_1") == [image.id]
        assert ids(tool_call_id="ci_1") == [doc.id]
        assert ids(container_id="cntr_1") == [doc.id]
        assert ids(user_id="u1") == [image.id]
        assert ids(user_id="u2", response_id="resp_1") == [doc.id]
        assert ids(user_id="u1", container_id="cntr_1") == []

    def test_a_cursor_is_bound_to_the_new_filters(self, catalog: AssetCatalog) -> None:
        """A cursor made with one response's filter is refused with another's."""
        for n in range(3):
            catalog.ingest_image("t1", png_bytes(2, 2), tool_call_id=f"ig_{n}", response_id="r1")
        page = catalog.list("t1", response_id="r1", limit=1)
        assert page.next_cursor is not None
        following = catalog.list("t1", response_id="r1", limit=1, cursor=page.next_cursor)
        assert following.items
        assert following.items[0] != page.items[0]
        with pytest.raises(InvalidInput):
            catalog.list("t1", response_id="r2", limit=1, cursor=page.next_cursor)
