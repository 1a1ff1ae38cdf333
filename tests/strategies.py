"""Hypothesis strategies shared by the property tests, kept in one place.

* :func:`tenant_ids` / :func:`host_ids` -- opaque host identifiers the catalog must accept
  (UUIDs, integers as text, provider ids, arbitrary Unicode without control characters).
* :func:`valid_filenames` -- names :func:`safe_filename` must keep as they are.
* :func:`hostile_filenames` -- names it must change, each with the safe name it must give:
  traversal, control, invisible and bidi characters, separators, names over 255 bytes,
  nothing left at all (``""``: the ingest generates a name).
* :func:`asset_specs` / :func:`list_filters` -- random assets and filter combinations for the
  pagination properties, expressed over small pools so that filters actually select.
* :func:`image_garbage` -- anything at all thrown at ``ingest_image``'s ``image`` argument.
"""

from __future__ import annotations

import base64
import datetime as dt
import unicodedata
from typing import Any, NamedTuple

from hypothesis import strategies as st

__all__ = [
    "AGENT_KEYS",
    "BASE_TIME",
    "CONVERSATIONS",
    "KINDS",
    "MESSAGES",
    "AssetSpec",
    "asset_specs",
    "host_ids",
    "hostile_filenames",
    "image_garbage",
    "list_filters",
    "tenant_ids",
    "valid_filenames",
]

BASE_TIME = dt.datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=dt.UTC)
"""Every generated ``created_at`` is an offset from this instant."""

CONVERSATIONS = ("conv-1", "conv-2", "conv-3")
AGENT_KEYS = ("agent-a", "agent-b")
MESSAGES = ("msg-1", "msg-2")
KINDS = ("generated_png", "container_png", "container_csv")
"""How an asset is ingested: ``ingest_image`` with a PNG, or ``ingest_container_file`` with
a PNG (an image asset from Code Interpreter) or a CSV (a file asset)."""

MIME_PREFIXES = ("image/", "image/png", "text/", "text/csv", "application/", "%", "image_")

# Characters safe_filename removes anywhere in a name.
_FORBIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Zl", "Zp")
_SAFE_PUNCTUATION = " -_()[]{}+=,;!@#$&'~"
_EXTENSIONS = ("csv", "png", "txt", "json", "tar.gz", "xlsx", "", "PDF")


# -- identifiers ------------------------------------------------------------------------------


def host_ids(max_size: int = 255) -> st.SearchStrategy[str]:
    """Opaque host identifiers the catalog must accept: no control chars, 1..255 chars."""
    unicode_ids = st.text(
        alphabet=st.characters(exclude_categories=("Cc", "Cs")),
        min_size=1,
        max_size=max_size,
    )
    return st.one_of(
        st.uuids().map(str),
        st.integers(min_value=0, max_value=2**63).map(str),
        st.from_regex(r"\A(?:resp|msg|call|cntr|file)_[A-Za-z0-9]{8,40}\Z"),
        unicode_ids,
    )


def tenant_ids() -> st.SearchStrategy[str]:
    """Tenant ids: any host id (UUIDs, integers, provider ids, odd Unicode)."""
    return host_ids()


# -- filenames --------------------------------------------------------------------------------


def _name_chars() -> st.SearchStrategy[str]:
    return st.characters(categories=("L", "N", "M"), exclude_characters="/\\") | st.sampled_from(
        _SAFE_PUNCTUATION
    )


@st.composite
def valid_filenames(draw: st.DrawFn) -> str:
    """A display name safe_filename keeps as it is: NFC, no separators, no forbidden
    categories, no surrounding whitespace, not only dots, at most 255 bytes of UTF-8."""
    stem = draw(st.text(alphabet=_name_chars(), min_size=1, max_size=40)).strip()
    if not stem:
        stem = "file"
    extension = draw(st.sampled_from(_EXTENSIONS))
    name = f"{stem}.{extension}" if extension else stem
    name = unicodedata.normalize("NFC", name)
    while len(name.encode("utf-8")) > 255:
        name = name[:-1].rstrip()
    return name or "file"


def _forbidden_char() -> st.SearchStrategy[str]:
    return st.characters(categories=_FORBIDDEN_CATEGORIES)


@st.composite
def _with_forbidden_chars(draw: st.DrawFn) -> tuple[str, str]:
    """A valid name with forbidden characters anywhere in it (ends included): they are
    removed, giving the valid name back."""
    name = draw(valid_filenames())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(name)))
        name = name[:position] + draw(_forbidden_char()) + name[position:]
    return name, unicodedata.normalize("NFC", _without_forbidden(name))


def _without_forbidden(name: str) -> str:
    return "".join(ch for ch in name if unicodedata.category(ch) not in _FORBIDDEN_CATEGORIES)


@st.composite
def _traversal(draw: st.DrawFn) -> tuple[str, str]:
    """A path whose segments include ``..`` (with either separator): the last segment is
    the name."""
    separator = draw(st.sampled_from(["/", "\\"]))
    before = draw(st.lists(st.sampled_from(["..", "a", "mnt", "data", " .. "]), max_size=3))
    after = draw(st.lists(st.sampled_from(["..", "b", "etc"]), max_size=2))
    last = draw(valid_filenames())
    trailing = draw(st.lists(st.sampled_from(["..", ".", "", " .. "]), max_size=2))
    segments = [*before, "..", *after, last, *trailing]
    return separator.join(segments), last


_LONG_UNITS = ("a", "é", "漢", "😀", "ab-")


