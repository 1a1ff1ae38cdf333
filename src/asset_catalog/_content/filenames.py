"""Filename hygiene: validating user-supplied names and building ``Content-Disposition``.

:func:`clean_filename` turns whatever name an agent or caller supplies into a safe display
name, or raises :class:`~asset_catalog.exceptions.InvalidInput`.  The rules are deterministic
(no locale, no filesystem access):

* the name must be a ``str``; it is NFC-normalised and surrounding whitespace is stripped
  (so a trailing newline is forgiven);
* a name containing ``/`` or ``\\`` is a path: any ``..`` segment is rejected as path traversal,
  otherwise only the last segment is kept (``"/mnt/data/report.csv"`` -> ``"report.csv"``);
* control (Cc), format (Cf: bidi overrides, zero-width characters, BOM), surrogate (Cs), line
  and paragraph separator (Zl, Zp) characters are rejected anywhere else in the input, path
  segments included;
* names made only of dots (``"."``, ``".."``, ``"..."``) are rejected; other names are kept
  as they are, so *leading dots are kept* (``".env"``, ``".gitignore"`` are legitimate outputs)
  and so are trailing dots; characters Windows forbids (``<>:"|?*``) and private-use
  characters are allowed -- the name is a label, never a filesystem path;
* the result must fit in :data:`MAX_FILENAME_BYTES` bytes of UTF-8.

:func:`content_disposition` renders an RFC 6266 header value with an ASCII ``filename``
fallback and an RFC 5987 ``filename*`` parameter.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal
from urllib.parse import quote

from asset_catalog.exceptions import InvalidInput

__all__ = ["MAX_FILENAME_BYTES", "clean_filename", "content_disposition"]

MAX_FILENAME_BYTES: Final = 255
"""The longest accepted filename, in bytes of UTF-8 (the usual filesystem limit)."""

_MAX_INPUT_CHARS: Final = 4096
"""Inputs longer than this (PATH_MAX) are rejected before any processing."""

_FORBIDDEN_CATEGORIES: Final[dict[str, str]] = {
    "Cc": "control character",
    "Cf": "invisible formatting character",
    "Cs": "unpaired surrogate",
    "Zl": "line separator",
    "Zp": "paragraph separator",
}
_SEPARATORS: Final = re.compile(r"[/\\]")
# RFC 5987 attr-char, minus ALPHA / DIGIT and "-._~" which quote() always keeps.
_ATTR_CHAR_SAFE: Final = "!#$&+-.^_`|~"
# Characters that must not appear in the quoted ASCII fallback.
_FALLBACK_UNSAFE: Final = frozenset('"\\%;,')


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def clean_filename(name: str, *, field: str = "filename") -> str:
    """Validate a user-supplied filename and return its clean form (see the module docstring).

    Raises :class:`~asset_catalog.exceptions.InvalidInput` naming ``field`` when the name is not
    a string, is empty, is only dots, traverses a path with ``..``, contains control, invisible
    formatting, surrogate or line/paragraph separator characters, or is longer than
    :data:`MAX_FILENAME_BYTES` bytes of UTF-8.
    """
    if not isinstance(name, str):
        raise InvalidInput(field, f"must be a string, not {type(name).__name__}")
    if len(name) > _MAX_INPUT_CHARS:
        raise InvalidInput(field, f"is too long: at most {MAX_FILENAME_BYTES} bytes are allowed")
    cleaned = unicodedata.normalize("NFC", name).strip()
    for char in cleaned:
        reason = _FORBIDDEN_CATEGORIES.get(unicodedata.category(char))
        if reason is not None:
            article = "an" if reason[0] in "aeiou" else "a"
            raise InvalidInput(field, f"must not contain {article} {reason} ({_describe(char)})")
    if _SEPARATORS.search(cleaned):
        segments = _SEPARATORS.split(cleaned)
        if any(segment.strip() == ".." for segment in segments):
            raise InvalidInput(field, "must not contain '..' path segments (path traversal)")
        cleaned = segments[-1].strip()
        if not cleaned:
            raise InvalidInput(field, "is a directory path: it must end with a file name")
    if not cleaned:
        raise InvalidInput(field, "must not be empty or only whitespace")
    if cleaned == "..":
        raise InvalidInput(field, "must not be '..' (path traversal)")
    if not cleaned.strip("."):
        raise InvalidInput(field, "must not consist only of dots")
    size = len(cleaned.encode("utf-8"))
    if size > MAX_FILENAME_BYTES:
        raise InvalidInput(
            field, f"is too long: {size} bytes of UTF-8, at most {MAX_FILENAME_BYTES} are allowed"
        )
    return cleaned


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
