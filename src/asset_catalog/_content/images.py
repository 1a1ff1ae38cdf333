"""Image headers: recognise PNG, JPEG, GIF and WebP headers and read their dimensions.

:func:`inspect_image` answers whether the head of a blob is a structurally valid PNG, JPEG, GIF
or WebP header, and what its dimensions are.  The structure is checked (chunk CRCs, JPEG segment
walk, WebP chunk layout), not just the magic number, and garbage never raises.  Standard library
only.

:data:`SNIFF_BYTES` is defined here because :func:`inspect_image` honours it; callers import it
from :mod:`asset_catalog._content.sniff`, which re-exports it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Final

import attrs

__all__ = [
    "SNIFF_BYTES",
    "ImageInfo",
    "inspect_image",
]

SNIFF_BYTES: Final[int] = 256 * 1024
"""The most head bytes callers should pass to :func:`sniff` / :func:`inspect_image`."""


@attrs.frozen
class ImageInfo:
    """The format and pixel dimensions read from a valid image header."""

    format: str
    """``"png"``, ``"jpeg"``, ``"webp"`` or ``"gif"``."""
    mime_type: str
    """``"image/png"``, ``"image/jpeg"``, ``"image/webp"`` or ``"image/gif"``."""
    width: int
    height: int


_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_DIMENSION: Final = 2**31
# Allowed bit depths for each PNG colour type (PNG spec, table 11.1).
_PNG_BIT_DEPTHS: Final[dict[int, frozenset[int]]] = {
    0: frozenset({1, 2, 4, 8, 16}),
    2: frozenset({8, 16}),
    3: frozenset({1, 2, 4, 8}),
    4: frozenset({8, 16}),
    6: frozenset({8, 16}),
}
_JPEG_SOF_MARKERS: Final = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
# Markers that stand alone (no length field): TEM and RST0..RST7.
_JPEG_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_GIF_SIGNATURES: Final = (b"GIF87a", b"GIF89a")


def _inspect_png(head: bytes) -> ImageInfo | None:
    # signature(8) + length(4) + "IHDR"(4) + data(13) + crc(4)
    if len(head) < 33 or not head.startswith(_PNG_SIGNATURE):
        return None
    length, chunk_type = struct.unpack_from(">I4s", head, 8)
    if length != 13 or chunk_type != b"IHDR":
        return None
    data = head[16:29]
    (crc,) = struct.unpack_from(">I", head, 29)
    if zlib.crc32(chunk_type + data) != crc:
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", data
    )
    if not (0 < width < _PNG_MAX_DIMENSION and 0 < height < _PNG_MAX_DIMENSION):
        return None
    if depth not in _PNG_BIT_DEPTHS.get(colour, frozenset()):
        return None
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        return None
    return ImageInfo(format="png", mime_type="image/png", width=width, height=height)


def _inspect_jpeg(head: bytes) -> ImageInfo | None:
    if not head.startswith(b"\xff\xd8"):
        return None
    pos = 2
    size = len(head)
    while True:
        # Every segment starts with 0xFF; any number of 0xFF fill bytes may precede the marker.
        if pos >= size or head[pos] != 0xFF:
            return None
        while pos < size and head[pos] == 0xFF:
            pos += 1
        if pos >= size:
            return None
        marker = head[pos]
        pos += 1
        if marker in _JPEG_STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            # A stuffed zero, a second SOI, EOI or start-of-scan before any frame header.
            return None
        if pos + 2 > size:
            return None
        (length,) = struct.unpack_from(">H", head, pos)
        if length < 2:
            return None
        if marker in _JPEG_SOF_MARKERS:
            if length < 8 or pos + 8 > size:
                return None
            _precision, height, width, components = struct.unpack_from(">BHHB", head, pos + 2)
            if components == 0 or length != 8 + 3 * components:
                return None
            if width == 0 or height == 0:
                return None
            return ImageInfo(format="jpeg", mime_type="image/jpeg", width=width, height=height)
        pos += length


def _inspect_gif(head: bytes) -> ImageInfo | None:
    if len(head) < 13 or head[:6] not in _GIF_SIGNATURES:
        return None
    width, height = struct.unpack_from("<HH", head, 6)
    if width == 0 or height == 0:
        return None
    return ImageInfo(format="gif", mime_type="image/gif", width=width, height=height)


def _inspect_webp(head: bytes) -> ImageInfo | None:
    # "RIFF" size "WEBP" fourcc chunk-size
    if len(head) < 20 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    (riff_size,) = struct.unpack_from("<I", head, 4)
    fourcc, chunk_size = struct.unpack_from("<4sI", head, 12)
    if riff_size < 12 or chunk_size > riff_size - 12:
        return None
    data = head[20:]
    width = height = 0
    if fourcc == b"VP8 ":
        # 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (+2 scale bits).
        if chunk_size < 10 or len(data) < 10:
            return None
        if data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":  # bit 0 clear means key frame
            return None
        raw_width, raw_height = struct.unpack_from("<HH", data, 6)
        width, height = raw_width & 0x3FFF, raw_height & 0x3FFF
    elif fourcc == b"VP8L":
        # Signature 0x2f, then 14-bit width-1, 14-bit height-1, alpha bit, 3-bit version (0).
        if chunk_size < 5 or len(data) < 5 or data[0] != 0x2F:
            return None
        (bits,) = struct.unpack_from("<I", data, 1)
        if bits >> 29 != 0:
            return None
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif fourcc == b"VP8X":
        # Flags(1) reserved(3) then 24-bit canvas width-1 and height-1.
        if chunk_size < 10 or len(data) < 10:
            return None
        width = int.from_bytes(data[4:7], "little") + 1
        height = int.from_bytes(data[7:10], "little") + 1
    else:
        return None
    if width == 0 or height == 0:
        return None
    return ImageInfo(format="webp", mime_type="image/webp", width=width, height=height)


def inspect_image(head: bytes) -> ImageInfo | None:
    """Return the format and size of a PNG, JPEG, GIF or WebP header, else ``None``.

    ``head`` is the beginning of the blob; only its first :data:`SNIFF_BYTES` are examined.  The
    header structure is validated -- PNG IHDR length, fields and CRC, the JPEG segment walk up to
    the frame header, the GIF logical screen, the WebP RIFF chunk layout -- so a matching magic
    number followed by garbage, or a header cut short, gives ``None``.  Never raises.
    """
    head = bytes(head[:SNIFF_BYTES])
    if head.startswith(_PNG_SIGNATURE):
        return _inspect_png(head)
    if head.startswith(b"\xff\xd8"):
        return _inspect_jpeg(head)
    if head[:6] in _GIF_SIGNATURES:
        return _inspect_gif(head)
    if head[:4] == b"RIFF":
        return _inspect_webp(head)
    return None


def _looks_like_image(head: bytes) -> bool:
    """Whether the head starts with an image magic number (valid or not)."""
    return (
        head.startswith(_PNG_SIGNATURE)
        or head.startswith(b"\xff\xd8\xff")
        or head[:6] in _GIF_SIGNATURES
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )
