"""open_catalog(durable=True): blobs reach the disk before the asset is published."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from asset_catalog import AssetCatalog, open_catalog
from asset_catalog.sql import SqliteRepository
from asset_catalog.storage import FsspecStorage

from .images import png_bytes

SECRET = "durable-secret-0123456789abcdef"


class Journal:
    """Records fsyncs (by path) and the catalog's publishing commit, in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entries: list[str] = []
        real = os.fsync

        def fsync(fd: int) -> None:
            self.entries.append("fsync " + os.readlink(f"/proc/self/fd/{fd}"))
            real(fd)

        monkeypatch.setattr(os, "fsync", fsync)

    def watch_commits(self, catalog: AssetCatalog) -> None:
        repository = catalog.repository
        real = repository.complete_ingest

        def complete_ingest(*args: Any, **kwargs: Any) -> None:
            self.entries.append("complete_ingest")
            real(*args, **kwargs)

        repository.complete_ingest = complete_ingest  # type: ignore[method-assign]


def synchronous(catalog: AssetCatalog) -> int:
    repository = catalog.repository
    assert isinstance(repository, SqliteRepository)
    with repository.engine.connect() as conn:
        return int(conn.execute(text("PRAGMA synchronous")).scalar_one())


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_blob_and_directories_are_synced_before_the_asset_is_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = open_catalog(
        f"sqlite:///{tmp_path}/c.db", f"file://{tmp_path}/blobs", secret=SECRET, durable=True
    )
    journal = Journal(monkeypatch)
    journal.watch_commits(catalog)
    asset = catalog.ingest_image("t1", png_bytes(3, 3), tool_call_id="call-1")
    key = catalog.repository.get_object(asset.storage_object_id).key  # type: ignore[union-attr]
    blob = tmp_path / "blobs" / key
    published = journal.entries.index("complete_ingest")
    before = journal.entries[:published]
    # The blob, its day directory, and every new directory up to the root, in that order
    # of need: all before the commit that makes the asset visible.
    assert f"fsync {blob}" in before
    for directory in (blob.parent, *list(blob.parents)[1:4], tmp_path / "blobs"):
        assert f"fsync {directory}" in before, directory
    assert synchronous(catalog) == 2  # FULL
    catalog.close()


def test_default_is_not_synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = open_catalog(f"sqlite:///{tmp_path}/c.db", f"file://{tmp_path}/b", secret=SECRET)
    journal = Journal(monkeypatch)
    catalog.ingest_image("t1", png_bytes(3, 3))
    assert not [e for e in journal.entries if e.startswith("fsync")]
    assert synchronous(catalog) == 1  # NORMAL
    catalog.close()


def test_fsync_is_ignored_where_it_means_nothing() -> None:
    """Object stores and memory are durable (or not) on their own terms."""
    storage = FsspecStorage.from_url("memory://durable-test", fsync=True)
    storage.write("a/b.bin", [b"x"])
    assert storage.open("a/b.bin").read() == b"x"
    storage.delete("a/b.bin")


@pytest.mark.parametrize("value", ["OFF", "sometimes", 2])
def test_bad_synchronous(tmp_path: Path, value: object) -> None:
    with pytest.raises(ValueError, match="synchronous"):
        SqliteRepository(f"sqlite:///{tmp_path}/x.db", synchronous=value)  # type: ignore[arg-type]