@st.composite
def _too_long(draw: st.DrawFn) -> tuple[str, str]:
    """A name over 255 bytes of UTF-8 (multi-byte characters included, over 4,096 characters
    too): the stem is cut to fit, ``.csv`` is kept."""
    unit = draw(st.sampled_from(_LONG_UNITS))
    size = draw(st.integers(min_value=256, max_value=6000))
    name = unit * size + ".csv"
    stem = name[-4096:-4]  # what is processed: the last 4,096 characters
    kept = stem.encode("utf-8")[: 255 - 4].decode("utf-8", "ignore")
    return name, kept + ".csv"


HOSTILE_FILENAMES: dict[str, str] = {
    "../../etc/passwd": "passwd",
    "..\\..\\win.ini": "win.ini",
    "a\x00b.csv": "ab.csv",
    "a\nb.csv": "ab.csv",
    "\x1b[31mred.csv": "[31mred.csv",
    "x" * 10_000: "x" * 255,
    "": "",
    " \t \n ": "",
    "\u202egnp.exe": "gnp.exe",
    "report\u200b.csv": "report.csv",
    "a\u200db.csv": "ab.csv",
    "\ufeffreport.csv": "report.csv",
    "a\u2028b.csv": "ab.csv",
    "é" * 150 + ".csv": "é" * 125 + ".csv",
    ".": "",
    "..": "",
    "...": "",
    "/mnt/data/": "data",
    "/": "",
    "\\": "",
}
"""Hand-picked hostile names and the safe names they give ("": nothing is left)."""


def hostile_filenames() -> st.SearchStrategy[tuple[str, str]]:
    """Names safe_filename must change, each with the safe name it must give ("" when
    nothing is left)."""
    return st.one_of(
        st.sampled_from(sorted(HOSTILE_FILENAMES.items())),
        _with_forbidden_chars(),
        _traversal(),
        _too_long(),
        st.from_regex(r"\A[ \t\r\n\f\v.]*\Z")
        .filter(lambda s: not s.strip().strip("."))
        .map(lambda s: (s, "")),
    )


# -- assets and filters for the pagination properties --------------------------------------------


class AssetSpec(NamedTuple):
    """One asset to ingest in a property test."""

    kind: str
    """One of :data:`KINDS`."""
    tenant: int
    """Index into the example's tenant pair (0 is the tenant that is listed)."""
    conversation_id: str | None
    agent_key: str | None
    message_id: str | None
    """Linked with ``link_message`` after the ingest, when not None."""
    tick: int
    """Microseconds after the previous asset's ``created_at``; 0 makes a tie."""


def asset_specs() -> st.SearchStrategy[AssetSpec]:
    """A random asset over small pools, with frequent timestamp ties."""
    return st.builds(
        AssetSpec,
        kind=st.sampled_from(KINDS),
        tenant=st.sampled_from([0, 0, 0, 1]),
        conversation_id=st.sampled_from([*CONVERSATIONS, None]),
        agent_key=st.sampled_from([*AGENT_KEYS, None]),
        message_id=st.sampled_from([*MESSAGES, None, None]),
        tick=st.sampled_from([0, 0, 1, 999, 1_000_000]),
    )


def _instants() -> st.SearchStrategy[dt.datetime]:
    return st.integers(min_value=-1, max_value=4_000_000).map(
        lambda us: BASE_TIME + dt.timedelta(microseconds=us)
    )


_FILTER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "asset_type": st.sampled_from(["image", "file"]),
    "source_tool": st.sampled_from(["image_generation", "code_interpreter"]),
    "conversation_id": st.sampled_from(CONVERSATIONS),
    "message_id": st.sampled_from(MESSAGES),
    "agent_key": st.sampled_from(AGENT_KEYS),
    "mime_prefix": st.sampled_from(MIME_PREFIXES),
    "created_after": _instants(),
    "created_before": _instants(),
}


@st.composite
def list_filters(draw: st.DrawFn) -> dict[str, Any]:
    """A random combination of ``list`` keyword filters: usually none to two of them (so
    that results span several pages), sometimes more."""
    count = draw(st.sampled_from([0, 0, 1, 1, 1, 2, 2, 3, 5]))
    names = draw(
        st.lists(
            st.sampled_from(sorted(_FILTER_VALUES)), min_size=count, max_size=count, unique=True
        )
    )
    return {name: draw(_FILTER_VALUES[name]) for name in names}


# -- garbage for ingest_image -------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def image_garbage() -> st.SearchStrategy[Any]:
    """Anything a careless caller could pass as ``image``: raw bytes, text, base64 of
    non-images, data: URLs, near-images, wrong types, chunk lists with wrong items."""
    magic = st.sampled_from(
        [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"GIF87a", b"RIFF\x00\x00\x00\x00WEBP"]
    )
    near_images = st.tuples(magic, st.binary(max_size=64)).map(lambda t: t[0] + t[1])
    raw = st.one_of(st.binary(max_size=512), near_images)
    return st.one_of(
        raw,
        raw.map(bytearray),
        st.text(max_size=200),
        raw.map(_b64),
        raw.map(lambda b: "data:image/png;base64," + _b64(b)),
        raw.map(lambda b: _b64(b)[:-1]),
        st.lists(raw, max_size=4).map(tuple),
        st.lists(st.one_of(raw, st.text(max_size=8), st.integers()), min_size=1, max_size=4),
        st.integers(),
        st.floats(allow_nan=True),
        st.none(),
        st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
        st.uuids(),
    )
