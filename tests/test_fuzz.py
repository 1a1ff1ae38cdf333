"""Fuzzing every public argument of every public :class:`AssetCatalog` method.

For each public method (found by introspection, so a new one is fuzzed without edits here),
Hypothesis draws each parameter from a pool of working values for that parameter (the seeded
assets' ids, genuine cursors and tokens, real images ...) or from anything at all: None, bools,
ints of any size, floats with NaN and infinities, text with NUL, control, bidi and zero-width
characters, bytes, lists, dicts, datetimes naive and aware, timedeltas, huge strings and other
odd objects -- or leaves a parameter with a default out. The call must either succeed or raise an
:class:`AssetCatalogError` subclass (never TypeError, KeyError, AttributeError, a driver error
...), and when it raises, the database and storage must be exactly as before
(:func:`snapshots.snapshot`).

Runs on SQLite with local files, one catalog per method (its state carries over from example
to example, as a long-lived catalog's would).
"""

from __future__ import annotations

import base64
import datetime as dt
import inspect
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from asset_catalog import AssetCatalog, AssetCatalogError, Download, UrlSigner

from .figures import FUZZ_EXAMPLES, assert_verified
from .images import gif_bytes, jpeg_bytes, png_bytes
from .snapshots import Snapshot, snapshot
from .strategies import host_ids
from .test_corpus import PNG, World, seed

pytestmark = pytest.mark.slow

PUBLIC_METHODS = sorted(
    name
    for name, _ in inspect.getmembers(AssetCatalog, inspect.isfunction)
    if not name.startswith("_")
)
NOT_FUZZED = {
    "close": "takes no argument (and ends the catalog it would be fuzzing)",
    "usage_by_tenant": "takes no argument (tests/test_usage.py)",
}
FUZZED = [name for name in PUBLIC_METHODS if name not in NOT_FUZZED]

OMIT = object()
"""Leave the parameter out (only for parameters with a default)."""


# -- anything at all -----------------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x00" * 300,
    "\r\n",
    "\t",
    "\x1b[31m",
    "\x7f\x85\x9b",
    "\u202egnp.exe",
    "\u200b\u200c\u200d\u2060",
    "\ufeff",
    "\u2028\u2029",
    "../../etc/passwd",
    "..\\..\\win.ini",
    "%",
    "_",
    "\\",
    "'; DROP TABLE agent_assets; --",
    "k0.e30.e30",
    "data:image/png;base64,",
    "\U0001f600" * 64,
    "\u05e9\u05dc\u05d5\u05dd",
    "\ud800",  # lone surrogates: not valid UTF-8 anywhere
    "k0.\ud800.x",
    "x" * 256,
    "x" * 10_000,
    "\u00e9" * 100_000,
    "A" * 1_000_000,
]
ODD_BYTES = [b"", b"\x00", b"\x89PNG\r\n\x1a\n", b"<html>", b"\xff" * 1000, b"x" * 300_000]


def _odd_objects() -> list[Any]:
    return [
        bytearray(b"odd"),
        memoryview(b"odd"),
        (1, "a"),
        frozenset({"a"}),
        {"a"},
        object(),
        dt.date(2026, 1, 1),
        2**64,
        -(2**63) - 1,
        10**30,
        float("nan"),
        float("inf"),
        float("-inf"),
        -0.0,
        1e308,
        complex(1, 2),
        Ellipsis,
        io.StringIO("text stream"),
        iter([b"chunk", "text"]),
        [None],
        [[]],
        {None: None},
        {"": {"": {"": [1.5, None]}}},
    ]


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40),
        st.binary(max_size=40),
    )


_OFFSETS = st.builds(
    dt.timezone,
    st.timedeltas(
        min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
    ),
)
"""Fixed UTC offsets up to almost a day either way (no time zone database needed)."""


