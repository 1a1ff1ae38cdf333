"""export(): a tenant's (a user's, a conversation's) assets and audit trails, to a directory
or as a tar stream, checked, in bounded memory."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import tarfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from asset_catalog import (
    Asset,
    AssetCatalog,
    AsyncAssetCatalog,
    ExportReport,
    InvalidInput,
    StorageError,
)

from .images import png_bytes


class PipeOnly(io.RawIOBase):
    """A sink that can only be written to, like a socket or a pipe (no seek, no tell)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += bytes(chunk)
        return len(chunk)


def seed(catalog: AssetCatalog) -> dict[str, Asset]:
    """Tenant t1: an image of user u1 in conv-1, a file of u2, a deleted file of u1; and
    another tenant's asset of the same user id."""
    image = catalog.ingest_image(
        "t1", png_bytes(6, 4), tool_call_id="ig_1", conversation_id="conv-1", user_id="u1"
    )
    doc = catalog.ingest_upload("t1", b"a,b\n1,2\n" * 100, filename="r.csv", user_id="u2")
    gone = catalog.ingest_upload("t1", b"bye", filename="gone.txt", user_id="u1")
    catalog.delete("t1", gone.id)
    catalog.link_message("t1", "msg-1", asset_ids=[image.id])
    theirs = catalog.ingest_upload("t2", b"not yours", filename="x.txt", user_id="u1")
    return {"image": image, "doc": doc, "gone": gone, "theirs": theirs}


def read_manifest(lines: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.decode().splitlines()]


