"""``verify()``: the read-only audit of rows against blobs, apart from everything that
changes state.

Rows and blobs are walked in batches, across tenants, so memory stays bounded however large
the catalog is; suspected findings are checked again before they are reported, so a delete
finishing meanwhile is not mistaken for damage.
"""

from __future__ import annotations

import hashlib
import itertools
import posixpath
from collections import Counter
from collections.abc import Callable

from .._models import (
    FindingKind,
    ObjectStatus,
    StorageObject,
    VerifyFinding,
    VerifyProgress,
    VerifyReport,
)
from ..exceptions import InvalidInput, StorageError
from ..protocols import AssetRepository, BlobStorage
from .context import BATCH, Context

__all__ = ["verify"]

_READ = 1024 * 1024
#: Statuses whose row claims a blob: the blob is, or may still be, there.
_CLAIMING = frozenset({ObjectStatus.PENDING, ObjectStatus.STORED, ObjectStatus.DELETING})
_IN_FLIGHT = frozenset({ObjectStatus.PENDING, ObjectStatus.DELETING})


class _Findings:
    """Exact counts per kind; the findings themselves up to a limit (bounded memory)."""

    def __init__(self, limit: int) -> None:
        self.counts: Counter[FindingKind] = Counter()
        self.kept: list[VerifyFinding] = []
        self._limit = limit

    def add(self, kind: FindingKind, key: str, object_id: str | None, detail: str) -> None:
        self.counts[kind] += 1
        if len(self.kept) < self._limit:
            self.kept.append(VerifyFinding(kind, key, object_id, detail))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def verify(
    ctx: Context,
    *,
    checksums: bool,
    progress: Callable[[VerifyProgress], object] | None,
    max_findings: int,
) -> VerifyReport:
    """Check every row against its blob and every blob against the rows (see
    ``AssetCatalog.verify``)."""
    if isinstance(max_findings, bool) or not isinstance(max_findings, int) or max_findings < 0:
        raise InvalidInput("max_findings", "must be a whole number of zero or more")
    if progress is not None and not callable(progress):
        raise InvalidInput("progress", "must be callable")
    repository, storage = ctx.repository, ctx.storage
    findings = _Findings(max_findings)
    objects_checked = bytes_hashed = in_flight = 0

    # Phase 1: every row. Stored objects must have their blob, with the recorded size and
    # sha256, and belong to a live asset; a live asset's object must be stored.
    after: str | None = None
    while entries := repository.objects_after(after, BATCH):
        for obj, asset_live in entries:
            objects_checked += 1
            if obj.status in _IN_FLIGHT:
                in_flight += 1
            if obj.status is ObjectStatus.STORED:
                if asset_live is not True:
                    owner = "no asset" if asset_live is None else "a deleted asset"
                    findings.add(
                        FindingKind.BROKEN_ROW, obj.key, obj.id, f"stored object of {owner}"
                    )
                bytes_hashed += _check_blob(repository, storage, obj, checksums, findings)
            elif asset_live:
                findings.add(
                    FindingKind.BROKEN_ROW,
                    obj.key,
                    obj.id,
                    f"a live asset's object is {obj.status.value}",
                )
        after = entries[-1].object.id
        if progress is not None:
            progress(VerifyProgress("rows", objects_checked, findings.total))

    # Phase 2: every blob. The object id is the key's file name; a blob is an orphan unless
    # a row with that id and exactly that key still claims it.
    blobs_checked = 0
    keys = storage.iter_keys()
    while batch := list(itertools.islice(keys, BATCH)):
        blobs_checked += len(batch)
        _check_orphans(repository, storage, batch, findings)
        if progress is not None:
            progress(VerifyProgress("blobs", blobs_checked, findings.total))

    return VerifyReport(
        objects_checked=objects_checked,
        blobs_checked=blobs_checked,
        bytes_hashed=bytes_hashed,
        counts=dict(findings.counts),
        findings=tuple(findings.kept),
        in_flight=in_flight,
    )


def _check_blob(
    repository: AssetRepository,
    storage: BlobStorage,
    obj: StorageObject,
    checksums: bool,
    findings: _Findings,
) -> int:
    """Compare one stored object with its blob; return the bytes hashed."""
    try:
        if checksums:
            size, digest = _hash(storage, obj.key)
        else:
            size, digest = storage.size(obj.key), None
    except StorageError:
        if storage.exists(obj.key):
            raise  # the blob is there but could not be read: not a finding, a failure
        current = repository.get_object(obj.id)
        if current is not None and current.status is ObjectStatus.STORED:
            findings.add(FindingKind.MISSING_BLOB, obj.key, obj.id, "no blob at the key")
        return 0  # deleted meanwhile
    if size != obj.size_bytes:
        findings.add(
            FindingKind.SIZE_MISMATCH,
            obj.key,
            obj.id,
            f"blob has {size} bytes, row says {obj.size_bytes}",
        )
    elif digest is not None and digest != obj.sha256:
        findings.add(
            FindingKind.CHECKSUM_MISMATCH,
            obj.key,
            obj.id,
            f"blob sha256 {digest}, row says {obj.sha256}",
        )
    return size if checksums else 0


def _hash(storage: BlobStorage, key: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with storage.open(key) as stream:
        for chunk in iter(lambda: stream.read(_READ), b""):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def _object_id(key: str) -> str:
    return posixpath.basename(key).partition(".")[0]


def _check_orphans(
    repository: AssetRepository, storage: BlobStorage, keys: list[str], findings: _Findings
) -> None:
    rows = {o.id: o for o in repository.get_objects(sorted({_object_id(k) for k in keys}))}
    for key in keys:
        obj = rows.get(_object_id(key))
        if obj is not None and obj.key == key and obj.status in _CLAIMING:
            continue
        try:
            if not storage.exists(key):
                continue  # removed since it was listed (a delete finishing)
        except InvalidInput:
            pass  # a name the catalog never writes (a dotfile, spaces ...): not ours to touch
        detail = "no row" if obj is None or obj.key != key else f"its row is {obj.status.value}"
        findings.add(FindingKind.ORPHAN_BLOB, key, obj.id if obj else None, detail)
