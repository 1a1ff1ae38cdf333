"""The storage contract: every BlobStorage must pass these tests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from ..exceptions import InvalidInput, StorageError
from ..protocols import BatchSigningStorage, BlobStorage, SignRequest

__all__ = ["StorageContract"]

KEY = "t0123/2026/01/02/0000-aaaa.bin"
OTHER_KEY = "t0123/2026/01/02/0001-bbbb.txt"


class _Boom(Exception):
    pass


class StorageContract:
    """Behaviour every :class:`~asset_catalog.BlobStorage` must have.

    Subclasses provide a ``storage`` fixture: an empty storage private to the test.
    """

    def test_write_then_read_back(self, storage: BlobStorage) -> None:
        """Bytes written in chunks read back identical."""
        storage.write(KEY, [b"hello ", b"", b"world"])
        with storage.open(KEY) as stream:
            assert stream.read() == b"hello world"
        assert storage.exists(KEY)
        assert storage.size(KEY) == 11

    def test_write_replaces(self, storage: BlobStorage) -> None:
        """Writing a key again replaces its content."""
        storage.write(KEY, [b"first version"])
        storage.write(KEY, [b"second"])
        with storage.open(KEY) as stream:
            assert stream.read() == b"second"

    def test_large_streamed_write(self, storage: BlobStorage) -> None:
        """Many chunks stream through and the content hashes the same."""
        digest = hashlib.sha256()

        def chunks() -> Iterator[bytes]:
            for _ in range(96):
                chunk = os.urandom(64 * 1024)
                digest.update(chunk)
                yield chunk

        storage.write(KEY, chunks())
        got = hashlib.sha256()
        with storage.open(KEY) as stream:
            while block := stream.read(1 << 20):
                got.update(block)
        assert got.hexdigest() == digest.hexdigest()
        assert storage.size(KEY) == 96 * 64 * 1024

    def test_delete_is_idempotent(self, storage: BlobStorage) -> None:
        """Deleting removes a blob; deleting a missing blob is not an error."""
        storage.write(KEY, [b"x"])
        storage.delete(KEY)
        assert not storage.exists(KEY)
        storage.delete(KEY)

    def test_open_missing_is_a_storage_error(self, storage: BlobStorage) -> None:
        """Opening a key that does not exist raises StorageError."""
        with pytest.raises(StorageError):
            storage.open(KEY).read()

    def test_failing_source_propagates(self, storage: BlobStorage) -> None:
        """An error raised by the chunk source reaches the caller unchanged."""

        def chunks() -> Iterator[bytes]:
            yield b"partial"
            raise _Boom

        with pytest.raises(_Boom):
            storage.write(KEY, chunks())
        storage.delete(KEY)
        assert not storage.exists(KEY)

    def test_iter_keys_lists_under_prefix(self, storage: BlobStorage) -> None:
        """iter_keys yields the keys written, relative to the root, filtered by prefix."""
        keys = ["ta/2026/01/01/a.png", "ta/2026/01/02/b.csv", "tb/2026/01/01/c.bin"]
        for key in keys:
            storage.write(key, [key.encode()])
        assert list(storage.iter_keys()) == keys  # in name order, directory by directory
        assert list(storage.iter_keys("ta")) == keys[:2]
        assert list(storage.iter_keys("nothing-here")) == []

    def test_a_listing_survives_deletes_behind_it(self, storage: BlobStorage) -> None:
        """Blobs deleted (and their directories pruned) while iter_keys is under way, as
        when verify() runs beside deletes: the listing goes on, without them."""
        keys = ["ta/2026/01/01/a.png", "tb/2026/01/01/b.png", "tc/2026/01/01/c.png"]
        for key in keys:
            storage.write(key, [key.encode()])
        listing = storage.iter_keys()
        assert next(listing) == keys[0]
        storage.delete(keys[1])
        storage.delete(keys[2])
        assert list(listing) == []

    def test_exists_and_listing_follow_writes_and_deletes(self, storage: BlobStorage) -> None:
        """exists and iter_keys are right at once after a write or delete (no stale cache)."""
        assert not storage.exists(KEY)
        assert list(storage.iter_keys()) == []
        storage.write(KEY, [b"x"])
        assert storage.exists(KEY)
        assert list(storage.iter_keys()) == [KEY]
        storage.delete(KEY)
        assert not storage.exists(KEY)
        assert list(storage.iter_keys()) == []

    @pytest.mark.parametrize(
        "key", ["../escape.bin", "/abs/x.bin", "a//b.bin", "a/../b.bin", "a/./b", "", "a\x00b"]
    )
    def test_unsafe_keys_are_refused(self, storage: BlobStorage, key: str) -> None:
        """Keys with traversal, absolute paths or control characters never reach the backend."""
        with pytest.raises(InvalidInput):
            storage.write(key, [b"x"])

    def test_sign_agrees_with_can_sign(self, storage: BlobStorage) -> None:
        """sign returns a URL exactly when the storage says it can sign."""
        storage.write(KEY, [b"x"])
        url = storage.sign(
            KEY,
            expires_in=60,
            filename="x.bin",
            content_type="application/octet-stream",
            disposition="attachment",
        )
        assert (url is not None) == storage.can_sign

    def test_sign_many_agrees_with_sign(self, storage: BlobStorage) -> None:
        """A storage that signs batches gives a URL per request, in order, exactly when it can
        sign, each for its own key, expiry and response headers (as ``sign`` would)."""
        if not isinstance(storage, BatchSigningStorage):
            pytest.skip("this storage signs URL by URL (sign_many is optional)")
        storage.write(KEY, [b"x"])
        storage.write(OTHER_KEY, [b"y"])
        requests = [
            SignRequest(KEY, 60, "x.bin", "application/octet-stream", "attachment"),
            SignRequest(OTHER_KEY, 120, "y.txt", "text/plain", 'inline; filename="y.txt"'),
        ]
        urls = list(storage.sign_many(requests))
        assert len(urls) == 2
        assert all((url is not None) == storage.can_sign for url in urls)
        assert list(storage.sign_many([])) == []
        if storage.can_sign:
            first, second = (str(url) for url in urls)
            assert first != second
            assert KEY.rsplit("/", 1)[-1] in first
            assert OTHER_KEY.rsplit("/", 1)[-1] in second
