"""Content sniffing: recognise what bytes are, independently of what they claim to be.

:func:`sniff` answers what type the head bytes themselves prove: images (validated by
:func:`~asset_catalog._content.images.inspect_image`), PDF, archives, HTML, SVG, XML, a few media
containers, generic UTF-8 text, or unknown binary.  Standard library only; every type returned
is lowercase.
"""

from __future__ import annotations

import codecs
import re
import struct
from typing import Final

import attrs

from .images import SNIFF_BYTES, ImageInfo, _looks_like_image, inspect_image

__all__ = [
    "SNIFF_BYTES",
    "Sniffed",
    "sniff",
]

TEXT_PLAIN: Final = "text/plain"


@attrs.frozen
class Sniffed:
    """What the head bytes of a blob prove about its type."""

    mime_type: str | None
    """A specific type recognised from the bytes (``"image/png"``, ``"application/pdf"``,
    ``"text/html"``, ``"image/svg+xml"``...), ``"text/plain"`` for merely generic UTF-8 text,
    or ``None`` for unrecognised binary."""
    image: ImageInfo | None
    """Set only when the head is a structurally valid PNG/JPEG/WebP/GIF header."""


# --------------------------------------------------------------------------------------------
# Text and markup
# --------------------------------------------------------------------------------------------

_UTF8_BOM: Final = b"\xef\xbb\xbf"
_WHITESPACE: Final = b"\t\n\x0c\r "
# C0/C1 controls except the ones ordinary in text files: \t \n \v \f \r and ESC (ANSI colours).
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
# WHATWG MIME sniffing, "identifying a resource with an unknown MIME type": each pattern must be
# followed by a tag-terminating byte.  We also accept the other whitespace bytes and "/".
_HTML_PATTERNS: Final = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)
_TAG_TERMINATORS: Final = frozenset(b" >\t\n\x0c\r/")
_NAME_END: Final = frozenset(b" >\t\n\x0c\r/")


_TEXT_SNIFF_BYTES: Final = 16 * 1024


def _is_text(head: bytes) -> bool:
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    if b"\x00" in head:
        return False
    try:
        # final=False keeps a multi-byte sequence cut at the very end in the decoder's buffer.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    # "Few" control characters: at most one in a hundred.
    return len(_CONTROL_RE.findall(text)) * 100 <= len(text)


def _skip_whitespace(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos] in _WHITESPACE:
        pos += 1
    return pos


def _matches_html(data: bytes) -> bool:
    lowered = data[:64].lower()
    for pattern in _HTML_PATTERNS:
        end = len(pattern)
        if lowered.startswith(pattern) and len(lowered) > end and lowered[end] in _TAG_TERMINATORS:
            return True
    return False


def _end_of_doctype(data: bytes, pos: int) -> int:
    """Index just past the ``>`` closing the doctype at ``pos``, or -1 (handles ``[...]``)."""
    depth = 0
    quote = 0
    for index in range(pos, len(data)):
        byte = data[index]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in b"\"'":
            quote = byte
        elif byte == ord("["):
            depth += 1
        elif byte == ord("]"):
            depth = max(depth - 1, 0)
        elif byte == ord(">") and depth == 0:
            return index + 1
    return -1


def _first_element(data: bytes) -> bytes | None:
    """Lowercased name of the first element after the XML prolog, or ``None``.

    Skips whitespace, processing instructions (including ``<?xml ...?>``), comments and a
    doctype.  ``None`` when the prolog does not end within ``data``.
    """
    pos = 0
    while True:
        pos = _skip_whitespace(data, pos)
        if data.startswith(b"<?", pos):
            end = data.find(b"?>", pos + 2)
            if end < 0:
                return None
            pos = end + 2
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end < 0:
                return None
            pos = end + 3
        elif data[pos : pos + 9].lower() == b"<!doctype":
            pos = _end_of_doctype(data, pos + 9)
            if pos < 0:
                return None
        elif data.startswith(b"<", pos):
            end = pos + 1
            while end < len(data) and data[end] not in _NAME_END:
                end += 1
            return data[pos + 1 : end].lower() if end < len(data) else None
        else:
            return None


