"""Filename hygiene: making supplied names safe, and building ``Content-Disposition``.

:func:`safe_filename` turns whatever name an agent or caller supplies into a safe display
name; it never refuses a name because of what it contains (only a name that is not a ``str``
is an :class:`~asset_catalog.exceptions.InvalidInput`: that is the caller's mistake, not the
model's).  The rules are deterministic (no locale, no filesystem access), applied in order:

1. a name longer than 4,096 characters (``PATH_MAX``) is cut to its *last* 4,096 characters
   (the file name is at the end of a path);
2. control (Cc), format (Cf: bidi overrides, zero-width characters, BOM, soft hyphen),
   surrogate (Cs), line and paragraph separator (Zl, Zp) characters are removed, wherever they
   are (``"a\\nb.csv"`` -> ``"ab.csv"``, ``"\\u202egnp.exe"`` -> ``"gnp.exe"``);
3. the rest is NFC-normalised;
4. the name is split on ``/`` and ``\\``; each segment is stripped of surrounding whitespace,
   and segments left empty or made only of dots (``.``, ``..``, ``...``) are dropped; the last
   segment left is the name (``"/mnt/data/report.csv"`` -> ``"report.csv"``,
   ``"../../etc/passwd"`` -> ``"passwd"``, ``"a/.."`` -> ``"a"``, ``"/mnt/data/"`` ->
   ``"data"``).  Whitespace inside a name is
   kept as it is; so are leading dots (``".env"``), trailing dots, characters Windows forbids
   (``<>:"|?*``) and private-use characters -- the name is a label, never a filesystem path;
5. a name over :data:`MAX_FILENAME_BYTES` bytes of UTF-8 is shortened to fit, keeping its
   extension: the last ``.suffix`` of 1 to 16 characters without whitespace (not a leading
   dot) is kept whole and the stem before it is cut on a character boundary, before a
   combining sequence rather than inside it when the stem allows, and stripped of trailing
   whitespace; a longer "extension" is not one, and the whole name is cut instead;
6. nothing left (an empty or whitespace-only name, only dots, only separators, only removed
   characters) gives ``""``: the caller replaces it by a generated name (the ingest calls use
   ``image-<id>.<ext>`` / ``file-<id>.<ext>``, with the extension of the content's type).

A name that is already safe (see :func:`is_safe_filename`) comes back unchanged, and the
result of :func:`safe_filename` is a fixed point: cleaning it again changes nothing.

When the clean name is not the name given (or is ``""``), :func:`safe_filename` also returns
the original (as processed: the last 4,096 characters) as *storable text*: a NUL becomes the
four characters ``\\x00`` and a lone surrogate its ``\\udXXX`` escape
(``str.encode("utf-8", "backslashreplace")``), so that every database can store it in the
asset's metadata (:func:`ingest_filename` records it under :data:`ORIGINAL_FILENAME_KEY`).

:func:`content_disposition` renders an RFC 6266 header value with an ASCII ``filename``
fallback and an RFC 5987 ``filename*`` parameter.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final, Literal
from urllib.parse import quote

from asset_catalog._limits import MAX_FILENAME_BYTES
from asset_catalog.exceptions import InvalidInput

__all__ = [
    "MAX_FILENAME_BYTES",
    "ORIGINAL_FILENAME_KEY",
    "content_disposition",
    "cut_to_bytes",
    "ingest_filename",
    "is_safe_filename",
    "safe_filename",
]

ORIGINAL_FILENAME_KEY: Final = "original_filename"
"""The metadata key under which an ingest records the name it was given, when it changed."""

_MAX_INPUT_CHARS: Final = 4096
"""Inputs longer than this (PATH_MAX) are cut to their last this-many characters first."""
_MAX_EXTENSION_CHARS: Final = 16
"""The longest extension (after the dot) kept whole when a name is shortened."""

_REMOVED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SEPARATORS: Final = str.maketrans("\\", "/")
# RFC 5987 attr-char, minus ALPHA / DIGIT and "-._~" which quote() always keeps.
_ATTR_CHAR_SAFE: Final = "!#$&+-.^_`|~"
# Characters that must not appear in the quoted ASCII fallback.
_FALLBACK_UNSAFE: Final = frozenset('"\\%;,')


def safe_filename(name: str, *, field: str = "filename") -> tuple[str, str | None]:
    """Make a user- or model-supplied filename safe (see the module docstring for the rules).

    Returns ``(clean, original)``: ``clean`` is a safe name, or ``""`` when nothing usable is
    left (the caller supplies a generated name); ``original`` is ``None`` when ``clean`` is the
    name as given (and not ``""``), else the name given (its last 4,096 characters) as
    storable text.

    Raises :class:`~asset_catalog.exceptions.InvalidInput` naming ``field`` only when ``name``
    is not a ``str``.
    """
    if not isinstance(name, str):
        raise InvalidInput(field, f"must be a string, not {type(name).__name__}")
    given = name[-_MAX_INPUT_CHARS:]
    kept = "".join(ch for ch in given if unicodedata.category(ch) not in _REMOVED_CATEGORIES)
    text = unicodedata.normalize("NFC", kept)
    segments = (part.strip() for part in reversed(text.translate(_SEPARATORS).split("/")))
    last = next((segment for segment in segments if segment.strip(".")), "")
    clean = _shorten(last)
    if clean and clean == name:
        return clean, None
    return clean, _storable(given)


def is_safe_filename(name: object) -> bool:
    """Whether ``name`` is a name :func:`safe_filename` returns unchanged: a non-empty NFC
    ``str`` of at most :data:`MAX_FILENAME_BYTES` bytes of UTF-8, without surrounding
    whitespace, ``/``, ``\\``, or control, format, surrogate, line or paragraph separator
    characters, and not made only of dots."""
    return (
        isinstance(name, str)
        and bool(name.strip("."))
        and name == name.strip()
        and "/" not in name
        and "\\" not in name
        and not any(unicodedata.category(ch) in _REMOVED_CATEGORIES for ch in name)
        and len(name.encode("utf-8")) <= MAX_FILENAME_BYTES
        and unicodedata.is_normalized("NFC", name)
    )


def ingest_filename(name: str, metadata: dict[str, Any]) -> str | None:
    """:func:`safe_filename` for an ingest call: the clean name, or ``None`` when nothing is
    left (the ingest generates one); when the name changed, the original is recorded in
    ``metadata`` under :data:`ORIGINAL_FILENAME_KEY` (replacing a value the caller put there).
    """
    clean, original = safe_filename(name)
    if original is not None:
        metadata[ORIGINAL_FILENAME_KEY] = original
    return clean or None


def _shorten(name: str) -> str:
    """``name`` cut to :data:`MAX_FILENAME_BYTES` bytes of UTF-8, extension kept; ``""`` if
    the cut leaves only dots."""
    if len(name.encode("utf-8")) <= MAX_FILENAME_BYTES:
        return name  # "" included
    stem, extension = _split_extension(name)
    budget = MAX_FILENAME_BYTES - len(extension.encode("utf-8"))
    short = _cut(stem, budget).rstrip() + extension
    return short if short.strip(".") else ""


def _split_extension(name: str) -> tuple[str, str]:
    """``(stem, ".ext")``, or ``(name, "")`` when the name has no extension worth keeping."""
    dot = name.rfind(".")
    suffix = name[dot + 1 :]
    if dot <= 0 or not 1 <= len(suffix) <= _MAX_EXTENSION_CHARS:
        return name, ""
    if any(ch.isspace() for ch in suffix):
        return name, ""
    return name[:dot], name[dot:]


def cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` bytes of UTF-8 (see :func:`_cut`)."""
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    """The longest prefix of ``text`` within ``limit`` bytes of UTF-8, never inside a
    character, and not inside a combining sequence unless the first one is over the limit."""
    prefix = text.encode("utf-8")[:limit].decode("utf-8", "ignore")
    end = len(prefix)
    while 0 < end < len(text) and unicodedata.category(text[end]).startswith("M"):
        end -= 1
    return text[: end or len(prefix)]


