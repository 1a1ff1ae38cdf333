"""Content sniffing: recognise what bytes are, independently of what they claim to be.

Three questions are answered here, using the standard library only:

* :func:`inspect_image` -- is the head of a blob a structurally valid PNG, JPEG, GIF or WebP
  header, and what are its dimensions?  The structure is checked (chunk CRCs, JPEG segment
  walk, WebP chunk layout), not just the magic number, and garbage never raises.
* :func:`sniff` -- what type do the head bytes themselves prove?  Images, PDF, archives, HTML,
  SVG, XML, a few media containers, generic UTF-8 text, or unknown binary.
* :func:`resolve_mime` -- the type to record for an upload, trusting *content sniffing first,
  the filename's extension second and the declared type last*.

The extension table is a fixed constant of this module (it never reads ``/etc/mime.types``), so
every machine gives the same answer.  Every type returned is lowercase.
"""

from __future__ import annotations

import codecs
import re
import struct
import zlib
from typing import Final

import attrs

__all__ = [
    "SNIFF_BYTES",
    "ImageInfo",
    "Sniffed",
    "extension_for",
    "inspect_image",
    "is_active_content",
    "resolve_mime",
    "sniff",
]

SNIFF_BYTES: Final[int] = 256 * 1024
"""The most head bytes callers should pass to :func:`sniff` / :func:`inspect_image`."""

OCTET_STREAM: Final = "application/octet-stream"
TEXT_PLAIN: Final = "text/plain"


@attrs.frozen
class ImageInfo:
    """The format and pixel dimensions read from a valid image header."""

    format: str
    """``"png"``, ``"jpeg"``, ``"webp"`` or ``"gif"``."""
    mime_type: str
    """``"image/png"``, ``"image/jpeg"``, ``"image/webp"`` or ``"image/gif"``."""
    width: int
    height: int


@attrs.frozen
class Sniffed:
    """What the head bytes of a blob prove about its type."""

    mime_type: str | None
    """A specific type recognised from the bytes (``"image/png"``, ``"application/pdf"``,
    ``"text/html"``, ``"image/svg+xml"``...), ``"text/plain"`` for merely generic UTF-8 text,
    or ``None`` for unrecognised binary."""
    image: ImageInfo | None
    """Set only when the head is a structurally valid PNG/JPEG/WebP/GIF header."""
    is_text: bool
    """The head is UTF-8 (a sequence cut at the very end is allowed) with no NUL byte and few
    control characters."""


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_DIMENSION: Final = 2**31
# Allowed bit depths for each PNG colour type (PNG spec, table 11.1).
_PNG_BIT_DEPTHS: Final[dict[int, frozenset[int]]] = {
    0: frozenset({1, 2, 4, 8, 16}),
    2: frozenset({8, 16}),
    3: frozenset({1, 2, 4, 8}),
    4: frozenset({8, 16}),
    6: frozenset({8, 16}),
}
_JPEG_SOF_MARKERS: Final = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)
# Markers that stand alone (no length field): TEM and RST0..RST7.
_JPEG_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_GIF_SIGNATURES: Final = (b"GIF87a", b"GIF89a")


def _inspect_png(head: bytes) -> ImageInfo | None:
    # signature(8) + length(4) + "IHDR"(4) + data(13) + crc(4)
    if len(head) < 33 or not head.startswith(_PNG_SIGNATURE):
        return None
    length, chunk_type = struct.unpack_from(">I4s", head, 8)
    if length != 13 or chunk_type != b"IHDR":
        return None
    data = head[16:29]
    (crc,) = struct.unpack_from(">I", head, 29)
    if zlib.crc32(chunk_type + data) != crc:
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", data
    )
    if not (0 < width < _PNG_MAX_DIMENSION and 0 < height < _PNG_MAX_DIMENSION):
        return None
    if depth not in _PNG_BIT_DEPTHS.get(colour, frozenset()):
        return None
    if compression != 0 or filtering != 0 or interlace not in (0, 1):
        return None
    return ImageInfo(format="png", mime_type="image/png", width=width, height=height)


def _inspect_jpeg(head: bytes) -> ImageInfo | None:
    if not head.startswith(b"\xff\xd8"):
        return None
    pos = 2
    size = len(head)
    while True:
        # Every segment starts with 0xFF; any number of 0xFF fill bytes may precede the marker.
        if pos >= size or head[pos] != 0xFF:
            return None
        while pos < size and head[pos] == 0xFF:
            pos += 1
        if pos >= size:
            return None
        marker = head[pos]
        pos += 1
        if marker in _JPEG_STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD8, 0xD9, 0xDA):
            # A stuffed zero, a second SOI, EOI or start-of-scan before any frame header.
            return None
        if pos + 2 > size:
            return None
        (length,) = struct.unpack_from(">H", head, pos)
        if length < 2:
            return None
        if marker in _JPEG_SOF_MARKERS:
            if length < 8 or pos + 8 > size:
                return None
            _precision, height, width, components = struct.unpack_from(">BHHB", head, pos + 2)
            if components == 0 or length != 8 + 3 * components:
                return None
            if width == 0 or height == 0:
                return None
            return ImageInfo(format="jpeg", mime_type="image/jpeg", width=width, height=height)
        pos += length


