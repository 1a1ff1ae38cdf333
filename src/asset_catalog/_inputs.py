"""Validation of the facade's arguments: ids, content, metadata, filters."""

from __future__ import annotations

import binascii
import datetime as dt
import inspect
import json
import math
import re
import threading
import time
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from enum import StrEnum
from typing import Any, Literal, TypeVar

from ._limits import (
    MAX_EXPIRES_IN,
    MAX_HOST_ID_LENGTH,
    MAX_IDS_PER_CALL,
    MAX_LIST_LIMIT,
    MAX_METADATA_BYTES,
)
from .exceptions import InvalidContent, InvalidInput, PayloadTooLarge

__all__ = [
    "CHUNK",
    "aware_datetime",
    "chunks_of",
    "decode_image",
    "disposition",
    "enum_value",
    "expiry",
    "host_id",
    "id_list",
    "image_format",
    "image_option",
    "json_metadata",
    "list_limit",
    "mime_prefix",
    "optional_host_id",
    "plausible_id",
    "storable_text",
]

CHUNK = 1024 * 1024
"""The size of the chunks content is read and written in."""

E = TypeVar("E", bound=StrEnum)

#: Unicode's categories Cc (control) and Cs (surrogate), as one character class.
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_DATA_URL = re.compile(r"^data:[\w.+/-]*(?:;[\w=.+-]+)*;base64,", re.IGNORECASE)