def _storable(text: str) -> str:
    """``text`` with NUL as ``\\x00`` and lone surrogates as ``\\udXXX``: valid UTF-8 without
    NUL, which every database stores."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _ascii_fallback(filename: str) -> str:
    """Printable-ASCII stand-in: accents dropped, anything unsafe replaced by ``_``."""
    decomposed = unicodedata.normalize("NFKD", filename)
    chars = (char for char in decomposed if unicodedata.category(char) != "Mn")
    return "".join(
        char if " " <= char <= "~" and char not in _FALLBACK_UNSAFE else "_" for char in chars
    )


def content_disposition(filename: str, disposition: Literal["inline", "attachment"]) -> str:
    """Build an RFC 6266 ``Content-Disposition`` value for ``filename``.

    ``attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded name>``: the
    fallback replaces every character outside printable ASCII, and ``"``, ``\\``, ``%``, ``;``
    and ``,``, by ``_`` (accents are dropped first, so ``été`` becomes ``ete``); ``filename*``
    percent-encodes everything outside RFC 5987 ``attr-char`` and is omitted when the name is
    plain ASCII identical to its fallback.  An empty name gives ``filename="download"``.  The
    result never contains CR, LF or NUL, whatever the input.
    """
    if disposition not in ("inline", "attachment"):
        raise InvalidInput("disposition", "must be 'inline' or 'attachment'")
    fallback = _ascii_fallback(filename) or "download"
    value = f'{disposition}; filename="{fallback}"'
    if filename and filename != fallback:
        encoded = quote(filename, safe=_ATTR_CHAR_SAFE, encoding="utf-8", errors="replace")
        value += f"; filename*=UTF-8''{encoded}"
    return value
