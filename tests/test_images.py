"""Tests for asset_catalog._content.images: image header validation and dimensions."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asset_catalog._content.images import ImageInfo, inspect_image

from .images import gif_bytes, jpeg_bytes, png_bytes, webp_bytes

SIZES = [(1, 1), (640, 480), (3, 7)]


def png_with_ihdr(ihdr: bytes, *, crc: int | None = None) -> bytes:
    """A PNG head whose IHDR data is ``ihdr`` (CRC computed unless given)."""
    crc = zlib.crc32(b"IHDR" + ihdr) if crc is None else crc
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", crc)
    )


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    """One JPEG marker segment with a correct length field."""
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def sof(marker: int, width: int, height: int) -> bytes:
    """A one-component frame header segment."""
    return jpeg_segment(marker, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")


def riff_webp(fourcc: bytes, data: bytes) -> bytes:
    """A RIFF/WEBP file with a single chunk."""
    body = b"WEBP" + fourcc + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


class TestImageBuilders:
    """The test image builders themselves produce well-formed files."""

    def test_png_chunks_have_correct_crcs(self) -> None:
        """Every chunk of a built PNG carries the CRC of its type and data, ending with IEND."""
        data = png_bytes(640, 480)
        pos, types = 8, []
        while pos < len(data):
            (length,) = struct.unpack_from(">I", data, pos)
            chunk_type = data[pos + 4 : pos + 8]
            body = data[pos + 8 : pos + 8 + length]
            (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
            assert crc == zlib.crc32(chunk_type + body)
            types.append(chunk_type)
            pos += 12 + length
        assert types == [b"IHDR", b"IDAT", b"IEND"]

    def test_png_idat_holds_every_scanline(self) -> None:
        """A built PNG's IDAT inflates to a filter byte plus one byte per pixel, per row."""
        data = png_bytes(5, 3)
        (length,) = struct.unpack_from(">I", data, 33)
        assert zlib.decompress(data[41 : 41 + length]) == b"\x00" * (6 * 3)

    def test_jpeg_ends_with_eoi(self) -> None:
        """A built JPEG starts with SOI and ends with EOI."""
        data = jpeg_bytes(8, 8)
        assert data.startswith(b"\xff\xd8\xff\xe0")
        assert data.endswith(b"\xff\xd9")

    def test_gif_ends_with_trailer(self) -> None:
        """A built GIF ends with the image-data terminator and the trailer byte."""
        assert gif_bytes(4, 4).endswith(b"\x00\x3b")

    @pytest.mark.parametrize("kind", ["VP8", "VP8L", "VP8X"])
    def test_webp_riff_size_matches(self, kind: str) -> None:
        """The RIFF size field of a built WebP counts every byte after it."""
        data = webp_bytes(10, 10, kind)  # type: ignore[arg-type]
        assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8


