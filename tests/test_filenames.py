"""Tests for asset_catalog._content.filenames: safe filenames and Content-Disposition."""

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
    ORIGINAL_FILENAME_KEY,
    content_disposition,
    ingest_filename,
    is_safe_filename,
    safe_filename,
)
from asset_catalog.exceptions import InvalidInput

HEADER_RE = re.compile(
    r"(inline|attachment); filename=\"([^\"\\]*)\""
    r"(; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+))?"
)
# Any code point, surrogates included.
ANY_TEXT = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=80)


REMOVED_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def stored(original: str) -> str:
    """The original as the catalog records it: its last 4,096 characters, NUL as ``\\x00``,
    a lone surrogate as its ``\\udXXX`` escape."""
    text = original[-4096:]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def assert_safe(name: str) -> None:
    """A name that can go into a row and a header: see ``is_safe_filename``."""
    assert name
    assert name == name.strip()
    assert "/" not in name
    assert "\\" not in name
    assert name.strip(".")
    assert len(name.encode("utf-8")) <= MAX_FILENAME_BYTES
    assert unicodedata.is_normalized("NFC", name)
    for char in name:
        assert unicodedata.category(char) not in REMOVED_CATEGORIES
    assert is_safe_filename(name)


def changed(name: str, expected: str) -> None:
    """``name`` is made into ``expected`` (safe, or "" for a generated one), original kept."""
    assert safe_filename(name) == (expected, stored(name))
    if expected:
        assert_safe(expected)
        assert safe_filename(expected) == (expected, None)


