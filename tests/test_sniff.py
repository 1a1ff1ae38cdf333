"""Tests for asset_catalog._content.sniff: sniffing types from head bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asset_catalog._content.sniff import SNIFF_BYTES, Sniffed, sniff

from .images import gif_bytes, jpeg_bytes, png_bytes, webp_bytes


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
        assert result == Sniffed(mime_type="text/plain", image=None)

    def test_plain_text(self) -> None:
        """UTF-8 text (CSV here) is text/plain."""
        result = sniff("name,city\nZoë,Montréal\n".encode())
        assert result == Sniffed(mime_type="text/plain", image=None)

    def test_text_with_bom(self) -> None:
        """A UTF-8 byte order mark does not stop text being text."""
        result = sniff(b"\xef\xbb\xbfa,b\n1,2\n")
        assert result.mime_type == "text/plain"

    def test_truncated_multibyte_sequence_at_end(self) -> None:
        """A multi-byte character cut off at the end of the head is still text."""
        head = ("x" * 100 + "été").encode()[:-1]
        assert sniff(head).mime_type == "text/plain"

    def test_invalid_utf8_in_middle(self) -> None:
        """A broken UTF-8 sequence inside the head is not text."""
        result = sniff(b"abc\xc3(def")
        assert result.mime_type is None

    def test_nul_byte_is_binary(self) -> None:
        """A NUL byte makes the head binary."""
        assert sniff(b"hello\x00world") == Sniffed(mime_type=None, image=None)

    def test_many_control_characters_are_binary(self) -> None:
        """A head with many control characters is not text."""
        assert sniff(b"ab\x01\x02\x03\x04cd" * 10).mime_type is None

    def test_ansi_log_is_text(self) -> None:
        """Escape sequences for terminal colours do not stop a log being text."""
        assert sniff(b"\x1b[31mERROR\x1b[0m something failed\n" * 5).mime_type == "text/plain"

    def test_empty_is_text(self) -> None:
        """An empty head counts as (empty) text."""
        assert sniff(b"") == Sniffed(mime_type="text/plain", image=None)

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

    @given(
        st.sampled_from(["<?xml ", "<!DOCTYPE ", "<!-- ", "<svg", "<html "]), st.text(max_size=200)
    )
    def test_never_raises_on_markup_like_text(self, prefix: str, tail: str) -> None:
        """Markup-like prefixes followed by arbitrary text never make sniff raise."""
        result = sniff((prefix + tail).encode("utf-8", "surrogatepass"))
        assert result.image is None