class TestInspectImage:
    """inspect_image validates header structure and reads dimensions."""

    @pytest.mark.parametrize(("width", "height"), SIZES)
    def test_png_dimensions(self, width: int, height: int) -> None:
        """A valid PNG reports format png and its IHDR dimensions."""
        assert inspect_image(png_bytes(width, height)) == ImageInfo(
            "png", "image/png", width, height
        )

    @pytest.mark.parametrize(("width", "height"), SIZES)
    def test_jpeg_dimensions(self, width: int, height: int) -> None:
        """A valid baseline JPEG reports format jpeg and its SOF0 dimensions."""
        assert inspect_image(jpeg_bytes(width, height)) == ImageInfo(
            "jpeg", "image/jpeg", width, height
        )

    @pytest.mark.parametrize(("width", "height"), SIZES)
    def test_gif_dimensions(self, width: int, height: int) -> None:
        """A valid GIF89a reports format gif and its logical screen size."""
        assert inspect_image(gif_bytes(width, height)) == ImageInfo(
            "gif", "image/gif", width, height
        )

    @pytest.mark.parametrize("kind", ["VP8", "VP8L", "VP8X"])
    @pytest.mark.parametrize(("width", "height"), [*SIZES, (16383, 16383)])
    def test_webp_dimensions(self, kind: str, width: int, height: int) -> None:
        """Each WebP variant (lossy, lossless, extended) reports its dimensions."""
        info = inspect_image(webp_bytes(width, height, kind))  # type: ignore[arg-type]
        assert info == ImageInfo("webp", "image/webp", width, height)

    def test_vp8x_large_canvas(self) -> None:
        """A VP8X canvas wider than 14 bits is read from its 24-bit fields."""
        canvas = b"\x00" * 4 + (99_999).to_bytes(3, "little") + (49_999).to_bytes(3, "little")
        info = inspect_image(riff_webp(b"VP8X", canvas))
        assert info is not None
        assert (info.width, info.height) == (100_000, 50_000)

    def test_gif87a(self) -> None:
        """The older GIF87a signature is accepted too."""
        info = inspect_image(b"GIF87a" + gif_bytes(2, 3)[6:])
        assert info is not None
        assert (info.format, info.width, info.height) == ("gif", 2, 3)

    def test_png_signature_followed_by_garbage(self) -> None:
        """A PNG signature followed by garbage is not an image."""
        assert inspect_image(b"\x89PNG\r\n\x1a\n" + b"garbage!" * 10) is None

    def test_png_bad_crc(self) -> None:
        """An IHDR whose CRC does not match is rejected."""
        data = bytearray(png_bytes(4, 4))
        data[32] ^= 0xFF
        assert inspect_image(bytes(data)) is None

    def test_png_zero_width(self) -> None:
        """An IHDR with a zero width is rejected even with a correct CRC."""
        assert inspect_image(png_with_ihdr(struct.pack(">IIBBBBB", 0, 4, 8, 0, 0, 0, 0))) is None

    def test_png_huge_height(self) -> None:
        """An IHDR height of 2**31 or more is rejected."""
        ihdr = struct.pack(">IIBBBBB", 4, 2**31, 8, 0, 0, 0, 0)
        assert inspect_image(png_with_ihdr(ihdr)) is None

    def test_png_invalid_bit_depth(self) -> None:
        """An IHDR combining RGB colour with bit depth 4 is rejected."""
        assert inspect_image(png_with_ihdr(struct.pack(">IIBBBBB", 4, 4, 4, 2, 0, 0, 0))) is None

    def test_png_wrong_ihdr_length(self) -> None:
        """A first chunk that is not a 13-byte IHDR is rejected."""
        assert (
            inspect_image(png_with_ihdr(struct.pack(">IIBBBBBB", 4, 4, 8, 0, 0, 0, 0, 0))) is None
        )

    @pytest.mark.parametrize(
        "build", [png_bytes, jpeg_bytes, gif_bytes, webp_bytes], ids=["png", "jpeg", "gif", "webp"]
    )
    def test_truncated_headers(self, build: Callable[[int, int], bytes]) -> None:
        """Every prefix too short to hold the full header gives None, never an error."""
        data = build(32, 16)
        header_end = {b"\x89P": 33, b"\xff\xd8": 0, b"GI": 13, b"RI": 25}[data[:2]]
        if not header_end:  # JPEG: marker, length, precision, height, width, component count
            header_end = data.index(b"\xff\xc0") + 10
        for end in range(header_end):
            assert inspect_image(data[:end]) is None, end
        assert inspect_image(data[:header_end]) is not None

    def test_jpeg_soi_then_garbage(self) -> None:
        """A JPEG start-of-image followed by non-marker bytes is rejected."""
        assert inspect_image(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"x" * 3) is None
        assert inspect_image(b"\xff\xd8" + b"hello world, not a jpeg") is None

    def test_jpeg_fill_bytes_and_standalone_markers(self) -> None:
        """Fill bytes and standalone TEM/RST markers before the frame header are skipped."""
        data = (
            b"\xff\xd8"
            + b"\xff\xff\xff\x01"
            + b"\xff\xd3"
            + jpeg_segment(0xE1, b"Exif")
            + sof(0xC0, 20, 10)
        )
        assert inspect_image(data) == ImageInfo("jpeg", "image/jpeg", 20, 10)

    @pytest.mark.parametrize("marker", [0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCB, 0xCF])
    def test_jpeg_other_sof_markers(self, marker: int) -> None:
        """Progressive, lossless and arithmetic-coded frame headers give dimensions too."""
        assert inspect_image(b"\xff\xd8" + sof(marker, 30, 40)) == ImageInfo(
            "jpeg", "image/jpeg", 30, 40
        )

    @pytest.mark.parametrize("marker", [0xC4, 0xC8, 0xCC])
    def test_jpeg_non_sof_c_markers_are_skipped(self, marker: int) -> None:
        """DHT, JPG and DAC segments are not frame headers and are walked over."""
        data = b"\xff\xd8" + jpeg_segment(marker, b"\x00" * 4) + sof(0xC0, 5, 6)
        assert inspect_image(data) == ImageInfo("jpeg", "image/jpeg", 5, 6)

    @pytest.mark.parametrize(
        "segments",
        [
            jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + sof(0xC0, 5, 5),  # SOS before SOF
            b"\xff\xd9",  # EOI before SOF
            b"\xff\xd8" + sof(0xC0, 5, 5),  # second SOI
            b"\xff\x00",  # stuffed zero outside a scan
            b"\xff\xe0\x00\x01",  # length below 2
            sof(0xC0, 0, 5),  # zero width
            sof(0xC0, 5, 0),  # zero height
            jpeg_segment(0xC0, struct.pack(">BHHB", 8, 5, 5, 3) + b"\x01\x11\x00"),  # bad length
            jpeg_segment(0xC0, struct.pack(">BHHB", 8, 5, 5, 0)),  # no components
            jpeg_segment(0xE0, b"\x00" * 100)[:20],  # segment runs past the head
        ],
    )
    def test_jpeg_malformed_structure(self, segments: bytes) -> None:
        """Malformed marker structure before a valid frame header gives None."""
        assert inspect_image(b"\xff\xd8" + segments) is None

    def test_gif_zero_size(self) -> None:
        """A GIF with a zero logical screen dimension is rejected."""
        assert inspect_image(b"GIF89a" + struct.pack("<HHBBB", 0, 5, 0, 0, 0)) is None

    @pytest.mark.parametrize(
        "data",
        [
            riff_webp(b"VP8 ", b"\x10\x02\x00" + b"\x9d\x01\x2b" + struct.pack("<HH", 4, 4)),
            riff_webp(b"VP8 ", b"\x11\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", 4, 4)),
            riff_webp(b"VP8 ", b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", 0, 4)),
            riff_webp(b"VP8L", b"\x2e" + struct.pack("<I", 3 | 3 << 14)),
            riff_webp(b"VP8L", b"\x2f" + struct.pack("<I", 3 | 3 << 14 | 1 << 29)),
            riff_webp(b"ABCD", b"\x00" * 10),
            b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 24,
        ],
        ids=[
            "vp8-start-code",
            "vp8-interframe",
            "vp8-zero",
            "vp8l-sig",
            "vp8l-version",
            "chunk",
            "wav",
        ],
    )
    def test_webp_malformed(self, data: bytes) -> None:
        """A WebP with a bad start code, signature, version, chunk or zero size is rejected."""
        assert inspect_image(data) is None

    def test_webp_chunk_larger_than_riff(self) -> None:
        """A first chunk claiming more bytes than the RIFF container holds is rejected."""
        data = bytearray(webp_bytes(4, 4, "VP8L"))
        data[16:20] = struct.pack("<I", 10_000)
        assert inspect_image(bytes(data)) is None

    def test_not_an_image(self) -> None:
        """Text, PDF and empty input are not images."""
        for data in (b"", b"hello", b"%PDF-1.7\n", b"\x00" * 64):
            assert inspect_image(data) is None

    @given(st.binary(max_size=512))
    def test_never_raises_on_arbitrary_bytes(self, data: bytes) -> None:
        """inspect_image returns ImageInfo or None for any input."""
        result = inspect_image(data)
        assert result is None or (result.width > 0 and result.height > 0)

    @given(
        st.sampled_from(
            [b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"GIF89a", b"RIFF", b"RIFF\x00\x01\x00\x00WEBP"]
        ),
        st.binary(max_size=256),
    )
    def test_never_raises_after_magic(self, magic: bytes, tail: bytes) -> None:
        """inspect_image never raises when a real magic number is followed by arbitrary bytes."""
        result = inspect_image(magic + tail)
        assert result is None or (result.width > 0 and result.height > 0)
