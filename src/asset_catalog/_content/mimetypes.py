"""Type resolution: the fixed extension table and the type to record for an upload.

* :func:`resolve_mime` -- the type to record for an upload, trusting *content sniffing first,
  the filename's extension second and the declared type last*.
* :func:`extension_for` -- a conventional file extension for a type.
* :func:`is_active_content` -- whether a browser would execute or render a type as a document.

The extension table is a fixed constant of this module (it never reads ``/etc/mime.types``), so
every machine gives the same answer.  Every type returned is lowercase.
"""

from __future__ import annotations

import re
from typing import Final

from .sniff import TEXT_PLAIN, Sniffed

__all__ = [
    "extension_for",
    "is_active_content",
    "resolve_mime",
]

OCTET_STREAM: Final = "application/octet-stream"

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
