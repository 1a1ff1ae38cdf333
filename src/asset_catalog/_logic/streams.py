"""Stream plumbing for ingest: read a head to sniff, then meter the rest while it is written."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator

from .._content.sniff import SNIFF_BYTES
from ..exceptions import PayloadTooLarge

__all__ = ["Meter", "read_head"]


class Meter:
    """Passes chunks through while hashing, counting and enforcing the size limit."""

    def __init__(self, chunks: Iterator[bytes], limit: int, field: str) -> None:
        self._chunks = chunks
        self._limit = limit
        self._field = field
        self.size = 0
        self.sha256 = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            if self.size > self._limit:
                raise PayloadTooLarge(self._field, self._limit)
            self.sha256.update(chunk)
            yield chunk


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
