"""Build small, genuinely decodable image files from scratch (stdlib only) for the tests.

Every builder returns a complete file whose headers a real decoder accepts:

* :func:`png_bytes` -- 8-bit greyscale PNG: signature, IHDR, one IDAT of zlib-compressed
  scanlines, IEND, all CRCs correct.
* :func:`jpeg_bytes` -- baseline greyscale JFIF: SOI, APP0, DQT, SOF0, DHT (DC and AC), SOS, an
  entropy-coded scan of all-zero blocks, EOI.
* :func:`gif_bytes` -- GIF89a with a two-colour global table and one LZW-coded image.
* :func:`webp_bytes` -- RIFF/WEBP with a ``VP8 `` (lossy key-frame header), ``VP8L`` (complete
  lossless bitstream) or ``VP8X`` (extended header followed by a ``VP8L`` image) chunk.
"""

from __future__ import annotations

import struct
import zlib
from typing import Literal

__all__ = ["gif_bytes", "jpeg_bytes", "png_bytes", "webp_bytes"]


def _png_chunk(chunk_type: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(chunk_type + data)
    return struct.pack(">I", len(data)) + chunk_type + data + struct.pack(">I", crc)


def png_bytes(width: int, height: int) -> bytes:
    """A valid 8-bit greyscale PNG of ``width`` x ``height`` black pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    scanlines = (b"\x00" + b"\x00" * width) * height  # filter type 0 + one byte per pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(scanlines))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_bytes(width: int, height: int) -> bytes:
    """A valid baseline greyscale JPEG of ``width`` x ``height`` mid-grey pixels."""
    app0 = b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, 0, 1, 1, 0, 0)
    dqt = b"\x00" + b"\x01" * 64  # 8-bit table 0, all quantisers 1
    sof0 = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    # One-symbol Huffman tables: code "0" is DC difference category 0, resp. AC end-of-block.
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"
    dht = b"\x00" + one_code + b"\x10" + one_code
    sos = b"\x01\x01\x00\x00\x3f\x00"
    blocks = -(-width // 8) * -(-height // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)  # pad the last byte with 1-bits
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big")
    return (
        b"\xff\xd8"
        + _jpeg_segment(0xE0, app0)
        + _jpeg_segment(0xDB, dqt)
        + _jpeg_segment(0xC0, sof0)
        + _jpeg_segment(0xC4, dht)
        + _jpeg_segment(0xDA, sos)
        + scan
        + b"\xff\xd9"
    )


def _gif_lzw(pixel_count: int) -> bytes:
    """LZW data (minimum code size 2) for ``pixel_count`` pixels of colour 0.

    A clear code every two pixels keeps the code width at 3 bits, so no real compressor is
    needed.
    """
    clear, end = 4, 5
    codes = []
    for index in range(pixel_count):
        if index % 2 == 0:
            codes.append(clear)
        codes.append(0)
    codes.append(end)
    accumulator = 0
    for position, code in enumerate(codes):
        accumulator |= code << (3 * position)  # LZW bits are packed least significant first
    return accumulator.to_bytes(-(-3 * len(codes) // 8), "little")


def gif_bytes(width: int, height: int) -> bytes:
    """A valid GIF89a of ``width`` x ``height`` black pixels."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0)  # 2-colour global table
    palette = b"\x00\x00\x00\xff\xff\xff"
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    data = _gif_lzw(width * height)
    sub_blocks = b"".join(
        bytes([len(data[i : i + 255])]) + data[i : i + 255] for i in range(0, len(data), 255)
    )
    return b"GIF89a" + screen + palette + descriptor + b"\x02" + sub_blocks + b"\x00" + b"\x3b"


def _riff_chunk(fourcc: bytes, data: bytes) -> bytes:
    padding = b"\x00" * (len(data) % 2)
    return fourcc + struct.pack("<I", len(data)) + data + padding


def _vp8l(width: int, height: int) -> bytes:
    """A complete VP8L bitstream for an opaque black image."""
    header = b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14 | 1 << 28)
    # No transform, no colour cache, no meta prefix codes (3 zero bits), then five "simple"
    # one-symbol prefix codes (green, red, blue, alpha, distance): 1, 0 (one symbol),
    # is_first_8bits, symbol.  With one-symbol codes every pixel then takes zero bits.
    fields: list[tuple[int, int]] = [(0, 1), (0, 1), (0, 1)]
    for symbol in (0, 0, 0, 255, 0):
        if symbol > 1:
            fields += [(1, 1), (0, 1), (1, 1), (symbol, 8)]
        else:
            fields += [(1, 1), (0, 1), (0, 1), (symbol, 1)]
    accumulator = shift = 0
    for value, width_bits in fields:
        accumulator |= value << shift
        shift += width_bits
    return header + accumulator.to_bytes(-(-shift // 8), "little")


def _vp8_lossy(width: int, height: int) -> bytes:
    """A VP8 key-frame header (frame tag, start code, dimensions) and a dummy partition."""
    partition = b"\x00" * 16
    frame_tag = 0 | 0 << 1 | 1 << 4 | len(partition) << 5  # key frame, version 0, shown
    return (
        frame_tag.to_bytes(3, "little")
        + b"\x9d\x01\x2a"
        + struct.pack("<HH", width & 0x3FFF, height & 0x3FFF)
        + partition
    )


def webp_bytes(width: int, height: int, kind: Literal["VP8", "VP8L", "VP8X"] = "VP8L") -> bytes:
    """A WebP file of ``width`` x ``height`` using the ``kind`` of first chunk.

    ``VP8L`` and ``VP8X`` files decode fully; ``VP8`` has a correct key-frame header but a
    placeholder first partition.
    """
    if kind == "VP8":
        chunks = _riff_chunk(b"VP8 ", _vp8_lossy(width, height))
    elif kind == "VP8L":
        chunks = _riff_chunk(b"VP8L", _vp8l(width, height))
    else:
        canvas = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
        canvas += (height - 1).to_bytes(3, "little")
        chunks = _riff_chunk(b"VP8X", canvas) + _riff_chunk(b"VP8L", _vp8l(width, height))
    body = b"WEBP" + chunks
    return b"RIFF" + struct.pack("<I", len(body)) + body