class TestSafeFilename:
    """safe_filename makes every name safe; only a non-str is refused."""

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("../../etc/passwd", "passwd"),
            ("..\\..\\x", "x"),
            ("a/../b.txt", "b.txt"),
            ("reports/ .. /x.csv", "x.csv"),
            ("/mnt/data/../../etc/shadow", "shadow"),
            ("foo/..", "foo"),
            ("./..", ""),
            ("../", ""),
            ("..", ""),
        ],
    )
    def test_traversal_dropped(self, name: str, expected: str) -> None:
        """``..`` segments are dropped: the last real segment is the name."""
        changed(name, expected)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("/mnt/data/report.csv", "report.csv"),
            ("C:\\Users\\me\\out.png", "out.png"),
            ("./chart.png", "chart.png"),
            ("dir/ spaced name.txt ", "spaced name.txt"),
            ("/" + "d" * 300 + "/report.csv", "report.csv"),
            ("....//....//etc/passwd", "passwd"),
        ],
    )
    def test_path_keeps_last_segment(self, name: str, expected: str) -> None:
        """A path is reduced to its last segment (only that counts towards the length)."""
        changed(name, expected)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [("/mnt/data/", "data"), ("C:\\", "C:"), ("\\\\server\\share\\", "share"), ("/", "")],
    )
    def test_directory_path(self, name: str, expected: str) -> None:
        """A path ending with a separator keeps its last directory's name, if any."""
        changed(name, expected)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("a\x00b", "ab"),
            ("a\nb", "ab"),
            ("a\rb.txt", "ab.txt"),
            ("a\tb", "ab"),
            ("a\x7fb", "ab"),
            ("\x1b[31mred.csv", "[31mred.csv"),
            ("x\x85y", "xy"),
            ("a\x00/b.txt", "b.txt"),
            ("dir\x01/x.csv", "x.csv"),
            ("a\r\nContent-Type: text/html", "html"),
        ],
    )
    def test_control_characters_removed(self, name: str, expected: str) -> None:
        """Control characters (NUL, newline, tab, DEL, ESC, C1) are removed anywhere."""
        changed(name, expected)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("\u202egnp.exe", "gnp.exe"),
            ("invoice\u202efdp.exe", "invoicefdp.exe"),
            ("a\u200db.txt", "ab.txt"),
            ("a\u200bb.txt", "ab.txt"),
            ("\ufeffname.txt", "name.txt"),
            ("x\u2066y", "xy"),
            ("a\u00adb", "ab"),
            ("a\U000e0041b.csv", "ab.csv"),
        ],
    )
    def test_format_characters_removed(self, name: str, expected: str) -> None:
        """Bidi overrides and isolates, zero-width characters, BOM, soft hyphen and tag
        characters are removed: a right-to-left override cannot disguise an extension."""
        changed(name, expected)

    @pytest.mark.parametrize(("name", "expected"), [("a\u2028b", "ab"), ("a\u2029b", "ab")])
    def test_line_and_paragraph_separators_removed(self, name: str, expected: str) -> None:
        """Unicode line and paragraph separators are removed."""
        changed(name, expected)

    def test_surrogate_removed(self) -> None:
        """A lone surrogate is removed; the recorded original escapes it."""
        assert safe_filename("\ud800.txt") == (".txt", "\\ud800.txt")
        assert safe_filename("a\udcffb.csv") == ("ab.csv", "a\\udcffb.csv")

    def test_original_is_storable_text(self) -> None:
        """NUL and lone surrogates are escaped in the original; everything else is kept."""
        clean, original = safe_filename("a\x00b\ud83d\u202e\n.csv")
        assert clean == "ab.csv"
        assert original == "a\\x00b\\ud83d\u202e\n.csv"
        assert original is not None
        assert "\x00" not in original
        original.encode("utf-8")  # no lone surrogate left

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("x" * 300, "x" * 255),
            ("x" * 300 + ".csv", "x" * 251 + ".csv"),
            ("é" * 150 + ".csv", "é" * 125 + ".csv"),
            ("é" * 128, "é" * 127),
            ("\U0001f600" * 70 + ".png", "\U0001f600" * 62 + ".png"),
            ("中" * 100 + ".txt", "中" * 83 + ".txt"),
            ("x" * 300 + ".tar.gz", "x" * 252 + ".gz"),
            ("r" * 300 + "." + "x" * 16, "r" * 238 + "." + "x" * 16),
        ],
    )
    def test_long_name_shortened_keeping_extension(self, name: str, expected: str) -> None:
        """A name over 255 bytes of UTF-8 is cut on a character boundary, extension kept."""
        changed(name, expected)

    def test_cut_never_splits_a_combining_sequence(self) -> None:
        """The stem is cut before a base character, not between it and its marks."""
        name = "x\u0301" * 100 + ".csv"
        changed(name, "x\u0301" * 83 + ".csv")
        # A single combining sequence longer than the limit is cut inside, as it must be.
        clean, _ = safe_filename("x" + "\u0301" * 200)
        assert clean == "x" + "\u0301" * 127
        assert_safe(clean)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("a." + "x" * 300, "a." + "x" * 253),
            ("r" * 300 + "." + "x" * 17, "r" * 255),
            ("r" * 300 + ". a b", "r" * 255),
        ],
    )
    def test_absurd_extension_not_kept_whole(self, name: str, expected: str) -> None:
        """A "extension" over 16 characters, or with whitespace, is not kept: the name is cut."""
        changed(name, expected)

    def test_cut_stem_loses_trailing_whitespace(self) -> None:
        """A stem cut after a space does not leave the space before the extension."""
        changed("a" * 250 + " " * 10 + "b" * 10 + ".csv", "a" * 250 + ".csv")

    def test_cut_leaving_only_dots_is_empty(self) -> None:
        """A cut that leaves only dots gives no name at all (the caller generates one)."""
        changed("." * 300 + "x" * 300, "")

    def test_length_is_counted_in_utf8_bytes(self) -> None:
        """The limit is 255 bytes of UTF-8, not 255 characters."""
        assert safe_filename("é" * 127 + "a") == ("é" * 127 + "a", None)
        assert safe_filename("a" * MAX_FILENAME_BYTES) == ("a" * MAX_FILENAME_BYTES, None)

    def test_input_over_path_max_is_cut_not_refused(self) -> None:
        """Names over 4,096 characters are processed from their last 4,096 characters."""
        changed("a" * 10_000, "a" * 255)
        changed("x" * 10_000 + ".csv", "x" * 251 + ".csv")
        changed("a/" * 3000 + "b.csv", "b.csv")
        changed("/" * 5000, "")
        _, original = safe_filename("a/" * 3000 + "b.csv")
        assert original == ("a/" * 3000 + "b.csv")[-4096:]

    @pytest.mark.parametrize("name", ["", "   ", "\t \n", "\u3000", "\u00a0", "\u202e", "\x00"])
    def test_empty_result(self, name: str) -> None:
        """Empty, whitespace-only and only-invisible names leave nothing: ``""`` (the name
        given is the original: the name the ingest records is a generated one)."""
        assert safe_filename(name) == ("", stored(name))

    @pytest.mark.parametrize("name", [".", "...", " . ", "....", ". / .."])
    def test_only_dots_is_empty(self, name: str) -> None:
        """Names made only of dots leave nothing."""
        changed(name, "")

    @pytest.mark.parametrize("name", [None, b"report.csv", 5, ["a.txt"], True])
    def test_non_string_refused(self, name: object) -> None:
        """Anything but a str is InvalidInput (the caller's mistake), not TypeError."""
        with pytest.raises(InvalidInput, match="must be a string") as excinfo:
            safe_filename(cast(Any, name))
        assert excinfo.value.field == "filename"

    def test_custom_field_name(self) -> None:
        """The error names the field given by the caller and is a ValueError."""
        with pytest.raises(ValueError, match=r"^name: ") as excinfo:
            safe_filename(cast(Any, 7), field="name")
        assert isinstance(excinfo.value, InvalidInput)
        assert excinfo.value.field == "name"

    def test_unicode_name_normalised_to_nfc(self) -> None:
        """Accented names are kept and normalised to NFC (which counts as a change)."""
        decomposed = unicodedata.normalize("NFD", "rapport été.csv")
        assert decomposed != "rapport été.csv"
        changed(decomposed, "rapport été.csv")
        assert safe_filename("报告 2024.xlsx") == ("报告 2024.xlsx", None)

    def test_removal_then_nfc(self) -> None:
        """A removed character between a letter and its accent lets them compose."""
        changed("e\u200b\u0301.txt", "é.txt")

    @pytest.mark.parametrize(
        "name",
        [
            ".env",
            ".gitignore",
            "report.csv.",
            "a<b>:c|d?.txt",
            "CON",
            "foo  bar.txt",
            "a\u3000b.txt",
            "\ue000.txt",
            "%2e%2e%2f",
            "a\u2215b.csv",
        ],
    )
    def test_safe_names_unchanged(self, name: str) -> None:
        """Leading and trailing dots, Windows-reserved names and characters, inner whitespace,
        private-use characters and look-alike slashes are kept as they are."""
        assert safe_filename(name) == (name, None)
        assert is_safe_filename(name)

    def test_surrounding_whitespace_stripped(self) -> None:
        """Whitespace around the name, including a trailing newline, is stripped."""
        changed("  report.csv \n", "report.csv")

    @pytest.mark.parametrize(
        "name", ["", " a", "a/b", "a\\b", "..", "a\x00", "e\u0301", "x" * 256, 3, None]
    )
    def test_unsafe_names(self, name: object) -> None:
        """is_safe_filename is False for anything safe_filename would change."""
        assert not is_safe_filename(name)

    @given(ANY_TEXT)
    def test_result_is_safe_and_stable(self, name: str) -> None:
        """Any input gives a safe name (or "" for none), a fixed point, and the original
        exactly when the name changed."""
        clean, original = safe_filename(name)
        if clean:
            assert_safe(clean)
            assert safe_filename(clean) == (clean, None)
        else:
            assert safe_filename(clean) == ("", "")
        assert (original is None) == (clean == name and bool(clean))
        if original is not None:
            assert original == stored(name)
        assert is_safe_filename(name) == (original is None)