def _sniff_markup(head: bytes) -> str | None:
    data = head[len(_UTF8_BOM) :] if head.startswith(_UTF8_BOM) else head
    data = data[_skip_whitespace(data, 0) :]
    if not data.startswith(b"<"):
        return None
    lowered = data[:16].lower()
    if (
        lowered.startswith(b"<!doctype html")
        and len(lowered) > 14
        and lowered[14] in b" >\t\n\r\x0c"
    ):
        return "text/html"
    element = _first_element(data)
    if element is not None:
        local_name = element.rpartition(b":")[2]
        if local_name == b"svg":
            return "image/svg+xml"
        if local_name == b"html" and lowered.startswith(b"<?xml"):
            return "application/xhtml+xml"
    if _matches_html(data):
        return "text/html"
    if lowered.startswith(b"<?xml"):
        return "application/xml"
    return None


# --------------------------------------------------------------------------------------------
# Binary signatures
# --------------------------------------------------------------------------------------------

_SIGNATURES: Final[tuple[tuple[bytes, str], ...]] = (
    (b"%PDF-", "application/pdf"),
    (b"%!PS", "application/postscript"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b\x08", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"OggS\x00", "application/ogg"),
)
_BZIP2_BLOCK_SIZES: Final = frozenset(bytes([digit]) for digit in b"123456789")
_MP4_BRANDS: Final = frozenset(
    {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"avc1", b"mp41", b"mp42", b"dash", b"M4V "}
)


def _sniff_binary(head: bytes) -> str | None:
    for magic, mime_type in _SIGNATURES:
        if head.startswith(magic):
            if mime_type == "application/x-bzip2" and head[3:4] not in _BZIP2_BLOCK_SIZES:
                continue
            return mime_type
    if head[:3] == b"ID3" and head[3:4] in (b"\x02", b"\x03", b"\x04"):
        return "audio/mpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        (box_size,) = struct.unpack_from(">I", head, 0)
        major = head[8:12]
        if major == b"M4A ":
            return "audio/mp4"
        if major == b"qt  ":
            return "video/quicktime"
        brands = [major] + [head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)]
        if any(brand in _MP4_BRANDS for brand in brands):
            return "video/mp4"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "application/x-tar"
    return None


def sniff(head: bytes) -> Sniffed:
    """Identify the type of a blob from its first bytes (pass at most :data:`SNIFF_BYTES`).

    Images are reported only when :func:`inspect_image` accepts the header: an image magic
    number followed by an invalid structure is *unknown binary* (``mime_type=None``).  Then, in
    order: binary signatures (PDF, PostScript, ZIP, gzip, bzip2, xz, 7z, RAR, Ogg, MP3 with
    an ID3 tag, WAV, MP4, tar), markup (an HTML doctype; SVG when the first element after the
    XML declaration, comments and doctype is ``<svg``; XHTML; the WHATWG HTML patterns; other
    ``<?xml`` documents), and finally generic UTF-8 text (``"text/plain"``; JSON, CSV and the
    like are not distinguished from it).  Markup is recognised even when the rest of the head is
    not valid text, because calling such bytes HTML errs on the safe side.  Never raises.
    """
    head = bytes(head[:SNIFF_BYTES])
    if _looks_like_image(head):
        image = inspect_image(head)
        mime_type = image.mime_type if image is not None else None
        return Sniffed(mime_type=mime_type, image=image)
    mime_type = _sniff_binary(head) or _sniff_markup(head)
    # Text-ness is judged on the first 16 KiB: enough to tell, and cheap for big heads.
    if mime_type is None and _is_text(head[:_TEXT_SNIFF_BYTES]):
        mime_type = TEXT_PLAIN
    return Sniffed(mime_type=mime_type, image=None)