def anything() -> st.SearchStrategy[Any]:
    """Anything a confused or hostile caller might pass."""
    return st.one_of(
        _scalars(),
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300),
        st.sampled_from(ODD_TEXT),
        st.sampled_from(ODD_BYTES),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.lists(_scalars(), max_size=5),
        st.dictionaries(st.text(max_size=8), _scalars(), max_size=5),
        st.datetimes(timezones=st.none() | _OFFSETS),
        st.timedeltas(),
        st.integers(min_value=0, max_value=len(_odd_objects()) - 1).map(
            lambda i: _odd_objects()[i]
        ),
    )


# -- values that work ----------------------------------------------------------------------------


def _factories(*makers: Callable[[], Any]) -> st.SearchStrategy[Any]:
    """Fresh values per draw (streams and iterators are single-use)."""
    return st.sampled_from(makers).map(lambda make: make())


def working(name: str, world: World) -> st.SearchStrategy[Any] | None:
    """Values of the parameter ``name`` the catalog should accept (None: no such pool)."""
    refs = world.refs
    asset_ids = [refs[k] for k in ("a_image_id", "a_csv_id", "b_image_id", "a_deleted_id")]
    known_ids = st.sampled_from(["conv-1", "call-1", "resp-1", "msg-1", "agent", "cntr-1"])
    pools: dict[str, st.SearchStrategy[Any]] = {
        "tenant_id": st.sampled_from(["tenant-a", "tenant-b", "tenant-new"]),
        "asset_id": st.sampled_from([*asset_ids, "no-such-asset"]),
        "asset_ids": st.lists(st.sampled_from(asset_ids), max_size=3),
        "tool_call_ids": st.lists(known_ids | host_ids(40), max_size=3),
        "image": _factories(
            lambda: PNG,
            lambda: base64.b64encode(png_bytes(3, 2)).decode(),
            lambda: "data:image/png;base64," + base64.b64encode(PNG).decode(),
            lambda: io.BytesIO(gif_bytes(2, 2)),
            lambda: iter([jpeg_bytes(8, 8)[:10], jpeg_bytes(8, 8)[10:]]),
        ),
        "content": _factories(
            lambda: b"name,value\n1,2\n",
            lambda: PNG,
            lambda: b"\x00\x01binary\xff",
            lambda: io.BytesIO(b"<html><body>x</body></html>"),
            lambda: [b"a,b\n", b"1,2\n"],
        ),
        "filename": st.sampled_from(["a.csv", "/mnt/data/plot.png", "r\u00e9sum\u00e9.pdf", "x"]),
        "target": _factories(io.BytesIO),  # export: a stream (paths land in the test's cwd)
        "format": st.sampled_from([None, "png", "jpeg", "gif", "webp", "PNG"]),
        "source_tool": st.sampled_from([None, "image_generation", "code_interpreter"]),
        "mime_type": st.sampled_from([None, "text/csv", "image/png", "application/x-thing"]),
        "metadata": st.sampled_from([None, {"k": "v"}, {"n": 1, "l": [1, 2]}]),
        "asset_type": st.sampled_from([None, "image", "file"]),
        "mime_prefix": st.sampled_from([None, "image/", "text/", "%", "image_"]),
        "created_after": st.none() | st.datetimes(timezones=st.just(dt.UTC)),
        "created_before": st.none() | st.datetimes(timezones=st.just(dt.UTC)),
        "limit": st.integers(min_value=1, max_value=500),
        "cursor": st.sampled_from([None, refs["a_cursor"], refs["b_cursor"]]),
        "expires_in": st.integers(min_value=1, max_value=7 * 24 * 3600),
        "disposition": st.sampled_from([None, "inline", "attachment"]),
        "variant": st.sampled_from([None, "thumbnail", "poster"]),
        "token": st.sampled_from([refs["a_token"], refs["b_token"], refs["a_csv_token"]]),
        "older_than": st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=3650)),
        "checksums": st.booleans(),
        "progress": st.sampled_from([None, lambda progress: None]),
        "max_findings": st.integers(min_value=0, max_value=100),
    }
    if name in pools:
        return pools[name]
    if name.endswith(("_id", "_key")) or name == "actor":
        return st.none() | known_ids | host_ids(60)
    if name in ("quality", "background", "size", "revised_prompt"):
        return st.sampled_from([None, "high", "auto", "1024x1024", "a prompt"])
    return None