def host_id(value: object, field: str) -> str:
    """An opaque host identifier: non-empty text, at most 255 characters, no control chars."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, not {type(value).__name__}")
    if not value:
        raise InvalidInput(field, "must not be empty")
    if len(value) > MAX_HOST_ID_LENGTH:
        raise InvalidInput(field, f"must be at most {MAX_HOST_ID_LENGTH} characters")
    if _CONTROL_OR_SURROGATE.search(value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def optional_host_id(value: object, field: str) -> str | None:
    return None if value is None else host_id(value, field)


def enum_value(enum: type[E], value: object, field: str) -> E | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(repr(m.value) for m in enum)
    raise InvalidInput(field, f"must be one of {allowed}")


def aware_datetime(value: object, field: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise InvalidInput(field, "must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, "must be timezone-aware")
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidInput(field, "is out of range in UTC") from None


def json_metadata(value: object, field: str = "metadata") -> dict[str, Any]:
    """A JSON object (finite numbers, string keys) of at most 64 KiB once encoded."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(field, "must be a mapping")
    try:
        text = json.dumps(dict(value), allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(field, f"must be JSON-serialisable: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput(field, "is nested too deeply") from exc
    if len(text) > MAX_METADATA_BYTES:
        raise InvalidInput(field, f"must be at most {MAX_METADATA_BYTES // 1024} KiB as JSON")
    result: dict[str, Any] = json.loads(text)
    pending: list[Any] = [result]
    while pending:  # every key and string, however deep
        item = pending.pop()
        if isinstance(item, str):
            storable_text(item, field)
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return result


def storable_text(value: str, field: str) -> str:
    """Text every database can store: no NUL character, no lone surrogate (not UTF-8)."""
    if "\x00" in value:
        raise InvalidInput(field, "must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "must be valid Unicode (no lone surrogates)") from None
    return value


_B64_SLICE = 256 * 1024
"""Characters of base64 decoded per call (192 KiB of bytes): each call holds the GIL only for
a fraction of a millisecond, so a large image decoded in a worker thread never stalls the
other threads (or an event loop) for long."""

_DECODING = threading.Lock()
"""One decode at a time in the process. Decoding is CPU work under the GIL, so threads
decoding at once are no faster than one after the other, but each runnable CPU-bound
thread delays every other thread, an event loop included, by up to a switch interval:
measured with ten 5 MiB images on eight worker threads, the loop's longest stall fell from
over 300 ms to a few ms (docs/benchmarks-async.md)."""


def _has_space(text: str) -> bool:
    """Whether ``text`` has whitespace; for ASCII (all base64 is) one ``find`` per kind, a
    fraction of what a regex scan costs (measured: 1.6 ms per 256 KiB slice)."""
    if not text.isascii():
        return True  # let str.split() decide on the rare non-ASCII text
    return any(space in text for space in " \n\r\t\x0b\x0c")


def decode_image(value: str, limit: int, field: str = "image") -> list[bytes]:
    """Decode base64 text as the image_generation tool returns it (a data: URL is accepted;
    line breaks are ignored) into chunks, one slice at a time.

    The whole text is checked before this returns, so invalid base64 is refused before
    anything is written; content over ``limit`` is refused before anything is decoded.
    """
    text = value.strip()
    prefix = _DATA_URL.match(text)
    start = prefix.end() if prefix else 0
    # Line breaks some encoders insert are dropped slice by slice (never the whole text in
    # one call).
    pieces = []
    for at in range(start, len(text), _B64_SLICE):
        piece = text[at : at + _B64_SLICE]
        pieces.append("".join(piece.split()) if _has_space(piece) else piece)
    if math.ceil(sum(map(len, pieces)) / 4) * 3 > limit + 3:
        raise PayloadTooLarge(field, limit)
    chunks: list[bytes] = []
    carry = ""
    last = len(pieces) - 1
    try:
        with _DECODING:
            for number, piece in enumerate(pieces):
                whole, carry = carry + piece, ""
                if number < last:  # decode whole quanta; the rest goes with the next slice
                    cut = len(whole) - len(whole) % 4
                    whole, carry = whole[:cut], whole[cut:]
                    if "=" in whole:  # padding is only valid at the very end
                        raise InvalidContent(field, "is not valid base64 (padding before the end)")
                # strict: only the alphabet, padding only at the end (as b64decode's validate)
                chunks.append(binascii.a2b_base64(whole.encode("ascii"), strict_mode=True))
                time.sleep(0)  # let a waiting thread (an event loop) run between slices
    except (binascii.Error, ValueError) as exc:
        if isinstance(exc, InvalidContent):
            raise
        raise InvalidContent(field, "is not valid base64") from exc
    if sum(map(len, chunks)) > limit:  # exact, now that it is known
        raise PayloadTooLarge(field, limit)
    return chunks


_NOT_CONTENT = "must be bytes, a binary file object or an iterable of bytes"


def chunks_of(content: object, field: str, limit: int) -> Iterator[bytes]:
    """Turn bytes, a binary stream or an iterable of chunks into an iterator of chunks.

    Content whose length is known up front is refused here, before anything is written.
    The contract in full: docs/api.md#content-sources.
    """
    if isinstance(content, bytes | bytearray | memoryview):
        try:
            view = memoryview(content)
        except ValueError:  # a released memoryview
            raise InvalidInput(field, "is a released memoryview") from None
        if view.nbytes > limit:
            raise PayloadTooLarge(field, limit)
        if not view.c_contiguous:  # a strided slice: copy it into plain bytes
            view = memoryview(view.tobytes())
        view = view.cast("B")
        return (bytes(view[i : i + CHUNK]) for i in range(0, len(view), CHUNK))
    if isinstance(content, str):
        raise InvalidInput(field, _NOT_CONTENT)
    read = getattr(content, "read", None)
    if isinstance(content, AsyncIterable) or inspect.iscoroutinefunction(read):
        raise InvalidInput(
            field, "is async (an async iterator or an async read()): use AsyncAssetCatalog"
        )
    if callable(read):
        return _read_stream(read, field)
    if isinstance(content, Iterable):
        return _checked(iter(content), field)
    raise InvalidInput(field, _NOT_CONTENT)


NOT_READY_WAIT = 30.0
"""Seconds a non-blocking stream may go without data (``read()`` returning None) before the
ingest gives up on it."""


def _read_stream(read: Any, field: str) -> Iterator[bytes]:
    """Chunks of a binary stream until ``read()`` returns ``b""`` (the end).

    ``None`` is not the end: a non-blocking stream (``io.RawIOBase``) says "no data yet".
    The read is tried again, backing off to 50 ms, and after ``NOT_READY_WAIT`` seconds
    without data the ingest fails (nothing is published) rather than keep a truncated copy.
    A short read is just a chunk: only ``b""`` ends the stream.
    """
    waited, pause = 0.0, 0.001
    while True:
        chunk = read(CHUNK)
        if chunk is None:
            if waited >= NOT_READY_WAIT:
                raise InvalidInput(
                    field,
                    f"stream had no data ready for {NOT_READY_WAIT:.0f} s (a "
                    "non-blocking stream whose read() kept returning None)",
                )
            time.sleep(pause)
            waited, pause = waited + pause, min(pause * 2, 0.05)
            continue
        if inspect.isawaitable(chunk):
            if inspect.iscoroutine(chunk):
                chunk.close()  # never awaited: close it without a warning
            raise InvalidInput(field, "stream's read() is async: use AsyncAssetCatalog")
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidInput(field, "stream must be opened in binary mode")
        data = _bytes(chunk, field, "stream")
        if not data:
            return
        waited, pause = 0.0, 0.001
        yield data


def _checked(chunks: Iterator[Any], field: str) -> Iterator[bytes]:
    for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise InvalidInput(field, f"chunks must be bytes, not {type(chunk).__name__}")
        yield _bytes(chunk, field, "chunk")


def _bytes(chunk: bytes | bytearray | memoryview, field: str, what: str) -> bytes:
    """A chunk as bytes (a copy, so a buffer the source re-uses cannot change it later)."""
    try:
        return bytes(chunk)
    except ValueError:  # a released memoryview
        raise InvalidInput(field, f"{what} gave a released memoryview") from None


def plausible_id(asset_id: object) -> bool:
    """Whether a value could be an asset id at all; anything else is simply not found.

    Never raises for odd text (NUL, control characters, 10 kB ids), which some databases would
    refuse with an error of their own.
    """
    if not isinstance(asset_id, str):
        raise InvalidInput("asset_id", "must be a string")
    return 0 < len(asset_id) <= 64 and asset_id.isprintable()


def id_list(values: Iterable[str] | None, field: str, limit: int = MAX_IDS_PER_CALL) -> list[str]:
    """A list of host ids, without duplicates, at most ``limit``; a lone string is refused."""
    if values is None:
        return []
    if isinstance(values, str | bytes | bytearray):
        raise InvalidInput(field, "must be a list of ids, not a single string")
    if isinstance(values, Mapping) or not isinstance(values, Iterable):
        raise InvalidInput(field, f"must be a list of ids, not {type(values).__name__}")
    ids: dict[str, None] = {}
    for count, value in enumerate(values, 1):
        ids[host_id(value, field)] = None
        # Distinct ids are capped; so are repeats (an endless iterator must end somewhere).
        if len(ids) > limit or count > 10 * limit:
            raise InvalidInput(field, f"at most {limit} ids per call")
    return list(ids)


_IMAGE_FORMATS = {"png": "png", "jpeg": "jpeg", "jpg": "jpeg", "webp": "webp", "gif": "gif"}


def image_format(value: object) -> str | None:
    """A declared image format (``png``, ``jpeg``/``jpg``, ``webp``, ``gif``), normalised."""
    if value is None:
        return None
    if not isinstance(value, str) or value.lower() not in _IMAGE_FORMATS:
        raise InvalidInput("format", "must be one of png, jpeg, webp, gif")
    return _IMAGE_FORMATS[value.lower()]


def image_option(value: object, field: str) -> str:
    """An image option recorded in the metadata (``quality``, ``size``, ``revised_prompt`` ...)."""
    if not isinstance(value, str) or len(value) > 32_000:
        raise InvalidInput(field, "must be a string of at most 32000 characters")
    return storable_text(value, field)


def list_limit(value: object) -> int:
    """A page size: a whole number from 1 to MAX_LIST_LIMIT."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIST_LIMIT:
        raise InvalidInput("limit", f"must be an integer from 1 to {MAX_LIST_LIMIT}")
    return value


def mime_prefix(value: object) -> str | None:
    """A literal MIME-type prefix (printable ASCII), lower-cased; None or empty for none."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) > 255
        or not (value.isascii() and value.isprintable())
    ):
        raise InvalidInput("mime_prefix", "must be printable ASCII of at most 255 characters")
    return value.lower() or None


def expiry(value: object) -> int:
    """A URL lifetime: whole seconds from 1 to MAX_EXPIRES_IN."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_EXPIRES_IN:
        raise InvalidInput("expires_in", f"must be whole seconds from 1 to {MAX_EXPIRES_IN}")
    return value


def disposition(value: object) -> Literal["inline", "attachment"] | None:
    """``inline``, ``attachment`` or None (the catalog chooses)."""
    if value is None or value == "inline" or value == "attachment":  # noqa: PLR1714 - narrows
        return value
    raise InvalidInput("disposition", "must be 'inline' or 'attachment'")