def _inspect_gif(head: bytes) -> ImageInfo | None:
    if len(head) < 13 or head[:6] not in _GIF_SIGNATURES:
        return None
    width, height = struct.unpack_from("<HH", head, 6)
    if width == 0 or height == 0:
        return None
    return ImageInfo(format="gif", mime_type="image/gif", width=width, height=height)


def _inspect_webp(head: bytes) -> ImageInfo | None:
    # "RIFF" size "WEBP" fourcc chunk-size
    if len(head) < 20 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    (riff_size,) = struct.unpack_from("<I", head, 4)
    fourcc, chunk_size = struct.unpack_from("<4sI", head, 12)
    if riff_size < 12 or chunk_size > riff_size - 12:
        return None
    data = head[20:]
    width = height = 0
    if fourcc == b"VP8 ":
        # 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (+2 scale bits).
        if chunk_size < 10 or len(data) < 10:
            return None
        if data[0] & 0x01 or data[3:6] != b"\x9d\x01\x2a":  # bit 0 clear means key frame
            return None
        raw_width, raw_height = struct.unpack_from("<HH", data, 6)
        width, height = raw_width & 0x3FFF, raw_height & 0x3FFF
    elif fourcc == b"VP8L":
        # Signature 0x2f, then 14-bit width-1, 14-bit height-1, alpha bit, 3-bit version (0).
        if chunk_size < 5 or len(data) < 5 or data[0] != 0x2F:
            return None
        (bits,) = struct.unpack_from("<I", data, 1)
        if bits >> 29 != 0:
            return None
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif fourcc == b"VP8X":
        # Flags(1) reserved(3) then 24-bit canvas width-1 and height-1.
        if chunk_size < 10 or len(data) < 10:
            return None
        width = int.from_bytes(data[4:7], "little") + 1
        height = int.from_bytes(data[7:10], "little") + 1
    else:
        return None
    if width == 0 or height == 0:
        return None
    return ImageInfo(format="webp", mime_type="image/webp", width=width, height=height)


def inspect_image(head: bytes) -> ImageInfo | None:
    """Return the format and size of a PNG, JPEG, GIF or WebP header, else ``None``.

    ``head`` is the beginning of the blob; only its first :data:`SNIFF_BYTES` are examined.  The
    header structure is validated -- PNG IHDR length, fields and CRC, the JPEG segment walk up to
    the frame header, the GIF logical screen, the WebP RIFF chunk layout -- so a matching magic
    number followed by garbage, or a header cut short, gives ``None``.  Never raises.
    """
    head = bytes(head[:SNIFF_BYTES])
    if head.startswith(_PNG_SIGNATURE):
        return _inspect_png(head)
    if head.startswith(b"\xff\xd8"):
        return _inspect_jpeg(head)
    if head[:6] in _GIF_SIGNATURES:
        return _inspect_gif(head)
    if head[:4] == b"RIFF":
        return _inspect_webp(head)
    return None


