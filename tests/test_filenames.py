"""Tests for asset_catalog._content.filenames: filename hygiene and Content-Disposition."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, cast
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asset_catalog._content.filenames import (
    MAX_FILENAME_BYTES,
    clean_filename,
    content_disposition,
)
from asset_catalog.exceptions import InvalidInput

HEADER_RE = re.compile(
    r"(inline|attachment); filename=\"([^\"\\]*)\""
    r"(; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+))?"
)
# Any code point, surrogates included.
ANY_TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=80)


class TestCleanFilename:
    """clean_filename accepts safe display names and rejects dangerous ones."""

    @pytest.mark.parametrize(
        "name", ["../../etc/passwd", "..\\..\\x", "a/../b.txt", "reports/ .. /x.csv", ".."]
    )
    def test_path_traversal_rejected(self, name: str) -> None:
        """Any '..' path segment is rejected as path traversal."""
        with pytest.raises(InvalidInput, match="traversal") as excinfo:
            clean_filename(name)
        assert excinfo.value.field == "filename"

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("/mnt/data/report.csv", "report.csv"),
            ("C:\\Users\\me\\out.png", "out.png"),
            ("./chart.png", "chart.png"),
            ("dir/ spaced name.txt ", "spaced name.txt"),
        ],
    )
    def test_path_keeps_last_segment(self, name: str, expected: str) -> None:
        """A path without traversal is reduced to its last segment."""
        assert clean_filename(name) == expected

    def test_directory_path_rejected(self) -> None:
        """A path ending with a separator has no file name and is rejected."""
        with pytest.raises(InvalidInput, match="directory"):
            clean_filename("/mnt/data/")

    @pytest.mark.parametrize(
        "name", ["a\x00b", "a\nb", "a\rb.txt", "a\tb", "a\x7fb", "a\x1bb", "x\x85y", "a\x00/b.txt"]
    )
    def test_control_characters_rejected(self, name: str) -> None:
        """Control characters (NUL, newline, tab, DEL, ESC, C1) are rejected anywhere."""
        with pytest.raises(InvalidInput, match="control character"):
            clean_filename(name)

    @pytest.mark.parametrize(
        "name",
        ["\u202egnp.exe", "a\u200db.txt", "a\u200bb.txt", "\ufeffname.txt", "x\u2066y", "a\u00adb"],
    )
    def test_format_characters_rejected(self, name: str) -> None:
        """Bidi overrides, zero-width characters, BOM and soft hyphen are rejected."""
        with pytest.raises(InvalidInput, match="invisible formatting"):
            clean_filename(name)

    @pytest.mark.parametrize("name", ["a\u2028b", "a\u2029b"])
    def test_line_and_paragraph_separators_rejected(self, name: str) -> None:
        """Unicode line and paragraph separators are rejected."""
        with pytest.raises(InvalidInput, match="separator"):
            clean_filename(name)

    def test_surrogate_rejected(self) -> None:
        """A lone surrogate (undecodable input smuggled into a str) is rejected."""
        with pytest.raises(InvalidInput, match="surrogate"):
            clean_filename("\ud800.txt")

    def test_very_long_name_rejected(self) -> None:
        """A 10,000-character name is rejected as too long."""
        with pytest.raises(InvalidInput, match="too long"):
            clean_filename("a" * 10_000)

    def test_length_is_counted_in_utf8_bytes(self) -> None:
        """The limit is 255 bytes of UTF-8, not 255 characters."""
        assert clean_filename("é" * 127 + "a") == "é" * 127 + "a"
        with pytest.raises(InvalidInput, match="256 bytes"):
            clean_filename("é" * 128)
        assert len(clean_filename("a" * MAX_FILENAME_BYTES)) == MAX_FILENAME_BYTES

    def test_long_directory_prefix_is_fine(self) -> None:
        """Only the kept last segment counts towards the length limit."""
        assert clean_filename("/" + "d" * 300 + "/report.csv") == "report.csv"

    @pytest.mark.parametrize("name", ["", "   ", "\t \n", "\u3000"])
    def test_empty_rejected(self, name: str) -> None:
        """Empty and whitespace-only names are rejected."""
        with pytest.raises(InvalidInput, match="empty"):
            clean_filename(name)

    @pytest.mark.parametrize("name", [".", "...", " . "])
    def test_only_dots_rejected(self, name: str) -> None:
        """Names made only of dots are rejected."""
        with pytest.raises(InvalidInput, match="dots"):
            clean_filename(name)

    @pytest.mark.parametrize("name", [None, b"report.csv", 5, ["a.txt"]])
    def test_non_string_rejected(self, name: object) -> None:
        """Anything but a str is rejected with InvalidInput, not TypeError."""
        with pytest.raises(InvalidInput, match="must be a string"):
            clean_filename(cast(Any, name))

    def test_unicode_name_kept_in_nfc(self) -> None:
        """Accented names are kept and normalised to NFC."""
        decomposed = unicodedata.normalize("NFD", "rapport été.csv")
        assert decomposed != "rapport été.csv"
        assert clean_filename(decomposed) == "rapport été.csv"
        assert clean_filename("报告 2024.xlsx") == "报告 2024.xlsx"

    @pytest.mark.parametrize("name", [".env", ".gitignore", "report.csv.", "a<b>:c|d?.txt"])
    def test_leading_and_trailing_dots_kept(self, name: str) -> None:
        """Leading dots, trailing dots and Windows-reserved characters are kept as they are."""
        assert clean_filename(name) == name

    def test_private_use_allowed(self) -> None:
        """Private-use characters are allowed."""
        assert clean_filename("\ue000.txt") == "\ue000.txt"

    def test_surrounding_whitespace_stripped(self) -> None:
        """Whitespace around the name, including a trailing newline, is stripped."""
        assert clean_filename("  report.csv \n") == "report.csv"

    def test_custom_field_name(self) -> None:
        """The error names the field given by the caller and is a ValueError."""
        with pytest.raises(ValueError, match=r"^name: ") as excinfo:
            clean_filename("", field="name")
        assert isinstance(excinfo.value, InvalidInput)
        assert excinfo.value.field == "name"

    @given(ANY_TEXT)
    def test_result_is_safe_and_stable(self, name: str) -> None:
        """Any input is rejected with InvalidInput or gives a safe, idempotent name."""
        try:
            cleaned = clean_filename(name)
        except InvalidInput:
            return
        assert cleaned
        assert cleaned == cleaned.strip()
        assert "/" not in cleaned
        assert "\\" not in cleaned
        assert cleaned.strip(".")
        assert len(cleaned.encode("utf-8")) <= MAX_FILENAME_BYTES
        assert unicodedata.is_normalized("NFC", cleaned)
        for char in cleaned:
            assert unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Zl", "Zp"}
        assert clean_filename(cleaned) == cleaned


class TestContentDisposition:
    """content_disposition builds safe RFC 6266 header values."""

    def test_plain_ascii(self) -> None:
        """A plain ASCII name gives only the quoted filename parameter."""
        assert (
            content_disposition("report.csv", "attachment") == 'attachment; filename="report.csv"'
        )

    def test_inline(self) -> None:
        """The inline disposition type is used as given."""
        assert content_disposition("chart.png", "inline") == 'inline; filename="chart.png"'

    def test_unicode_name(self) -> None:
        """A non-ASCII name gets an accent-stripped fallback and a UTF-8 filename*."""
        assert content_disposition("rapport été.csv", "attachment") == (
            "attachment; filename=\"rapport ete.csv\"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.csv"
        )

    def test_cjk_name(self) -> None:
        """Characters with no ASCII form become underscores in the fallback."""
        assert content_disposition("报告.csv", "attachment") == (
            "attachment; filename=\"__.csv\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.csv"
        )

    @pytest.mark.parametrize(
        ("name", "fallback", "encoded"),
        [
            ('say "hi".txt', "say _hi_.txt", "say%20%22hi%22.txt"),
            ("back\\slash.txt", "back_slash.txt", "back%5Cslash.txt"),
            ("a;b,c%d.txt", "a_b_c_d.txt", "a%3Bb%2Cc%25d.txt"),
        ],
    )
    def test_unsafe_ascii_replaced(self, name: str, fallback: str, encoded: str) -> None:
        """Quotes, backslashes, ';', ',' and '%' become '_' in the fallback, %XX in filename*."""
        assert content_disposition(name, "attachment") == (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
        )

    def test_attr_chars_left_unencoded(self) -> None:
        """RFC 5987 attr-chars other than letters and digits are not percent-encoded."""
        value = content_disposition("a!#$&+-.^_`|~é", "attachment")
        assert value.endswith("filename*=UTF-8''a!#$&+-.^_`|~%C3%A9")

    def test_header_injection_neutralised(self) -> None:
        """CR, LF and NUL in the name cannot break out of the header."""
        value = content_disposition("a\r\nSet-Cookie: x=1\x00.txt", "attachment")
        assert not {"\r", "\n", "\x00"} & set(value)
        assert 'filename="a__Set-Cookie: x=1_.txt"' in value
        assert "%0D%0ASet-Cookie" in value

    def test_empty_name(self) -> None:
        """An empty name falls back to 'download'."""
        assert content_disposition("", "attachment") == 'attachment; filename="download"'

    def test_invalid_disposition(self) -> None:
        """A disposition type other than inline or attachment is rejected."""
        with pytest.raises(InvalidInput):
            content_disposition("a.txt", cast(Any, "attachment\r\nX: y"))

    def test_clean_filename_output_round_trips(self) -> None:
        """A cleaned name survives the RFC 5987 encoding unchanged."""
        name = clean_filename("/mnt/data/Q3 résumé (final).pdf")
        encoded = content_disposition(name, "attachment").split("filename*=UTF-8''", 1)[1]
        assert unquote(encoded) == name

    @given(ANY_TEXT, st.sampled_from(["inline", "attachment"]))
    def test_always_safe(self, name: str, disposition: str) -> None:
        """Any name gives a pure-ASCII value without CR, LF or NUL and a printable fallback."""
        value = content_disposition(name, cast(Any, disposition))
        assert value.isascii()
        assert not {"\r", "\n", "\x00"} & set(value)
        match = HEADER_RE.fullmatch(value)
        assert match is not None, value
        assert match.group(1) == disposition
        fallback = match.group(2)
        assert fallback
        assert all(" " <= char <= "~" for char in fallback)
        assert not set(fallback) & set("%;,")
        if match.group(4) is not None and not any(0xD800 <= ord(c) <= 0xDFFF for c in name):
            assert unquote(match.group(4), errors="strict") == name
