"""Byte-for-byte snapshots of everything a catalog has written, shared by the hostile-input,
corpus, fuzz and isolation tests.

:func:`snapshot` captures every storage key with its bytes, every path under the storage root
(directories too) and every row of the three tables; two snapshots compare equal only when
nothing at all changed.  :meth:`Snapshot.of_tenant` keeps one tenant's part (its rows, and the
blobs and paths under its storage prefix), for checks that another tenant's calls left it alone.
:func:`added` is what a call added, for checks that it added exactly what it may (a published
asset's rows and blob, or a failed ingest's one ``failed`` row) and changed nothing else.
"""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import text

from asset_catalog import AssetCatalog, BlobStorage
from asset_catalog._logic.keys import tenant_token
from asset_catalog.storage import FsspecStorage

__all__ = ["Added", "Snapshot", "added", "snapshot"]


@attrs.frozen
class Snapshot:
    """Everything a catalog has written: blobs, paths under the root, and all table rows."""

    blobs: dict[str, bytes]
    paths: tuple[str, ...]
    objects: list[dict[str, Any]]
    assets: list[dict[str, Any]]
    events: list[dict[str, Any]]
    usage: list[dict[str, Any]]

    def of_tenant(self, tenant_id: str) -> Snapshot:
        """Only ``tenant_id``'s rows, and its blobs and paths (under its storage prefix)."""
        prefix = tenant_token(tenant_id)
        return Snapshot(
            blobs={k: v for k, v in self.blobs.items() if k.split("/", 1)[0] == prefix},
            paths=tuple(p for p in self.paths if f"/{prefix}/" in f"{p}/"),
            objects=[r for r in self.objects if r["tenant_id"] == tenant_id],
            assets=[r for r in self.assets if r["tenant_id"] == tenant_id],
            events=[r for r in self.events if r["tenant_id"] == tenant_id],
            usage=[r for r in self.usage if r["tenant_id"] == tenant_id],
        )

    def size(self) -> int:
        """How many blobs and rows there are (to check a snapshot is not trivially empty)."""
        return len(self.blobs) + len(self.objects) + len(self.assets) + len(self.events)


def _read(storage: BlobStorage, key: str) -> bytes:
    if isinstance(storage, FsspecStorage):  # straight from the filesystem: quicker than open()
        data: bytes = storage.fs.cat_file(f"{storage.root}/{key}")
        return data
    with storage.open(key) as handle:
        return handle.read()


def snapshot(catalog: AssetCatalog, tenant_id: str | None = None) -> Snapshot:
    """Capture every storage key with its bytes and every row of the four tables.

    Rows are read as the database returns them (plain SQL, no column type conversion), so a
    change in any stored value shows. With ``tenant_id``, only that tenant's part is read (its
    storage prefix and its rows): the same as ``snapshot(catalog).of_tenant(tenant_id)``, at a
    cost that does not grow with other tenants' data.
    """
    storage = catalog.storage
    prefix = tenant_token(tenant_id) if tenant_id is not None else ""
    blobs = {key: _read(storage, key) for key in storage.iter_keys(prefix)}
    paths: tuple[str, ...] = ()
    if isinstance(storage, FsspecStorage):
        top = f"{storage.root}/{prefix}" if prefix else storage.root
        if storage.fs.exists(top):
            # Directories too: a rejected ingest must not even leave an empty folder.
            found = storage.fs.find(top, withdirs=True)
            paths = tuple(sorted({*found, top} if prefix else found))
    repository: Any = catalog.repository
    rows: dict[str, list[dict[str, Any]]] = {}
    with repository.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.format_table
        usage_order = "tenant_id, asset_type, source_tool"
        for name, order in (
            ("objects", "id"),
            ("assets", "id"),
            ("events", "id"),
            ("usage", usage_order),
        ):
            sql = f"SELECT * FROM {quote(getattr(repository.tables, name))}"
            if tenant_id is not None:
                sql += " WHERE tenant_id = :tenant"
            result = conn.execute(text(f"{sql} ORDER BY {order}"), {"tenant": tenant_id})
            rows[name] = [dict(row) for row in result.mappings()]
    return Snapshot(blobs=blobs, paths=paths, **rows)


@attrs.frozen
class Added:
    """What one snapshot has that an earlier one had not: new blobs, paths and rows."""

    blobs: dict[str, bytes]
    paths: tuple[str, ...]
    objects: list[dict[str, Any]]
    assets: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def nothing(self) -> bool:
        return not (self.blobs or self.paths or self.objects or self.assets or self.events)


def added(before: Snapshot, after: Snapshot) -> Added:
    """What ``after`` added to ``before``; fails if anything ``before`` held changed or went."""
    changed = [k for k, v in before.blobs.items() if after.blobs.get(k) != v]
    assert not changed, f"blobs changed or removed: {changed}"
    assert set(before.paths) <= set(after.paths), "paths removed"
    new_rows: dict[str, list[dict[str, Any]]] = {}
    for name in ("objects", "assets", "events"):
        old, new = getattr(before, name), getattr(after, name)
        assert [row for row in new if row in old] == old, f"{name} rows changed or removed"
        new_rows[name] = [row for row in new if row not in old]
    return Added(
        blobs={k: v for k, v in after.blobs.items() if k not in before.blobs},
        paths=tuple(p for p in after.paths if p not in before.paths),
        **new_rows,
    )