class TestToADirectory:
    def test_everything_of_the_tenant_and_nothing_else(
        self, catalog: AssetCatalog, tmp_path: Path
    ) -> None:
        """Every live asset's bytes under files/{id}/{name}, and one manifest line each
        with its JSON form and audit trail; deleted assets and other tenants' are absent."""
        seeded = seed(catalog)
        report = catalog.export("t1", tmp_path / "out")
        live = [seeded["doc"], seeded["image"]]  # newest first
        assert report == ExportReport(assets=2, bytes=sum(a.size_bytes for a in live))
        manifest = read_manifest((tmp_path / "out" / "manifest.jsonl").read_bytes())
        assert [entry["asset"]["id"] for entry in manifest] == [a.id for a in live]
        for entry, asset in zip(manifest, live, strict=True):
            data = (tmp_path / "out" / entry["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == asset.sha256
            assert entry["path"] == f"files/{asset.id}/{asset.filename}"
            assert "tenant_id" not in entry["asset"]
            assert [e["event"] for e in entry["events"]] == [
                e.event for e in catalog.events("t1", asset.id)
            ]
        assert [e["event"] for e in manifest[1]["events"]] == ["created", "linked"]
        files = {p.name for p in (tmp_path / "out").rglob("*") if p.is_file()}
        assert files == {"manifest.jsonl", "r.csv", seeded["image"].filename}

    @pytest.mark.parametrize(
        ("scope", "expected"),
        [
            ({"user_id": "u1"}, "image"),
            ({"conversation_id": "conv-1"}, "image"),
            ({"user_id": "u2"}, "doc"),
        ],
    )
    def test_one_user_or_one_conversation(
        self, catalog: AssetCatalog, tmp_path: Path, scope: dict[str, str], expected: str
    ) -> None:
        """user_id / conversation_id narrow the export to that user's or conversation's."""
        seeded = seed(catalog)
        report = catalog.export("t1", tmp_path / "out", **scope)
        manifest = read_manifest((tmp_path / "out" / "manifest.jsonl").read_bytes())
        assert [entry["asset"]["id"] for entry in manifest] == [seeded[expected].id]
        assert report.assets == 1

    def test_refused_targets_write_nothing(self, catalog: AssetCatalog, tmp_path: Path) -> None:
        """A directory that is not empty, a file, something that is neither a path nor a
        stream, a bad user id: InvalidInput naming the field, and nothing written."""
        seed(catalog)
        tmp_path = tmp_path / "targets"
        (tmp_path / "busy").mkdir(parents=True)
        (tmp_path / "busy" / "keep.txt").write_text("mine")
        (tmp_path / "a-file").write_text("mine")
        for target in (tmp_path / "busy", tmp_path / "a-file"):
            with pytest.raises(InvalidInput) as info:
                catalog.export("t1", target)
            assert info.value.field == "target"
        with pytest.raises(InvalidInput) as info:
            catalog.export("t1", 42)  # type: ignore[arg-type]
        assert info.value.field == "target"
        with pytest.raises(InvalidInput) as info:
            catalog.export("t1", tmp_path / "new", user_id="")
        assert info.value.field == "user_id"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "busy"]
        assert [p.name for p in (tmp_path / "busy").iterdir()] == ["keep.txt"]

    def test_a_blob_altered_behind_the_catalog_is_an_error(
        self, local_catalog: AssetCatalog, tmp_path: Path
    ) -> None:
        """The copy is checked against the recorded sha256: a tampered blob is a
        StorageError, never a silently wrong export."""
        seeded = seed(local_catalog)
        obj = local_catalog.repository.get_object(seeded["doc"].storage_object_id)
        assert obj is not None
        blob = Path(local_catalog.storage.root) / obj.key  # type: ignore[attr-defined]
        blob.write_bytes(b"x" * obj.size_bytes)  # type: ignore[operator]
        with pytest.raises(StorageError):
            local_catalog.export("t1", tmp_path / "out")

    def test_a_name_edited_into_a_path_stays_in_its_folder(
        self, local_catalog: AssetCatalog, tmp_path: Path
    ) -> None:
        """A row edited by hand to hold ``../../evil``: exported as files/{id}/file."""
        asset = local_catalog.ingest_upload("t1", b"x", filename="x.txt")
        repository: Any = local_catalog.repository
        with repository.engine.begin() as conn:
            table = repository.tables.assets
            conn.execute(table.update().where(table.c.id == asset.id).values(filename="../../evil"))
        local_catalog.export("t1", tmp_path / "out" / "here")
        assert (tmp_path / "out" / "here" / "files" / asset.id / "file").read_bytes() == b"x"
        assert not (tmp_path / "out" / "evil").exists()
        assert not (tmp_path / "evil").exists()


class TestAsATarStream:
    def test_a_stream_that_cannot_seek(self, catalog: AssetCatalog) -> None:
        """To a write-only sink: a tar with every file, then the manifest."""
        seeded = seed(catalog)
        sink = PipeOnly()
        report = catalog.export("t1", sink)
        assert report.assets == 2
        with tarfile.open(fileobj=io.BytesIO(bytes(sink.data))) as tar:
            names = tar.getnames()
            assert names[-1] == "manifest.jsonl"
            manifest = read_manifest(tar.extractfile("manifest.jsonl").read())  # type: ignore[union-attr]
            for entry in manifest:
                data = tar.extractfile(entry["path"]).read()  # type: ignore[union-attr]
                asset = (
                    seeded["doc"] if entry["asset"]["id"] == seeded["doc"].id else seeded["image"]
                )
                assert hashlib.sha256(data).hexdigest() == asset.sha256
        assert len(names) == 3

    def test_memory_stays_bounded(self, local_catalog: AssetCatalog) -> None:
        """48 MiB in 16 files streamed out: the peak traced memory stays a few MiB."""
        block = os.urandom(1 << 20)
        for n in range(16):
            chunks = (block for _ in range(3))
            local_catalog.ingest_container_file(
                "t1", chunks, container_id="c", file_id=f"f{n}", filename=f"f{n}.bin"
            )

        class Discard(io.RawIOBase):
            def writable(self) -> bool:
                return True

            def write(self, chunk: Any) -> int:
                return len(chunk)

        tracemalloc.start()
        try:
            report = local_catalog.export("t1", Discard())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.bytes == 48 << 20
        assert peak < 8 << 20, f"{peak / 2**20:.1f} MiB"


def test_the_async_facade_exports_too(local_catalog: AssetCatalog, tmp_path: Path) -> None:
    """await export(...) on the async catalog, off the event loop."""
    seed(local_catalog)

    async def main() -> ExportReport:
        async with AsyncAssetCatalog(local_catalog) as catalog:
            return await catalog.export("t1", tmp_path / "out", user_id="u2")

    assert asyncio.run(main()).assets == 1