def _looks_like_image(head: bytes) -> bool:
    """Whether the head starts with an image magic number (valid or not)."""
    return (
        head.startswith(_PNG_SIGNATURE)
        or head.startswith(b"\xff\xd8\xff")
        or head[:6] in _GIF_SIGNATURES
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


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
    # Text-ness is judged on the first 16 KiB: enough to tell, and cheap for big heads.
    is_text = _is_text(head[:_TEXT_SNIFF_BYTES])
    if _looks_like_image(head):
        image = inspect_image(head)
        mime_type = image.mime_type if image is not None else None
        return Sniffed(mime_type=mime_type, image=image, is_text=is_text)
    mime_type = _sniff_binary(head) or _sniff_markup(head)
    if mime_type is None and is_text:
        mime_type = TEXT_PLAIN
    return Sniffed(mime_type=mime_type, image=None, is_text=is_text)


# --------------------------------------------------------------------------------------------
# Extension table and resolution
# --------------------------------------------------------------------------------------------

_XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DOCX: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_PPTX: Final = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

_EXTENSION_TYPES: Final[dict[str, str]] = {
    # text and data
    "txt": TEXT_PLAIN,
    "text": TEXT_PLAIN,
    "log": TEXT_PLAIN,
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "rst": "text/x-rst",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "ndjson": "application/x-ndjson",
    "ipynb": "application/x-ipynb+json",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "toml": "application/toml",
    "xml": "application/xml",
    "html": "text/html",
    "htm": "text/html",
    "xhtml": "application/xhtml+xml",
    "css": "text/css",
    "svg": "image/svg+xml",
    # source code
    "py": "text/x-python",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "ts": "text/typescript",
    "sql": "application/sql",
    "sh": "application/x-sh",
    "r": "text/x-r",
    "c": "text/x-c",
    "h": "text/x-c",
    "cpp": "text/x-c++",
    "java": "text/x-java",
    "go": "text/x-go",
    "rs": "text/x-rust",
    # documents and images
    "pdf": "application/pdf",
    "ps": "application/postscript",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "xlsx": _XLSX,
    "xls": "application/vnd.ms-excel",
    "docx": _DOCX,
    "doc": "application/msword",
    "pptx": _PPTX,
    "ppt": "application/vnd.ms-powerpoint",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "epub": "application/epub+zip",
    # archives and data files
    "zip": "application/zip",
    "jar": "application/java-archive",
    "apk": "application/vnd.android.package-archive",
    "gz": "application/gzip",
    "tgz": "application/gzip",
    "bz2": "application/x-bzip2",
    "xz": "application/x-xz",
    "7z": "application/x-7z-compressed",
    "rar": "application/vnd.rar",
    "tar": "application/x-tar",
    "parquet": "application/vnd.apache.parquet",
    "bin": OCTET_STREAM,
    # media
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "application/ogg",
    "flac": "audio/flac",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
}

# ZIP-based container formats: a sniffed ZIP named like one of these takes the specific type.
_ZIP_CONTAINERS: Final = frozenset(
    _EXTENSION_TYPES[ext]
    for ext in ("xlsx", "docx", "pptx", "odt", "ods", "odp", "epub", "jar", "apk")
)

# Preferred extension per type (where several extensions share it), then the rest of the table.
_PREFERRED_EXTENSIONS: Final[dict[str, str]] = {
    TEXT_PLAIN: "txt",
    "text/markdown": "md",
    "text/html": "html",
    "text/javascript": "js",
    "application/javascript": "js",
    "application/x-javascript": "js",
    "application/x-ndjson": "jsonl",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/xml": "xml",
    "text/x-c": "c",
    "image/jpeg": "jpg",
    "application/gzip": "gz",
    "application/x-gzip": "gz",
    "application/x-zip-compressed": "zip",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "application/octet-stream": "bin",
}
_TYPE_EXTENSIONS: Final[dict[str, str]] = {
    **{mime: ext for ext, mime in reversed(_EXTENSION_TYPES.items())},
    **_PREFERRED_EXTENSIONS,
}

_TEXTUAL_APPLICATION_TYPES: Final = frozenset(
    {
        "application/json",
        "application/x-ndjson",
        "application/xml",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/x-yaml",
        "application/yaml",
        "application/toml",
        "application/x-sh",
        "application/sql",
        "application/xhtml+xml",
    }
)

# Types whose claim can be checked by sniff(): when the content did not sniff as one of them,
# neither the extension nor the declared type may assert it.
_VERIFIED_TYPES: Final = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/svg+xml",
        "application/pdf",
        "application/postscript",
        "application/zip",
        "application/gzip",
        "text/html",
        "application/xhtml+xml",
    }
)

_ACTIVE_TYPES: Final = frozenset(
    [
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "image/svg-xml",
        "text/xml",
        "application/xml",
        "text/xsl",
        "application/xslt+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "application/x-ecmascript",
        "text/ecmascript",
        "text/x-javascript",
        "text/x-ecmascript",
        "text/jscript",
        "text/livescript",
        "text/x-component",
        "application/x-shockwave-flash",
        "application/futuresplash",
        "application/x-mimearchive",
        "message/rfc822",
    ]
)
# text/* types a browser shows as plain text (or downloads); every other text/* type is active.
_INERT_TEXT_TYPES: Final = frozenset(
    f"text/{subtype}"
    for subtype in [
        "plain",
        "csv",
        "tab-separated-values",
        "markdown",
        "x-markdown",
        "css",
        "x-rst",
        "x-python",
        "x-script.python",
        "typescript",
        "x-typescript",
        "x-r",
        "x-c",
        "x-c++",
        "x-java",
        "x-java-source",
        "x-go",
        "x-rust",
        "x-sh",
        "x-shellscript",
        "x-sql",
        "yaml",
        "x-yaml",
        "x-toml",
        "x-log",
        "x-diff",
        "x-patch",
        "calendar",
        "vcard",
        "rtf",
    ]
)

_MIME_NAME: Final = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
_MIME_RE: Final = re.compile(rf"{_MIME_NAME}/{_MIME_NAME}")