ANYTHING = anything()
_WORKING: dict[tuple[int, str, str], st.SearchStrategy[Any]] = {}


def working_or_default(
    method: str, parameter: inspect.Parameter, world: World
) -> st.SearchStrategy[Any]:
    """A working value or, for a parameter with a default, leaving it out (built once)."""
    key = (id(world), method, parameter.name)
    if key not in _WORKING:
        choices = []
        pool = working(parameter.name, world)
        if pool is not None:
            choices.append(pool)
        if parameter.default is not inspect.Parameter.empty:
            choices.append(st.just(OMIT))
        _WORKING[key] = st.one_of(choices) if choices else ANYTHING
    return _WORKING[key]


# -- the test ------------------------------------------------------------------------------------


@pytest.fixture
def fuzz_world(
    sqlite_repository: Any,
    local_storage: Any,
    signer: UrlSigner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:  # one per method; examples share it
    monkeypatch.chdir(tmp_path)  # export() given any text makes that directory: here
    catalog = AssetCatalog(repository=sqlite_repository, storage=local_storage, signer=signer)
    world = seed(catalog, signer, "sqlite")
    _SNAPSHOTS[id(world)] = snapshot(catalog)
    yield world
    assert_verified(catalog, "fuzzing")
    del _SNAPSHOTS[id(world)]
    for key in [k for k in _WORKING if k[0] == id(world)]:
        del _WORKING[key]


def _short(value: object) -> str:
    text = ascii(value)
    return text if len(text) <= 120 else f"{text[:117]}... ({len(text)} chars)"


def test_every_public_method_is_fuzzed() -> None:
    """Introspection finds the facade's methods; all but the listed ones are fuzzed."""
    assert {"ingest_image", "list", "open_signed", "reconcile"} <= set(FUZZED)
    assert set(PUBLIC_METHODS) == set(FUZZED) | set(NOT_FUZZED)


_SNAPSHOTS: dict[int, Snapshot] = {}
"""The world's snapshot as of the last example (refreshed after a call that succeeded)."""


@pytest.mark.parametrize("method", FUZZED)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_public_method(fuzz_world: World, method: str, data: st.DataObject) -> None:
    """Any arguments: success, or a typed error that changed nothing.

    Each example throws anything at all at one or two of the parameters (or, now and then, at
    none or all of them) and gives the others working values, so every parameter's checks are
    reached, not only the first one's.
    """
    catalog = fuzz_world.catalog
    bound = getattr(catalog, method)
    parameters = list(inspect.signature(bound).parameters.values())
    names = [p.name for p in parameters]
    every = data.draw(st.integers(min_value=0, max_value=9), label="mode") == 9
    wild = set(names) if every else data.draw(st.sets(st.sampled_from(names), max_size=2))
    kwargs: dict[str, Any] = {}
    for parameter in parameters:
        strategy = (
            ANYTHING
            if parameter.name in wild
            else working_or_default(method, parameter, fuzz_world)
        )
        value = data.draw(strategy, label=parameter.name)
        if value is not OMIT:
            kwargs[parameter.name] = value
    FUZZ_EXAMPLES[method] += 1
    before = _SNAPSHOTS[id(fuzz_world)]
    try:
        result = bound(**kwargs)
    except AssetCatalogError as exc:
        event(f"{type(exc).__name__}({getattr(exc, 'field', '')})")
        after = snapshot(catalog)
        _SNAPSHOTS[id(fuzz_world)] = after
        changed = after != before
        message = f"{method} raised {type(exc).__name__}: {exc} and changed the catalog"
        assert not changed, message
    except Exception as exc:
        raise AssertionError(
            f"{method}({', '.join(f'{k}={_short(v)}' for k, v in kwargs.items())}) raised "
            f"untyped {type(exc).__module__}.{type(exc).__name__}: {exc}"
        ) from exc
    else:
        event("succeeded")
        if isinstance(result, Download):
            result.stream.close()
        _SNAPSHOTS[id(fuzz_world)] = snapshot(catalog)