class TestIngestFilename:
    """ingest_filename: the clean name for the row, the original into the metadata."""

    def test_changed_name_recorded(self) -> None:
        """A changed name records the original, replacing the caller's value."""
        metadata: dict[str, Any] = {"original_filename": "mine", "k": 1}
        assert ingest_filename("../\u202egnp.exe", metadata) == "gnp.exe"
        assert metadata == {ORIGINAL_FILENAME_KEY: "../\u202egnp.exe", "k": 1}
        assert ORIGINAL_FILENAME_KEY == "original_filename"

    def test_unchanged_name_not_recorded(self) -> None:
        """A safe name leaves the metadata alone (the caller's own key included)."""
        metadata: dict[str, Any] = {"original_filename": "mine"}
        assert ingest_filename("report.csv", metadata) == "report.csv"
        assert metadata == {"original_filename": "mine"}

    def test_nothing_left_is_none(self) -> None:
        """No usable name gives None (the ingest generates one); the original is recorded."""
        metadata: dict[str, Any] = {}
        assert ingest_filename("...", metadata) is None
        assert metadata == {ORIGINAL_FILENAME_KEY: "..."}


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

    def test_safe_filename_output_round_trips(self) -> None:
        """A safe name survives the RFC 5987 encoding unchanged."""
        name, _ = safe_filename("/mnt/data/Q3 résumé (final).pdf")
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