def _normalise_mime(value: str | None) -> str | None:
    """Lowercase ``type/subtype`` without parameters, or ``None`` if it is not a valid type."""
    if not isinstance(value, str):
        return None
    candidate = value.split(";", 1)[0].strip()
    if not candidate.isascii():
        return None
    candidate = candidate.lower()
    return candidate if _MIME_RE.fullmatch(candidate) else None


def _extension_type(filename: str | None) -> str | None:
    """The table's type for the filename's last extension (case-insensitive), or ``None``."""
    if not isinstance(filename, str):
        return None
    basename = re.split(r"[/\\]", filename)[-1].strip().lstrip(".")
    stem, dot, extension = basename.rpartition(".")
    if not dot or not stem:
        return None
    return _EXTENSION_TYPES.get(extension.lower())


def _is_textual(mime_type: str) -> bool:
    return (
        mime_type.startswith("text/")
        or mime_type in _TEXTUAL_APPLICATION_TYPES
        or mime_type.endswith("+json")
    )


def _needs_sniffing(mime_type: str) -> bool:
    """Types that only content sniffing may grant: checkable types, images and active types."""
    return (
        mime_type in _VERIFIED_TYPES
        or mime_type.startswith("image/")
        or is_active_content(mime_type)
    )


def resolve_mime(sniffed: Sniffed, filename: str | None, declared: str | None) -> str:
    """Choose the type to record: content sniffing first, extension second, declared last.

    * **Specific sniffed type** (anything but ``None`` and ``"text/plain"``): used as is, except
      that a ZIP whose filename extension (or, failing that, declared type) names a ZIP-based
      container (xlsx, docx, pptx, odt, ods, odp, epub, jar, apk) takes that container's type.
    * **Generic text**: the extension's type when it is textual, else the declared type when it
      is textual, else ``"text/plain"``.  ``image/*`` types never apply (``notes.svg`` holding
      plain text stays ``text/plain``).  A ``.html``/``.htm`` name does give ``text/html`` even
      if the text does not look like HTML: the browser would render it as HTML anyway, and the
      type is active so it is served as an attachment -- the safe direction.
    * **Unknown binary**: the extension's type, else the declared type, when it is neither
      textual nor a type that sniffing must establish (the checkable types such as PNG, PDF or
      ZIP, any ``image/*`` and any active type): an unrecognised blob named ``x.png`` is
      ``application/octet-stream``.

    ``declared`` is lowercased, stripped of parameters and ignored unless it is a well-formed
    ``type/subtype``.  The extension table is fixed, so the result is machine-independent.
    """
    extension_type = _extension_type(filename)
    declared_type = _normalise_mime(declared)
    sniffed_type = sniffed.mime_type

    if sniffed_type is not None and sniffed_type != TEXT_PLAIN:
        sniffed_type = sniffed_type.lower()
        if sniffed_type == "application/zip":
            for candidate in (extension_type, declared_type):
                if candidate is not None and candidate in _ZIP_CONTAINERS:
                    return candidate
        return sniffed_type

    if sniffed_type == TEXT_PLAIN:
        for candidate in (extension_type, declared_type):
            if (
                candidate is not None
                and _is_textual(candidate)
                and not candidate.startswith("image/")
            ):
                return candidate
        return TEXT_PLAIN

    for candidate in (extension_type, declared_type):
        if candidate is not None and not _is_textual(candidate) and not _needs_sniffing(candidate):
            return candidate
    return OCTET_STREAM


def extension_for(mime_type: str) -> str:
    """A conventional file extension (no dot) for ``mime_type``; ``"bin"`` when unknown.

    Parameters and case are ignored.  The result is 1-8 characters from ``[a-z0-9]``.
    """
    normalised = _normalise_mime(mime_type)
    if normalised is None:
        return "bin"
    return _TYPE_EXTENSIONS.get(normalised, "bin")


def is_active_content(mime_type: str) -> bool:
    """Whether a browser would execute or render ``mime_type`` as a document (script-capable).

    True for HTML, XHTML, SVG, XML and XSL, JavaScript/ECMAScript types, any ``+xml`` type,
    Flash, MHTML, any ``multipart/*`` (``x-mixed-replace``) and every ``text/*`` type not known
    to be inert (plain, CSV, Markdown, CSS, source code...).  Malformed values are treated as
    active too.  PDF, images other than SVG, audio, video and archives are not active.
    """
    normalised = _normalise_mime(mime_type)
    if normalised is None:
        return True
    if normalised in _ACTIVE_TYPES or normalised.endswith("+xml"):
        return True
    top_level = normalised.partition("/")[0]
    if top_level == "multipart":
        return True
    return top_level == "text" and normalised not in _INERT_TEXT_TYPES
