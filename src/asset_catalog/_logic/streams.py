"""Stream plumbing for ingest: read a head to sniff, then meter the rest while it is written."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from .._content.sniff import SNIFF_BYTES
from ..exceptions import PayloadTooLarge

__all__ = ["Meter", "read_head"]


#: Past this many bytes a stream is hashed in a thread of its own, one chunk behind the
#: write: sha256 and the storage's write both release the GIL, so a large stream costs
#: about the slower of the two instead of their sum. Small content is hashed inline (a
#: thread would cost more than it saves).
OVERLAP_AFTER = 8 * 1024 * 1024


class Meter:
    """Passes chunks through while hashing, counting and enforcing the size limit.

    The chunks are immutable ``bytes`` (the content sources copy what a source may re-use),
    so a chunk can be hashed while it is being written; at most one chunk is in the hasher
    at a time, and it is done before the next one is handed over or the stream ends.
    """

    def __init__(self, chunks: Iterator[bytes], limit: int, field: str) -> None:
        self._chunks = chunks
        self._limit = limit
        self._field = field
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        hasher: ThreadPoolExecutor | None = None
        hashing: Future[None] | None = None
        try:
            for chunk in self._chunks:
                self.size += len(chunk)
                if self.size > self._limit:
                    raise PayloadTooLarge(self._field, self._limit)
                if hashing is not None:
                    hashing.result()
                if hasher is None and self.size > OVERLAP_AFTER:
                    hasher = ThreadPoolExecutor(1, thread_name_prefix="asset-catalog-sha256")
                if hasher is not None:
                    hashing = hasher.submit(self.sha256.update, chunk)
                else:
                    self.sha256.update(chunk)
                yield chunk
            if hashing is not None:
                hashing.result()
        finally:
            if hasher is not None:
                hasher.shutdown(wait=True)  # the chunk in the hasher, at most


def read_head(chunks: Iterator[bytes], limit: int, field: str) -> tuple[bytes, Iterator[bytes]]:
    """Buffer up to SNIFF_BYTES from the front; return the head and the whole stream again."""
    buffered: list[bytes] = []
    size = 0
    for chunk in chunks:
        if not chunk:
            continue
        buffered.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(field, limit)
        if size >= SNIFF_BYTES:
            break
    head = b"".join(buffered)[:SNIFF_BYTES]
    return head, itertools.chain(buffered, chunks)
