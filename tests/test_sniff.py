"""Tests for asset_catalog._content.sniff: image headers, sniffing and type resolution."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asset_catalog._content import sniff as sniff_module
from asset_catalog._content.sniff import (
    SNIFF_BYTES,
    ImageInfo,
    Sniffed,
    extension_for,
    inspect_image,
    is_active_content,
    resolve_mime,
    sniff,
)
from images import gif_bytes, jpeg_bytes, png_bytes, webp_bytes

SIZES = [(1, 1), (640, 480), (3, 7)]
TEXT = Sniffed(mime_type="text/plain", image=None, is_text=True)
BINARY = Sniffed(mime_type=None, image=None, is_text=False)
ZIP = Sniffed(mime_type="application/zip", image=None, is_text=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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


class TestSniff:
    """sniff recognises types from the head bytes."""

    @pytest.mark.parametrize(
        ("data", "mime_type"),
        [
            (png_bytes(2, 2), "image/png"),
            (jpeg_bytes(2, 2), "image/jpeg"),
            (gif_bytes(2, 2), "image/gif"),
            (webp_bytes(2, 2, "VP8X"), "image/webp"),
        ],
        ids=["png", "jpeg", "gif", "webp"],
    )
    def test_images(self, data: bytes, mime_type: str) -> None:
        """Valid images are sniffed with their type and dimensions."""
        result = sniff(data)
        assert result.mime_type == mime_type
        assert result.image is not None
        assert result.image.mime_type == mime_type
        assert (result.image.width, result.image.height) == (2, 2)
        assert result.is_text is False

    @pytest.mark.parametrize(
        "data",
        [
            b"\x89PNG\r\n\x1a\n" + b"garbage" * 8,
            b"\xff\xd8\xff" + b"garbage" * 8,
            b"RIFF\x10\x00\x00\x00WEBPjunk" + b"\x00" * 8,
            b"GIF89a\x00\x00\x00\x00\x00\x00\x00",
        ],
        ids=["png", "jpeg", "webp", "gif"],
    )
    def test_image_magic_with_bad_structure_is_unknown(self, data: bytes) -> None:
        """An image magic number with an invalid structure is unknown binary, not an image."""
        result = sniff(data)
        assert result.mime_type is None
        assert result.image is None

    @pytest.mark.parametrize(
        ("data", "mime_type"),
        [
            (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
            (b"PK\x03\x04\x14\x00\x00\x00", "application/zip"),
            (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
            (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "application/gzip"),
            (b"%!PS-Adobe-3.0\n", "application/postscript"),
            (b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav"),
            (b"OggS\x00\x02" + b"\x00" * 20, "application/ogg"),
            (b"ID3\x03\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
            (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "video/mp4"),
            (b"BZh91AY&SY", "application/x-bzip2"),
            (b"\xfd7zXZ\x00\x00", "application/x-xz"),
        ],
    )
    def test_binary_signatures(self, data: bytes, mime_type: str) -> None:
        """Documents, archives and media are recognised by their signatures."""
        assert sniff(data).mime_type == mime_type

    def test_tar(self) -> None:
        """A POSIX tar header is recognised by its ustar magic at offset 257."""
        head = b"file.txt".ljust(257, b"\x00") + b"ustar\x0000" + b"\x00" * 250
        assert sniff(head).mime_type == "application/x-tar"

    @pytest.mark.parametrize(
        "text",
        [
            "<!DOCTYPE html><html></html>",
            "<!doctype HTML>\n<p>hi",
            "  \n\t<html lang='en'>",
            "<HTML>",
            "<head>",
            "<script>alert(1)</script>",
            "<iframe src=x>",
            "<h1>Title</h1>",
            "<div class=x>",
            "<font color=red>",
            "<table>",
            "<a href='x'>",
            "<style>",
            "<title>x</title>",
            "<b>bold</b>",
            "<body onload=x>",
            "<br>",
            "<p>para",
            "<!-- comment --> hello",
            "<body\n>",
        ],
    )
    def test_html_patterns(self, text: str) -> None:
        """Each WHATWG HTML pattern, after optional whitespace, is sniffed as text/html."""
        assert sniff(text.encode()).mime_type == "text/html"

    def test_html_after_bom(self) -> None:
        """HTML preceded by a UTF-8 byte order mark is still HTML."""
        assert sniff(b"\xef\xbb\xbf  <html><body>x</body></html>").mime_type == "text/html"

    def test_html_in_binary_head(self) -> None:
        """An HTML start followed by bytes that are not UTF-8 is still treated as HTML."""
        result = sniff(b"<html>\xff\xfe\x00\x00")
        assert result.mime_type == "text/html"
        assert result.is_text is False

    @pytest.mark.parametrize(
        "text",
        ["<htmlx>", "<bold>", "hello <html>", "<pre>", "<a", "<!--nospace-->", "<abbr>"],
    )
    def test_not_html(self, text: str) -> None:
        """Tags outside the pattern list, or not at the start, are generic text."""
        assert sniff(text.encode()).mime_type == "text/plain"

    @pytest.mark.parametrize(
        "text",
        [
            '<svg xmlns="http://www.w3.org/2000/svg" width="10"/>',
            '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg">',
            '<?xml version="1.0"?>\n<!-- made by a bot -->\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG'
            ' 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<svg>',
            '<?xml version="1.0"?><!DOCTYPE svg [ <!ENTITY a "<b>"> ]><svg><text>&a;</text></svg>',
            "<!-- comment -->\n<svg onload='alert(1)'>",
            '<?xml version="1.0"?><?xml-stylesheet href="a.css"?><svg:svg xmlns:svg="x">',
            "\ufeff<?xml version='1.0'?>\r\n<svg>",
        ],
    )
    def test_svg(self, text: str) -> None:
        """A document whose first element after the prolog is <svg> is image/svg+xml."""
        assert sniff(text.encode()).mime_type == "image/svg+xml"

    def test_xml(self) -> None:
        """An XML document whose root is not svg or html is application/xml."""
        assert (
            sniff(b'<?xml version="1.0"?>\n<note><to>x</to></note>').mime_type == "application/xml"
        )

    def test_xhtml(self) -> None:
        """An XML document whose root element is html is application/xhtml+xml."""
        data = b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        assert sniff(data).mime_type == "application/xhtml+xml"

    def test_html_doctype_wins_over_inline_svg(self) -> None:
        """An HTML document starting with inline SVG is HTML, not SVG."""
        assert sniff(b"<!DOCTYPE html>\n<svg></svg>").mime_type == "text/html"

    def test_json_is_generic_text(self) -> None:
        """JSON is not sniffed specifically: it is generic text."""
        result = sniff(b'{"a": [1, 2, 3]}')
        assert result == Sniffed(mime_type="text/plain", image=None, is_text=True)

    def test_plain_text(self) -> None:
        """UTF-8 text (CSV here) is text/plain and is_text."""
        result = sniff("name,city\nZoë,Montréal\n".encode())
        assert result == Sniffed(mime_type="text/plain", image=None, is_text=True)

    def test_text_with_bom(self) -> None:
        """A UTF-8 byte order mark does not stop text being text."""
        result = sniff(b"\xef\xbb\xbfa,b\n1,2\n")
        assert result.mime_type == "text/plain"
        assert result.is_text

    def test_truncated_multibyte_sequence_at_end(self) -> None:
        """A multi-byte character cut off at the end of the head is still text."""
        head = ("x" * 100 + "été").encode()[:-1]
        assert sniff(head).is_text

    def test_invalid_utf8_in_middle(self) -> None:
        """A broken UTF-8 sequence inside the head is not text."""
        result = sniff(b"abc\xc3(def")
        assert result.is_text is False
        assert result.mime_type is None

    def test_nul_byte_is_binary(self) -> None:
        """A NUL byte makes the head binary."""
        assert sniff(b"hello\x00world") == Sniffed(mime_type=None, image=None, is_text=False)

    def test_many_control_characters_are_binary(self) -> None:
        """A head with many control characters is not text."""
        assert sniff(b"ab\x01\x02\x03\x04cd" * 10).is_text is False

    def test_ansi_log_is_text(self) -> None:
        """Escape sequences for terminal colours do not stop a log being text."""
        assert sniff(b"\x1b[31mERROR\x1b[0m something failed\n" * 5).mime_type == "text/plain"

    def test_empty_is_text(self) -> None:
        """An empty head counts as (empty) text."""
        assert sniff(b"") == Sniffed(mime_type="text/plain", image=None, is_text=True)

    def test_random_binary_is_unknown(self) -> None:
        """Bytes with no known signature that are not text are unknown."""
        assert sniff(bytes(range(256))).mime_type is None

    def test_only_head_bytes_are_considered(self) -> None:
        """Bytes beyond SNIFF_BYTES are ignored."""
        assert sniff(b"a" * SNIFF_BYTES + b"\x00\xff").mime_type == "text/plain"

    @given(st.binary(max_size=1024))
    def test_never_raises(self, data: bytes) -> None:
        """sniff returns a consistent, lowercase result for any input."""
        result = sniff(data)
        assert result.mime_type is None or result.mime_type == result.mime_type.lower()
        if result.image is not None:
            assert result.mime_type == result.image.mime_type
        if result.mime_type == "text/plain":
            assert result.is_text

    @given(
        st.sampled_from(["<?xml ", "<!DOCTYPE ", "<!-- ", "<svg", "<html "]), st.text(max_size=200)
    )
    def test_never_raises_on_markup_like_text(self, prefix: str, tail: str) -> None:
        """Markup-like prefixes followed by arbitrary text never make sniff raise."""
        result = sniff((prefix + tail).encode("utf-8", "surrogatepass"))
        assert result.image is None


class TestResolveMime:
    """resolve_mime trusts content first, then the extension, then the declared type."""

    def test_html_named_png(self) -> None:
        """HTML content named .png and declared image/png resolves to text/html."""
        sniffed = sniff(b"<html><script>alert(1)</script></html>")
        assert resolve_mime(sniffed, "cat.png", "image/png") == "text/html"

    def test_specific_type_beats_extension_and_declared(self) -> None:
        """A sniffed PNG stays image/png whatever the name and declared type say."""
        assert resolve_mime(sniff(png_bytes(1, 1)), "notes.txt", "text/plain") == "image/png"

    @pytest.mark.parametrize(
        ("filename", "expected"),
        [
            ("report.xlsx", XLSX),
            ("REPORT.XLSX", XLSX),
            ("letter.docx", DOCX),
            ("book.epub", "application/epub+zip"),
            ("sheet.ods", "application/vnd.oasis.opendocument.spreadsheet"),
            ("bundle.zip", "application/zip"),
            ("data.csv", "application/zip"),
            (None, "application/zip"),
        ],
    )
    def test_zip_containers(self, filename: str | None, expected: str) -> None:
        """A sniffed ZIP takes a ZIP-based container type from its extension, nothing else."""
        assert resolve_mime(ZIP, filename, None) == expected

    def test_zip_container_from_declared(self) -> None:
        """Without a container extension, a declared container type is used for a ZIP."""
        assert resolve_mime(ZIP, "download", XLSX) == XLSX
        assert resolve_mime(ZIP, "download", "text/csv") == "application/zip"

    @pytest.mark.parametrize(
        ("filename", "expected"),
        [
            ("table.csv", "text/csv"),
            ("TABLE.CSV", "text/csv"),
            ("/mnt/data/table.tsv", "text/tab-separated-values"),
            ("data.json", "application/json"),
            ("rows.jsonl", "application/x-ndjson"),
            ("conf.yml", "application/yaml"),
            ("notes.md", "text/markdown"),
            ("script.py", "text/x-python"),
            ("query.sql", "application/sql"),
            ("run.sh", "application/x-sh"),
            ("app.js", "text/javascript"),
            ("feed.xml", "application/xml"),
            ("page.html", "text/html"),
            ("drawing.svg", "text/plain"),
            ("photo.png", "text/plain"),
            ("paper.pdf", "text/plain"),
            ("README", "text/plain"),
            (".csv", "text/plain"),
            (None, "text/plain"),
        ],
    )
    def test_generic_text_uses_textual_extension(self, filename: str | None, expected: str) -> None:
        """Generic text takes the extension's type only when that type is textual (not SVG)."""
        assert resolve_mime(TEXT, filename, None) == expected

    def test_text_declared_after_extension(self) -> None:
        """For text, the extension wins over the declared type, which wins over text/plain."""
        assert resolve_mime(TEXT, "a.csv", "application/json") == "text/csv"
        assert resolve_mime(TEXT, "a.bin", "application/json; charset=UTF-8") == "application/json"
        assert resolve_mime(TEXT, None, "text/markdown") == "text/markdown"

    @pytest.mark.parametrize(
        "declared", ["image/png", "application/pdf", "image/svg+xml", "application/octet-stream"]
    )
    def test_text_ignores_non_textual_declared(self, declared: str) -> None:
        """Generic text never takes a non-textual or image declared type."""
        assert resolve_mime(TEXT, None, declared) == "text/plain"

    @pytest.mark.parametrize(
        "filename",
        [
            "x.png",
            "x.jpg",
            "x.jpeg",
            "x.gif",
            "x.webp",
            "x.pdf",
            "x.html",
            "x.svg",
            "x.zip",
            "x.gz",
            "x.txt",
            "x.csv",
        ],
    )
    def test_binary_never_claims_sniffable_or_textual_extension(self, filename: str) -> None:
        """Unknown binary named like a checkable or textual type is application/octet-stream."""
        assert resolve_mime(BINARY, filename, None) == "application/octet-stream"

    @pytest.mark.parametrize(
        ("filename", "expected"),
        [
            ("data.parquet", "application/vnd.apache.parquet"),
            ("old.xls", "application/vnd.ms-excel"),
            ("song.mp3", "audio/mpeg"),
            ("clip.mp4", "video/mp4"),
            ("sound.WAV", "audio/wav"),
            ("archive.tar", "application/x-tar"),
        ],
    )
    def test_binary_uses_other_extensions(self, filename: str, expected: str) -> None:
        """Unknown binary takes the extension's type when sniffing could not have proven it."""
        assert resolve_mime(BINARY, filename, None) == expected

    def test_binary_declared_ordering(self) -> None:
        """For unknown binary the extension wins, then an acceptable declared type, then octets."""
        assert resolve_mime(BINARY, "d.parquet", "application/x-foo") == (
            "application/vnd.apache.parquet"
        )
        assert resolve_mime(BINARY, "d.png", "application/x-foo") == "application/x-foo"
        assert resolve_mime(BINARY, None, "Application/X-Foo; a=b") == "application/x-foo"
        assert resolve_mime(BINARY, None, None) == "application/octet-stream"

    @pytest.mark.parametrize(
        "declared",
        ["image/png", "image/bmp", "text/plain", "text/html", "application/pdf", "image/svg+xml"],
    )
    def test_binary_rejects_unproven_declared(self, declared: str) -> None:
        """Unknown binary never takes a declared image, textual, active or checkable type."""
        assert resolve_mime(BINARY, None, declared) == "application/octet-stream"

    @pytest.mark.parametrize("declared", ["not a type", "a/b/c", "../x", "x/", "/y", "", "a b/c"])
    def test_malformed_declared_is_ignored(self, declared: str) -> None:
        """A declared value that is not a strict type/subtype token is ignored."""
        assert resolve_mime(BINARY, None, declared) == "application/octet-stream"
        assert resolve_mime(TEXT, None, declared) == "text/plain"

    def test_sniffed_gzip_with_tar_gz_name(self) -> None:
        """A real gzip named .tar.gz resolves to application/gzip."""
        assert resolve_mime(sniff(b"\x1f\x8b\x08\x00"), "a.tar.gz", None) == "application/gzip"

    def test_independent_of_platform_mimetypes(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Resolution uses the module's own table, never the mimetypes module."""
        import mimetypes

        def refuse(*_args: object, **_kwargs: object) -> None:
            raise AssertionError("mimetypes must not be consulted")

        monkeypatch.setattr(mimetypes, "guess_type", refuse)
        monkeypatch.setattr(mimetypes, "guess_extension", refuse)
        assert resolve_mime(TEXT, "a.csv", None) == "text/csv"
        assert extension_for("text/csv") == "csv"

    @given(
        st.sampled_from([TEXT, BINARY, ZIP, sniff(png_bytes(1, 1))]),
        st.one_of(st.none(), st.text(max_size=40)),
        st.one_of(st.none(), st.text(max_size=40)),
    )
    def test_result_is_lowercase_type(
        self, sniffed: Sniffed, filename: str | None, declared: str | None
    ) -> None:
        """Any combination of inputs resolves to a lowercase type/subtype."""
        result = resolve_mime(sniffed, filename, declared)
        assert result == result.lower()
        assert re.fullmatch(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*", result)


class TestExtensionFor:
    """extension_for gives a short, safe extension for a type."""

    @pytest.mark.parametrize(
        ("mime_type", "extension"),
        [
            ("image/png", "png"),
            ("image/jpeg", "jpg"),
            ("image/webp", "webp"),
            ("image/gif", "gif"),
            ("application/pdf", "pdf"),
            ("text/csv", "csv"),
            ("text/plain", "txt"),
            ("text/html", "html"),
            ("image/svg+xml", "svg"),
            ("application/json", "json"),
            ("application/zip", "zip"),
            (XLSX, "xlsx"),
            ("application/gzip", "gz"),
            ("application/yaml", "yaml"),
            ("text/markdown", "md"),
            ("application/octet-stream", "bin"),
            ("IMAGE/PNG; q=1", "png"),
            ("application/x-unknown", "bin"),
            ("garbage", "bin"),
        ],
    )
    def test_known_types(self, mime_type: str, extension: str) -> None:
        """Common types map to their conventional extension, unknown ones to bin."""
        assert extension_for(mime_type) == extension

    def test_every_table_type_round_trips(self) -> None:
        """Every type in the extension table maps to an extension that maps back to it."""
        table = sniff_module._EXTENSION_TYPES
        for mime_type in set(table.values()):
            extension = extension_for(mime_type)
            assert re.fullmatch(r"[a-z0-9]{1,8}", extension), mime_type
            assert table[extension] == mime_type

    @given(st.text(max_size=60))
    def test_always_safe(self, mime_type: str) -> None:
        """Any input gives 1-8 characters of [a-z0-9]."""
        assert re.fullmatch(r"[a-z0-9]{1,8}", extension_for(mime_type))


class TestIsActiveContent:
    """is_active_content flags types a browser would run or render as a document."""

    @pytest.mark.parametrize(
        "mime_type",
        [
            "text/html",
            "TEXT/HTML; charset=utf-8",
            "application/xhtml+xml",
            "image/svg+xml",
            "text/xml",
            "application/xml",
            "text/javascript",
            "application/javascript",
            "application/ecmascript",
            "text/ecmascript",
            "application/x-javascript",
            "text/xsl",
            "application/rss+xml",
            "multipart/x-mixed-replace",
            "application/x-shockwave-flash",
            "text/x-unknown-markup",
            "not a mime type",
        ],
    )
    def test_active(self, mime_type: str) -> None:
        """Markup, script, +xml, unknown text and malformed types are active."""
        assert is_active_content(mime_type) is True

    @pytest.mark.parametrize(
        "mime_type",
        [
            "text/plain",
            "text/css",
            "text/csv",
            "text/markdown",
            "text/x-python",
            "application/pdf",
            "application/json",
            "image/png",
            "image/jpeg",
            "application/zip",
            XLSX,
            "application/octet-stream",
            "video/mp4",
        ],
    )
    def test_inert(self, mime_type: str) -> None:
        """Plain text, CSS, data, PDF, raster images, archives and media are not active."""
        assert is_active_content(mime_type) is False

    def test_every_textual_table_type_is_classified(self) -> None:
        """Each text/* type of the extension table is explicitly inert or explicitly active."""
        for mime_type in set(sniff_module._EXTENSION_TYPES.values()):
            if mime_type.startswith("text/"):
                assert (
                    mime_type in sniff_module._INERT_TEXT_TYPES
                    or mime_type in sniff_module._ACTIVE_TYPES
                ), mime_type
