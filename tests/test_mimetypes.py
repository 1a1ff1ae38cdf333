"""Tests for asset_catalog._content.mimetypes: type resolution, extensions, active content."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asset_catalog._content import mimetypes as mimetypes_module
from asset_catalog._content.mimetypes import extension_for, is_active_content, resolve_mime
from asset_catalog._content.sniff import Sniffed, sniff

from .images import png_bytes

TEXT = Sniffed(mime_type="text/plain", image=None)
BINARY = Sniffed(mime_type=None, image=None)
ZIP = Sniffed(mime_type="application/zip", image=None)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


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
        table = mimetypes_module._EXTENSION_TYPES
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
        for mime_type in set(mimetypes_module._EXTENSION_TYPES.values()):
            if mime_type.startswith("text/"):
                assert (
                    mime_type in mimetypes_module._INERT_TEXT_TYPES
                    or mime_type in mimetypes_module._ACTIVE_TYPES
                ), mime_type
