"""The bad-input corpus: every item of every file in ``tests/corpus/`` through every public call
that takes that kind of field.

Each category test loads one corpus file (format: ``tests/corpus/README.md``) and runs every
item through the calls its runner lists (``ID_SLOTS``, ``_argument_slots`` ...). A refused item
must raise exactly the documented :class:`AssetCatalogError` subclass (with ``.field`` naming
the argument for an :class:`InvalidInput`), and :func:`snapshots.snapshot` of the database and
the storage must be byte-for-byte the same afterwards. Items the catalog accepts (odd but valid
ids, every str filename -- made safe, the original kept --, files whose bytes contradict their
name) are checked for what was recorded, and for touching nothing of the other tenant's.

Problems are collected per item and reported together, so one run shows every failing item.
Two meta-tests fail when a public method gains an argument that no category exercises.

Runs on SQLite with local files and on PostgreSQL with in-memory storage.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import inspect
import io
import itertools
import json
import math
import re
import traceback
import unicodedata
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import pytest

import asset_catalog
from asset_catalog import (
    AssetCatalog,
    AssetCatalogError,
    Download,
    InvalidInput,
    Page,
    PayloadTooLarge,
    PresignBatch,
    UrlSigner,
    exceptions,
)
from asset_catalog._content.filenames import content_disposition
from asset_catalog._models import Asset

from .backends import SECRET, SQLITE_LOCAL_AND_POSTGRES_MEMORY
from .clocks import TickingClock
from .figures import CORPUS_CALLS, CORPUS_ITEMS, assert_verified
from .images import gif_bytes, jpeg_bytes, png_bytes, webp_bytes
from .odd_values import circular_mapping, deep_mapping
from .snapshots import Snapshot, snapshot
from .tokens import token_payload, with_payload

pytestmark = [pytest.mark.slow, pytest.mark.variants]

CORPUS = Path(__file__).parent / "corpus"
CATEGORIES = (
    "arguments",
    "base64",
    "content_types",
    "cursors",
    "filenames",
    "filters",
    "ids",
    "sizes",
    "tokens",
)

TENANT_A = "tenant-a"
TENANT_B = "tenant-b"
START = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
OTHER_SECRET = "another-secret-with-enough-bytes"
PNG = png_bytes(4, 3)
CSV = b"name,value\nalpha,1\nbeta,2\n"

KEY_SHAPE = re.compile(r"^t[0-9a-f]{24}/\d{4}/\d{2}/\d{2}/[0-9a-f-]{36}\.[a-z0-9]{1,8}$")
"""Every storage key: built from the tenant's hash, the day, the object id and an extension."""

ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "application/xml")


# -- corpus files --------------------------------------------------------------------------------


def load(category: str) -> list[dict[str, Any]]:
    """The items of one corpus file, each with a unique ``id``."""
    document = json.loads((CORPUS / f"{category}.json").read_text(encoding="utf-8"))
    assert document["category"] == category
    items: list[dict[str, Any]] = document["items"]
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), f"duplicate item ids in {category}.json"
    return items


# -- decoding item values ------------------------------------------------------------------------


def _zip(files: Mapping[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), text)
    return buffer.getvalue()


_IMAGES: dict[str, Callable[[int, int], bytes]] = {
    "png": png_bytes,
    "jpeg": jpeg_bytes,
    "gif": gif_bytes,
    "webp": lambda w, h: webp_bytes(w, h, "VP8L"),
}

_POSITIONS: dict[str, Callable[[str], int]] = {
    "body_start": lambda s: s.index(".") + 1,
    "body_mid": lambda s: (s.index(".") + s.rindex(".")) // 2,
    "body_end": lambda s: s.rindex(".") - 1,
    "mac_start": lambda s: s.rindex(".") + 1,
    "mac_mid": lambda s: (s.rindex(".") + len(s)) // 2,
}


class Decoder:
    """Turns the JSON value specs of the corpus into Python values (see the README).

    ``refs`` holds the run-time values items may refer to: the seeded assets' ids, genuine
    cursors and tokens, the secrets' names.
    """

    def __init__(self, refs: Mapping[str, Any], signers: Mapping[str, UrlSigner]) -> None:
        self.refs = refs
        self.signers = signers

    def __call__(self, spec: Any) -> Any:
        if isinstance(spec, list):
            return [self(part) for part in spec]
        if not isinstance(spec, dict):
            return spec
        ops = [key for key in spec if key.startswith("$")]
        if not ops:
            return {key: self(value) for key, value in spec.items()}
        assert len(ops) == 1, f"one $-operation per object: {spec}"
        op = ops[0]
        arg = spec[op]
        handler = getattr(self, "op_" + op[1:], None)
        assert handler is not None, f"unknown value operation {op}"
        return handler(arg, spec)

    # plain data
    def op_dict(self, arg: Any, spec: Any) -> Any:
        return {key: self(value) for key, value in arg.items()}

    def op_tuple(self, arg: Any, spec: Any) -> Any:
        return tuple(self(arg))

    def op_set(self, arg: Any, spec: Any) -> Any:
        return set(self(arg))

    def op_float(self, arg: Any, spec: Any) -> Any:
        return float(arg)

    def op_pow(self, arg: Any, spec: Any) -> Any:
        base, exponent = arg
        return int(spec.get("sign", 1)) * base**exponent

    def op_ids(self, arg: Any, spec: Any) -> Any:
        return [f"id-{i}" for i in range(arg)]

    def op_nest(self, arg: Any, spec: Any) -> Any:
        return deep_mapping(arg)

    def op_circular(self, arg: Any, spec: Any) -> Any:
        return circular_mapping()

    def op_datetime(self, arg: Any, spec: Any) -> Any:
        return dt.datetime.fromisoformat(arg)

    def op_date(self, arg: Any, spec: Any) -> Any:
        return dt.date.fromisoformat(arg)

    def op_timedelta(self, arg: Any, spec: Any) -> Any:
        if arg in ("max", "min"):
            return getattr(dt.timedelta, arg)
        return dt.timedelta(**arg)

    # text and bytes
    def op_repeat(self, arg: Any, spec: Any) -> Any:
        unit = self(arg)
        if "length" in spec:
            length = spec["length"]
            return (unit * (length // len(unit) + 1))[:length]
        return unit * spec["times"]

    def op_concat(self, arg: Any, spec: Any) -> Any:
        parts = [self(part) for part in arg]
        if all(isinstance(part, str) for part in parts):
            return "".join(parts)
        return b"".join(parts)

    def op_hex(self, arg: Any, spec: Any) -> Any:
        return bytes.fromhex(arg)

    def op_utf8(self, arg: Any, spec: Any) -> Any:
        return self(arg).encode("utf-8")

    def op_bytearray(self, arg: Any, spec: Any) -> Any:
        return bytearray(self(arg))

    def op_memoryview(self, arg: Any, spec: Any) -> Any:
        return memoryview(self(arg))[:: spec.get("step", 1)]

    def op_image(self, arg: Any, spec: Any) -> Any:
        return _IMAGES[arg](spec.get("width", 4), spec.get("height", 3))

    def op_zip(self, arg: Any, spec: Any) -> Any:
        return _zip(arg)

    def op_slice(self, arg: Any, spec: Any) -> Any:
        return self(arg)[spec.get("start") : spec.get("stop")]

    def op_patch(self, arg: Any, spec: Any) -> Any:
        data = self(arg)
        new = bytes.fromhex(spec["hex"])
        offset = spec["offset"]
        return data[:offset] + new + data[offset + len(new) :]

    def op_pad(self, arg: Any, spec: Any) -> Any:
        data = self(arg)
        length = spec["length"]
        fill = bytes.fromhex(spec.get("fill", "00"))
        return (data + fill * max(0, length - len(data)))[:length]

    def op_base64(self, arg: Any, spec: Any) -> Any:
        data = self(arg)
        alphabet = spec.get("alphabet", "standard")
        text = (
            base64.urlsafe_b64encode(data) if alphabet == "urlsafe" else base64.b64encode(data)
        ).decode("ascii")
        if not spec.get("padding", True):
            text = text.rstrip("=")
        wrap = spec.get("wrap")
        if wrap:
            text = spec.get("newline", "\n").join(
                text[i : i + wrap] for i in range(0, len(text), wrap)
            )
        return text

    # run-time values
    def op_ref(self, arg: Any, spec: Any) -> Any:
        return self.refs[arg]

    def op_sign(self, arg: Any, spec: Any) -> Any:
        signer = self.signers[arg.get("secret", "catalog") + ":" + arg.get("key_id", "k0")]
        return signer.sign(arg["purpose"], self(arg["payload"]))

    def op_derive(self, arg: Any, spec: Any) -> Any:
        text: str = self.refs[arg]
        for step in spec.get("ops", []):
            text = self._derive(text, step[0], step[1:])
        return text

    def _derive(self, s: str, op: str, args: list[Any]) -> str:
        parts = s.split(".")
        if op == "truncate":
            return s[: -args[0]]
        if op == "keep":
            return s[: args[0]]
        if op == "drop":
            return s[args[0] :]
        if op == "half":
            return s[: len(s) // 2]
        if op == "append":
            return s + self(args[0])
        if op == "prepend":
            return self(args[0]) + s
        if op == "replace_at":
            where = args[0]
            index = _POSITIONS[where](s) if isinstance(where, str) else where % len(s)
            new = next(c for c in args[1] if c != s[index])
            return s[:index] + new + s[index + 1 :]
        if op == "parts":
            return ".".join(parts[i] for i in args[0])
        if op == "set_part":
            parts[args[0]] = self(args[1])
            return ".".join(parts)
        if op in ("upper", "lower", "swapcase"):
            return str(getattr(s, op)())
        if op == "reverse":
            return s[::-1]
        if op == "double":
            return s + s
        if op == "edit_payload":
            return with_payload(s, drop=args[1] if len(args) > 1 else (), **self(args[0]))
        if op == "resign":
            options = args[0]
            payload = {**token_payload(s), **self(options.get("changes", {}))}
            for key in options.get("remove", []):
                payload.pop(key, None)
            secret = options.get("secret", "catalog") + ":" + options.get("key_id", "k0")
            return self.signers[secret].sign(options["purpose"], payload)
        raise AssertionError(f"unknown derive operation {op}")


# -- the seeded world ----------------------------------------------------------------------------


@attrs.define
class World:
    """A catalog holding assets of two tenants, and everything items may refer to."""

    catalog: AssetCatalog
    signer: UrlSigner
    backend: str
    refs: dict[str, Any]
    decode: Decoder
    serial: Iterator[int] = attrs.field(factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{next(self.serial)}"

    def sized(self, max_bytes: int) -> AssetCatalog:
        """The same repository, storage and clock with another size limit."""
        catalog = self.catalog
        return AssetCatalog(
            repository=catalog.repository,
            storage=catalog.storage,
            signer=self.signer,
            max_bytes=max_bytes,
            clock=catalog.clock,
        )

    @property
    def image_id(self) -> str:
        return str(self.refs["a_image_id"])

    @property
    def token(self) -> str:
        return str(self.refs["a_token"])


def seed(catalog: AssetCatalog, signer: UrlSigner, backend: str) -> World:
    catalog.clock = TickingClock(START)
    image = catalog.ingest_image(
        TENANT_A,
        PNG,
        tool_call_id="call-1",
        conversation_id="conv-1",
        response_id="resp-1",
        agent_key="agent",
    )
    csv = catalog.ingest_container_file(
        TENANT_A,
        CSV,
        container_id="cntr-1",
        file_id="file-1",
        filename="/mnt/data/report.csv",
        conversation_id="conv-1",
    )
    plot = catalog.ingest_container_file(
        TENANT_A, png_bytes(2, 2), container_id="cntr-1", file_id="file-2", filename="plot.png"
    )
    upload = catalog.ingest_upload(TENANT_A, CSV, filename="a.csv", idempotency_key="upload-1")
    deleted = catalog.ingest_image(TENANT_A, png_bytes(3, 3), tool_call_id="call-gone")
    deleted_token = catalog.presign(TENANT_A, deleted.id).token
    catalog.delete(TENANT_A, deleted.id)
    b_image = catalog.ingest_image(TENANT_B, png_bytes(5, 5), tool_call_id="call-b")
    b_csv = catalog.ingest_container_file(
        TENANT_B, CSV, container_id="cntr-b", file_id="file-b", filename="b.csv"
    )
    a_cursor = catalog.list(TENANT_A, limit=1).next_cursor
    a_cursor_image = catalog.list(TENANT_A, limit=1, asset_type="image").next_cursor
    b_cursor = catalog.list(TENANT_B, limit=1).next_cursor
    assert a_cursor
    assert a_cursor_image
    assert b_cursor
    now = int(START.timestamp())
    refs: dict[str, Any] = {
        "a_image_id": image.id,
        "a_csv_id": csv.id,
        "a_plot_id": plot.id,
        "a_upload_id": upload.id,
        "a_deleted_id": deleted.id,
        "b_image_id": b_image.id,
        "b_csv_id": b_csv.id,
        "a_cursor": a_cursor,
        "a_cursor_image": a_cursor_image,
        "b_cursor": b_cursor,
        "scope_a": token_payload(a_cursor)["s"],
        "scope_b": token_payload(b_cursor)["s"],
        "a_token": catalog.presign(TENANT_A, image.id).token,
        "a_csv_token": catalog.presign(TENANT_A, csv.id).token,
        "a_deleted_token": deleted_token,
        "b_token": catalog.presign(TENANT_B, b_image.id).token,
        "png_b64": base64.b64encode(PNG).decode("ascii"),
        "png_hex": PNG.hex(),
        "exp_past": now,
        "exp_future": now + 86_400,
    }
    signers = {
        "catalog:k0": UrlSigner(SECRET),
        "catalog:k9": UrlSigner({"k9": SECRET}),
        "other:k0": UrlSigner(OTHER_SECRET),
    }
    return World(catalog, signer, backend, refs, Decoder(refs, signers))


BACKENDS = SQLITE_LOCAL_AND_POSTGRES_MEMORY


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest, signer: UrlSigner) -> Iterator[World]:
    repository_name, storage_name = request.param
    catalog = AssetCatalog(
        repository=request.getfixturevalue(repository_name),
        storage=request.getfixturevalue(storage_name),
        signer=signer,
    )
    yield seed(catalog, signer, repository_name.split("_")[0])
    assert_verified(catalog, "the bad-input corpus")


# -- checking one item ---------------------------------------------------------------------------


def _short(value: object, size: int = 60) -> str:
    text = ascii(value)
    return text if len(text) <= size else f"{text[: size - 3]}... ({len(text)} chars)"


LIBRARY = str(Path(asset_catalog.__file__).parent)


def _library_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback inside the library (not the test's own code)."""
    return [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(LIBRARY)]


def _where(exc: BaseException) -> str:
    frame = _library_frames(exc)[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def _close(result: object) -> None:
    if isinstance(result, Download):
        result.stream.close()


ERRORS: dict[str, type[AssetCatalogError]] = {
    name: getattr(exceptions, name) for name in exceptions.__all__
}


class Check:
    """Runs one item's calls and collects what went wrong."""

    def __init__(self, world: World, item: dict[str, Any], category: str) -> None:
        self.world = world
        self.item = item
        self.category = category
        self.problems: list[str] = []
        self.calls = 0
        self.later: list[Callable[[], None]] = []
        """Checks that write, run after every item's refusals (whose snapshots stay small)."""

    def fail(self, label: str, message: str) -> None:
        self.problems.append(f"{self.category}/{self.item['id']} via {label}: {message}")

    def value(self, key: str = "value") -> Any:
        """The item's value, decoded afresh (streams and iterators are single-use)."""
        return self.world.decode(self.item[key])

    def run(self, label: str, call: Callable[[], Any]) -> tuple[Any, BaseException | None]:
        self.calls += 1
        try:
            return call(), None
        except AssetCatalogError as exc:
            return None, exc
        except Exception as exc:
            if not _library_frames(exc):
                raise  # the test's own mistake (a corpus value that does not decode ...)
            self.fail(
                label, f"untyped {type(exc).__name__}: {_short(str(exc), 200)} at {_where(exc)}"
            )
            return None, exc

    def refused(
        self, label: str, call: Callable[[], Any], error: str, field: str | None = None
    ) -> BaseException | None:
        """The call must raise exactly ``error`` (naming ``field``)."""
        result, exc = self.run(label, call)
        if exc is None:
            _close(result)
            self.fail(label, f"accepted, returned {_short(result, 100)}; expected {error}")
            return None
        if not isinstance(exc, AssetCatalogError):
            return None  # already reported
        if type(exc) is not ERRORS[error]:
            self.fail(label, f"expected {error}, got {type(exc).__name__}: {_short(str(exc), 120)}")
        elif field is not None and getattr(exc, "field", None) != field:
            self.fail(label, f"{error} names field {getattr(exc, 'field', None)!r}, not {field!r}")
        return exc

    def accepted(self, label: str, call: Callable[[], Any]) -> Any:
        result, exc = self.run(label, call)
        if exc is not None and isinstance(exc, AssetCatalogError):
            self.fail(label, f"refused with {type(exc).__name__}: {_short(str(exc), 120)}")
        return result

    def expect(self, label: str, call: Callable[[], Any], expect: Any, field: str) -> Any:
        """``expect`` is ``"invalid"`` (InvalidInput naming ``field``), an error name, a mapping
        ``{"error": name, "field": f}``, or ``"accept_or_refuse"``."""
        if expect == "invalid":
            return self.refused(label, call, "InvalidInput", field)
        if isinstance(expect, str) and expect in ERRORS:
            named = field if issubclass(ERRORS[expect], InvalidInput) else None
            return self.refused(label, call, expect, named)
        if isinstance(expect, dict) and "error" in expect:
            error = expect["error"]
            named = expect.get("field", field) if issubclass(ERRORS[error], InvalidInput) else None
            return self.refused(label, call, error, named)
        if expect == "accept_or_refuse":
            before = snapshot(self.world.catalog)
            result, exc = self.run(label, call)
            if isinstance(exc, AssetCatalogError):
                if type(exc) is not InvalidInput or exc.field != field:
                    self.fail(
                        label,
                        f"must succeed or raise InvalidInput({field!r}); raised "
                        f"{type(exc).__name__}: {_short(str(exc), 120)}",
                    )
                if snapshot(self.world.catalog) != before:
                    self.fail(label, f"refused, but changed the catalog: {_diff(before, self)}")
            return result
        raise AssertionError(f"unknown expectation {expect!r}")


def _diff(before: Snapshot, check: Check) -> str:
    after = snapshot(check.world.catalog)
    changes = []
    for name in ("objects", "assets", "events"):
        old, new = getattr(before, name), getattr(after, name)
        added = [row for row in new if row not in old]
        removed = [row for row in old if row not in new]
        if added or removed:
            changes.append(
                f"{name}: +{len(added)} -{len(removed)} "
                + _short([{k: r[k] for k in ("tenant_id", "status") if k in r} for r in added], 120)
            )
    if before.blobs != after.blobs:
        changes.append(f"blobs {len(before.blobs)} -> {len(after.blobs)}")
    if before.paths != after.paths:
        changes.append(f"paths: +{sorted(set(after.paths) - set(before.paths))[:3]}")
    return "; ".join(changes) or "no difference on second look"


class Unchanged:
    """Asserts a block of refused calls left the database and storage as they were."""

    def __init__(self, check: Check, label: str = "all calls") -> None:
        self.check = check
        self.label = label

    def __enter__(self) -> Check:
        self.before = snapshot(self.check.world.catalog)
        return self.check

    def __exit__(self, *exc_info: object) -> None:
        if exc_info[0] is None and snapshot(self.check.world.catalog) != self.before:
            self.check.fail(self.label, f"changed the catalog: {_diff(self.before, self.check)}")


def run_category(world: World, category: str) -> tuple[int, int]:
    """Run every item of ``category``; fail with every problem found."""
    runner = RUNNERS[category]
    checks = []
    for item in load(category):
        check = Check(world, item, category)
        runner(check)
        checks.append(check)
    finish = FINISHERS[category](world) if category in FINISHERS else None
    for check in checks:
        for step in check.later:
            step()
    problems = [problem for check in checks for problem in check.problems]
    problems += finish() if finish else []
    items, calls = len(checks), sum(check.calls for check in checks)
    CORPUS_ITEMS[world.backend] += items
    CORPUS_CALLS[world.backend] += calls
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
    return items, calls


# -- slot tables and runners ---------------------------------------------------------------------

Call = Callable[[World, Any], Any]


def _ingest_csv(world: World, tenant: str = TENANT_A, content: Any = CSV, **kw: Any) -> Asset:
    options: dict[str, Any] = {
        "container_id": "cntr-9",
        "file_id": world.unique("file"),
        "filename": "x.csv",
    }
    options.update(kw)
    return world.catalog.ingest_container_file(tenant, content, **options)


def _upload(world: World, tenant: str = TENANT_A, content: Any = CSV, **kw: Any) -> Asset:
    options: dict[str, Any] = {"filename": "a.csv", **kw}
    return world.catalog.ingest_upload(tenant, content, **options)


def _image(world: World, tenant: str = TENANT_A, image: Any = PNG, **kw: Any) -> Asset:
    return world.catalog.ingest_image(tenant, image, **kw)


# ids: (method, field, required, call, what an acceptable id gives)
#   not_found: AssetNotFound; empty_page / empty / zero / all_missing: nothing visible;
#   ingest and write: checked by _accepted_id (they write).
ID_SLOTS: list[tuple[str, str, bool, Call, str]] = [
    ("ingest_image", "tenant_id", True, _image, "ingest"),
    ("ingest_container_file", "tenant_id", True, _ingest_csv, "ingest"),
    ("ingest_upload", "tenant_id", True, _upload, "ingest"),
    (
        "link_message",
        "tenant_id",
        True,
        lambda w, v: w.catalog.link_message(v, "msg-x", asset_ids=[w.image_id]),
        "not_found",
    ),
    ("get", "tenant_id", True, lambda w, v: w.catalog.get(v, w.image_id), "not_found"),
    ("lineage", "tenant_id", True, lambda w, v: w.catalog.lineage(v, w.image_id), "not_found"),
    (
        "ingest_image",
        "source_asset_id",
        False,
        lambda w, v: _image(w, source_asset_id=v),
        "not_found",
    ),
    ("list", "tenant_id", True, lambda w, v: w.catalog.list(v), "empty_page"),
    ("usage", "tenant_id", True, lambda w, v: w.catalog.usage(v), "no_usage"),
    ("erase", "tenant_id", True, lambda w, v: w.catalog.erase(v, user_id="u-none"), "no_erase"),
    ("erase", "user_id", True, lambda w, v: w.catalog.erase(TENANT_A, user_id=v), "no_erase"),
    (
        "erase",
        "actor",
        False,
        lambda w, v: w.catalog.erase(TENANT_A, user_id="u-none", actor=v),
        "no_erase",
    ),
    ("export", "tenant_id", True, lambda w, v: w.catalog.export(v, io.BytesIO()), "no_export"),
    *(
        (
            "export",
            name,
            False,
            lambda w, v, name=name: w.catalog.export(TENANT_A, io.BytesIO(), **{name: v}),
            "no_export",
        )
        for name in ("user_id", "conversation_id")
    ),
    ("events", "tenant_id", True, lambda w, v: w.catalog.events(v, w.image_id), "empty"),
    ("presign", "tenant_id", True, lambda w, v: w.catalog.presign(v, w.image_id), "not_found"),
    (
        "presign_many",
        "tenant_id",
        True,
        lambda w, v: w.catalog.presign_many(v, [w.image_id]),
        "all_missing",
    ),
    ("delete", "tenant_id", True, lambda w, v: w.catalog.delete(v, w.image_id), "not_found"),
    (
        "delete_conversation",
        "tenant_id",
        True,
        lambda w, v: w.catalog.delete_conversation(v, "conv-1"),
        "zero",
    ),
    (
        "ingest_image",
        "conversation_id",
        False,
        lambda w, v: _image(w, conversation_id=v),
        "ingest",
    ),
    (
        "ingest_container_file",
        "conversation_id",
        False,
        lambda w, v: _ingest_csv(w, conversation_id=v),
        "ingest",
    ),
    (
        "ingest_upload",
        "conversation_id",
        False,
        lambda w, v: _upload(w, conversation_id=v),
        "ingest",
    ),
    (
        "list",
        "conversation_id",
        False,
        lambda w, v: w.catalog.list(TENANT_A, conversation_id=v),
        "empty_page",
    ),
    (
        "delete_conversation",
        "conversation_id",
        True,
        lambda w, v: w.catalog.delete_conversation(TENANT_A, v),
        "zero",
    ),
    ("ingest_image", "message_id", False, lambda w, v: _image(w, message_id=v), "ingest"),
    (
        "ingest_container_file",
        "message_id",
        False,
        lambda w, v: _ingest_csv(w, message_id=v),
        "ingest",
    ),
    ("ingest_upload", "message_id", False, lambda w, v: _upload(w, message_id=v), "ingest"),
    (
        "list",
        "message_id",
        False,
        lambda w, v: w.catalog.list(TENANT_A, message_id=v),
        "empty_page",
    ),
    (
        "link_message",
        "message_id",
        True,
        lambda w, v: w.catalog.link_message(TENANT_A, v, response_id="resp-none"),
        "zero",
    ),
    ("ingest_image", "tool_call_id", False, lambda w, v: _image(w, tool_call_id=v), "ingest"),
    (
        "ingest_container_file",
        "tool_call_id",
        False,
        lambda w, v: _ingest_csv(w, tool_call_id=v),
        "ingest",
    ),
    (
        "link_message",
        "tool_call_ids",
        False,
        lambda w, v: w.catalog.link_message(TENANT_A, "msg-x", tool_call_ids=[v]),
        "zero",
    ),
    ("ingest_image", "response_id", False, lambda w, v: _image(w, response_id=v), "ingest"),
    (
        "ingest_container_file",
        "response_id",
        False,
        lambda w, v: _ingest_csv(w, response_id=v),
        "ingest",
    ),
    (
        "link_message",
        "response_id",
        False,
        lambda w, v: w.catalog.link_message(TENANT_A, "msg-x", response_id=v),
        "zero",
    ),
    ("ingest_image", "agent_key", False, lambda w, v: _image(w, agent_key=v), "ingest"),
    (
        "ingest_container_file",
        "agent_key",
        False,
        lambda w, v: _ingest_csv(w, agent_key=v),
        "ingest",
    ),
    (
        "list",
        "agent_key",
        False,
        lambda w, v: w.catalog.list(TENANT_A, agent_key=v),
        "empty_page",
    ),
    ("ingest_image", "user_id", False, lambda w, v: _image(w, user_id=v), "ingest"),
    *(
        (
            "list",
            name,
            False,
            lambda w, v, name=name: w.catalog.list(TENANT_A, **{name: v}),
            "empty_page",
        )
        for name in ("user_id", "response_id", "tool_call_id", "container_id")
    ),
    (
        "find",
        "tenant_id",
        True,
        lambda w, v: w.catalog.find(v, container_id="cntr-1", file_id="file-1"),
        "none",
    ),
    (
        "find",
        "tool_call_id",
        True,
        lambda w, v: w.catalog.find(TENANT_A, tool_call_id=v),
        "none",
    ),
    (
        "find",
        "container_id",
        True,
        lambda w, v: w.catalog.find(TENANT_A, container_id=v, file_id="file-1"),
        "none",
    ),
    (
        "find",
        "file_id",
        True,
        lambda w, v: w.catalog.find(TENANT_A, container_id="cntr-1", file_id=v),
        "none",
    ),
    (
        "ingest_container_file",
        "user_id",
        False,
        lambda w, v: _ingest_csv(w, user_id=v),
        "ingest",
    ),
    ("ingest_upload", "user_id", False, lambda w, v: _upload(w, user_id=v), "ingest"),
    (
        "ingest_container_file",
        "container_id",
        True,
        lambda w, v: _ingest_csv(w, container_id=v),
        "ingest",
    ),
    (
        "ingest_container_file",
        "file_id",
        True,
        lambda w, v: _ingest_csv(w, file_id=v),
        "ingest",
    ),
    (
        "ingest_upload",
        "idempotency_key",
        False,
        lambda w, v: _upload(w, idempotency_key=v),
        "ingest",
    ),
    (
        "ingest_upload",
        "openai_file_id",
        False,
        lambda w, v: _upload(w, openai_file_id=v),
        "ingest",
    ),
    (
        "presign",
        "actor",
        False,
        lambda w, v: w.catalog.presign(TENANT_A, w.image_id, actor=v),
        "write",
    ),
    (
        "presign_many",
        "actor",
        False,
        lambda w, v: w.catalog.presign_many(TENANT_A, [w.image_id], actor=v),
        "write",
    ),
    (
        "delete",
        "actor",
        False,
        lambda w, v: w.catalog.delete(TENANT_A, w.image_id, actor=v),
        "write",
    ),
    (
        "delete_conversation",
        "actor",
        False,
        lambda w, v: w.catalog.delete_conversation(TENANT_A, "conv-none", actor=v),
        "zero",
    ),
    (
        "link_message",
        "actor",
        False,
        lambda w, v: w.catalog.link_message(TENANT_A, "msg-x", response_id="resp-none", actor=v),
        "zero",
    ),
    ("open_signed", "actor", False, lambda w, v: w.catalog.open_signed(w.token, actor=v), "write"),
    (
        "presign_many",
        "asset_ids",
        False,
        lambda w, v: w.catalog.presign_many(TENANT_A, [v]),
        "all_missing",
    ),
    (
        "link_message",
        "asset_ids",
        False,
        lambda w, v: w.catalog.link_message(TENANT_A, "msg-x", asset_ids=[v]),
        "not_found",
    ),
]
if hasattr(AssetCatalog, "purge"):  # a maintenance call, being added while this was written
    ID_SLOTS.append(
        (
            "purge",
            "actor",
            False,
            # Nothing was deleted ten years ago: an acceptable actor purges nothing.
            lambda w, v: w.catalog.purge(dt.timedelta(days=3650), actor=v),
            "nothing_purged",
        )
    )
# asset ids: any string is just not found (or has no events); anything else is InvalidInput.
ASSET_ID_SLOTS: list[tuple[str, Call, str]] = [
    ("get", lambda w, v: w.catalog.get(TENANT_A, v), "not_found"),
    ("lineage", lambda w, v: w.catalog.lineage(TENANT_A, v), "not_found"),
    ("presign", lambda w, v: w.catalog.presign(TENANT_A, v), "not_found"),
    ("delete", lambda w, v: w.catalog.delete(TENANT_A, v), "not_found"),
    ("events", lambda w, v: w.catalog.events(TENANT_A, v), "empty"),
]
_LIST_ELEMENT_FIELDS = {"tool_call_ids", "asset_ids"}


def _check_visible_nothing(check: Check, label: str, call: Callable[[], Any], outcome: str) -> None:
    """An acceptable id from the wrong place sees nothing (and the caller checks no writes)."""
    if outcome == "not_found":
        check.refused(label, call, "AssetNotFound")
        return
    result = check.accepted(label, call)
    if result is None:
        return
    seen: object
    if outcome == "empty_page":
        seen = result.items if isinstance(result, Page) else result
        ok = seen == ()
    elif outcome == "empty":
        seen, ok = result, result == ()
    elif outcome == "zero":
        seen, ok = result, result == 0
    elif outcome == "none":
        seen, ok = result, result is None
    elif outcome == "no_usage":
        seen, ok = result, (result.assets, result.bytes, result.entries) == (0, 0, ())
    elif outcome == "no_erase":
        seen, ok = result, (result.asset_ids, result.events_anonymized) == ((), 0)
    elif outcome == "no_export":
        seen, ok = result, (result.assets, result.bytes) == (0, 0)
    elif outcome == "nothing_purged":
        seen = result
        ok = (result.assets_purged, result.objects_purged) == (0, 0)
    else:  # all_missing
        assert isinstance(result, PresignBatch)
        seen, ok = result, result.urls == {} and len(result.missing) == 1
    if not ok:
        check.fail(label, f"should see nothing, got {_short(seen, 120)}")


def run_ids(check: Check) -> None:
    world = check.world
    expect = check.item["expect"]
    value = check.value()
    with Unchanged(check):
        for method, field, required, call, outcome in ID_SLOTS:
            label = f"{method}({field}=)"
            if value is None and not required and field not in _LIST_ELEMENT_FIELDS:
                continue  # None means "not given" for an optional id
            if expect == "invalid" or value is None:
                check.refused(label, lambda c=call: c(world, check.value()), "InvalidInput", field)
            elif outcome not in ("ingest", "write"):
                _check_visible_nothing(check, label, lambda c=call: c(world, value), outcome)
        for method, call, outcome in ASSET_ID_SLOTS:
            label = f"{method}(asset_id=)"
            if not isinstance(value, str):
                check.refused(
                    label, lambda c=call: c(world, check.value()), "InvalidInput", "asset_id"
                )
            else:
                _check_visible_nothing(check, label, lambda c=call: c(world, value), outcome)
    if expect == "ok":
        check.later.append(lambda: _accepted_id(check, value))


def _accepted_id(check: Check, value: str) -> None:
    """A valid but odd id is stored exactly and keys idempotency; as an actor it is audited.

    (That none of this touched tenant A's assets is checked once for all items, by
    :func:`_ids_leave_tenant_a_alone`.)
    """
    world, catalog = check.world, check.world.catalog
    # Not message_id on the tool outputs: an asset with a message is never linked again.
    tool = {"conversation_id": value, "user_id": value, "tool_call_id": value}
    tool |= {"response_id": value, "agent_key": value}
    upload = {"conversation_id": value, "user_id": value, "message_id": value}
    upload |= {"idempotency_key": value, "openai_file_id": value}
    calls: dict[str, tuple[Callable[[], Asset], dict[str, str]]] = {
        "ingest_image": (lambda: _image(world, value, **tool), tool),
        "ingest_container_file": (
            lambda: _ingest_csv(world, value, container_id=value, file_id=value, **tool),
            {**tool, "container_id": value, "openai_file_id": value},
        ),
        "ingest_upload": (lambda: _upload(world, value, **upload), upload),
    }
    made: list[Asset] = []
    for method, (call, given) in calls.items():
        label = f"{method}(every id=)"
        first = check.accepted(label, call)
        if first is None:
            continue
        made.append(first)
        names = ["tenant_id", *(n for n in given if n != "idempotency_key")]
        recorded = {name: getattr(first, name) for name in names}
        if recorded != dict.fromkeys(recorded, value):
            check.fail(label, f"ids not stored exactly: {_short(recorded, 160)}")
        again = check.accepted(label + " again", call)
        if again is not None and again.id != first.id:
            check.fail(label, "the same idempotency key made a second asset")
    if made:
        label = "list(tenant=, conversation_id=)"
        page = check.accepted(label, lambda: catalog.list(value, conversation_id=value))
        if page is not None and {a.id for a in page.items} != {a.id for a in made}:
            check.fail(label, "does not list exactly the new assets")
        label = "link_message(tenant=, tool_call_ids=)"
        linked = check.accepted(
            label, lambda: catalog.link_message(value, world.unique("msg"), tool_call_ids=[value])
        )
        if linked not in (None, 2):
            check.fail(label, f"linked {linked}, expected the 2 tool outputs")
    check.accepted(
        "presign(actor=)", lambda: catalog.presign(TENANT_A, world.image_id, actor=value)
    )
    _close(
        check.accepted("open_signed(actor=)", lambda: catalog.open_signed(world.token, actor=value))
    )
    world.refs.setdefault("actors", []).extend([value, value])


def _ids_leave_tenant_a_alone(world: World) -> Callable[[], list[str]]:
    """Around all accepted ids: tenant A's assets, objects and blobs stay as they were, and
    its image's audit trail gained exactly the actors given."""
    catalog = world.catalog
    before = snapshot(catalog, TENANT_A)
    trail = len(catalog.events(TENANT_A, world.image_id))

    def after() -> list[str]:
        problems = []
        now = snapshot(catalog, TENANT_A)
        if (now.objects, now.assets, now.blobs) != (before.objects, before.assets, before.blobs):
            problems.append("ids: accepted ids changed tenant A's assets, objects or blobs")
        actors = [e.actor for e in catalog.events(TENANT_A, world.image_id)[trail:]]
        if actors != world.refs.get("actors", []):
            problems.append(f"ids: actors recorded {_short(actors)}, not as given")
        return problems

    return after


GENERATED_NAME = re.compile(r"^(image|file)-[0-9a-f]{8}-[0-9a-f]{4}\.[a-z0-9]{1,8}$")
"""The name an ingest gives when nothing of the filename is left."""
REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _recorded_original(name: str) -> str:
    """What ``metadata["original_filename"]`` must hold for a changed name: its last 4,096
    characters, NUL as ``\\x00`` and lone surrogates as ``\\udXXX``."""
    text = name[-4096:]
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _unsafe_name(name: str) -> str | None:
    """Why ``name`` could not go into a row or a header, or None."""
    if not name or name != name.strip() or not name.strip("."):
        return "empty, padded or only dots"
    if "/" in name or "\\" in name:
        return "a path separator"
    if len(name.encode("utf-8")) > asset_catalog.MAX_FILENAME_BYTES:
        return "over 255 bytes"
    if any(unicodedata.category(char) in REMOVED_CATEGORIES for char in name):
        return "a control, format, surrogate or separator character"
    return None


def run_filenames(check: Check) -> None:
    world = check.world
    expect = check.item["expect"]
    slots: dict[str, Callable[[Any], Asset]] = {
        "ingest_container_file": lambda v: _ingest_csv(world, filename=v),
        "ingest_upload": lambda v: _upload(world, filename=v),
        "ingest_image": lambda v: _image(world, filename=v),
    }
    chosen = check.item.get("slots", list(slots))
    if expect == "invalid":
        with Unchanged(check):
            for name in chosen:
                check.refused(
                    name, lambda n=name: slots[n](check.value()), "InvalidInput", "filename"
                )
        return
    given = check.value()
    stored_as = None if expect == "generated" else world.decode(expect["stored_as"])
    for name in chosen:
        keys_before = set(world.catalog.storage.iter_keys())
        asset = check.accepted(name, lambda n=name: slots[n](check.value()))
        if asset is None:
            continue
        if stored_as is None:
            if not GENERATED_NAME.match(asset.filename):
                check.fail(name, f"recorded filename {_short(asset.filename)}, expected generated")
        elif asset.filename != stored_as:
            check.fail(
                name, f"recorded filename {_short(asset.filename)}, expected {_short(stored_as)}"
            )
        unsafe = _unsafe_name(asset.filename)
        if unsafe is not None:
            check.fail(name, f"recorded filename {_short(asset.filename)} has {unsafe}")
        original = asset.metadata.get("original_filename")
        wanted = None if asset.filename == given else _recorded_original(given)
        if original != wanted:
            check.fail(name, f"original_filename {_short(original)}, expected {_short(wanted)}")
        # an image also has its thumbnail, named after it: as safe, and stored the same way
        variants = world.catalog.lineage(asset.tenant_id, asset.id).variants
        for variant in variants:
            if _unsafe_name(variant.filename) is not None or len(variant.filename) > 255:
                check.fail(name, f"variant filename {_short(variant.filename)} is unsafe")
        new_keys = set(world.catalog.storage.iter_keys()) - keys_before
        bad = [key for key in new_keys if not KEY_SHAPE.match(key)]
        if len(new_keys) != 1 + len(variants) or bad:
            check.fail(name, f"storage keys written: {_short(sorted(new_keys))}")
        _disposition_of(check, name, asset)


def _disposition_of(check: Check, label: str, asset: Asset) -> None:
    """The download's ``Content-Disposition`` is built from the safe name, nothing else."""
    catalog = check.world.catalog
    url = check.accepted(
        label + " presign", lambda: catalog.presign(TENANT_A, asset.id, disposition="attachment")
    )
    download = (
        None
        if url is None
        else check.accepted(label + " open_signed", lambda: catalog.open_signed(url.token))
    )
    if download is None:
        return
    download.stream.close()
    value = download.headers["Content-Disposition"]
    if value != content_disposition(asset.filename, "attachment") or not value.isascii():
        check.fail(label, f"Content-Disposition {_short(value)} for {_short(asset.filename)}")


def run_base64(check: Check) -> None:
    world = check.world
    expect = check.item["expect"]
    with Unchanged(check):
        for name, call in (
            (
                "ingest_container_file(content=str)",
                lambda: _ingest_csv(world, content=check.value()),
            ),
            ("ingest_upload(content=str)", lambda: _upload(world, content=check.value())),
        ):
            check.refused(name, call, "InvalidInput", "content")
        accepted = isinstance(expect, dict) and "ok" in expect
        if not accepted:
            check.expect(
                "ingest_image(image=str)",
                lambda: _image(world, image=check.value()),
                expect,
                "image",
            )
    if accepted:
        asset = check.accepted(
            "ingest_image(image=str)", lambda: _image(world, image=check.value())
        )
        if asset is not None:
            got = {"mime_type": asset.mime_type, "width": asset.width, "height": asset.height}
            if got != expect["ok"]:
                check.fail("ingest_image(image=str)", f"recorded {got}, expected {expect['ok']}")


def _served(check: Check, label: str, asset: Asset) -> None:
    """The bytes' true type is served, and active content only as an attachment."""
    catalog = check.world.catalog
    url = check.accepted(
        label + " presign", lambda: catalog.presign(TENANT_A, asset.id, disposition="inline")
    )
    if url is None:
        return
    download = check.accepted(label + " open_signed", lambda: catalog.open_signed(url.token))
    if download is None:
        return
    download.stream.close()
    headers = download.headers
    if headers["Content-Type"] != asset.mime_type:
        check.fail(label, f"served as {headers['Content-Type']}, recorded {asset.mime_type}")
    active = asset.mime_type.startswith(ACTIVE_TYPES) or "javascript" in asset.mime_type
    if active and not headers["Content-Disposition"].startswith("attachment"):
        check.fail(label, f"active {asset.mime_type} served {headers['Content-Disposition']}")
    if headers.get("X-Content-Type-Options") != "nosniff":
        check.fail(label, "served without nosniff")


def run_content_types(check: Check) -> None:
    world = check.world
    item = check.item
    image_kw = {k: item[k] for k in ("format", "filename") if k in item}
    image_expect = item["image"]
    image_calls = {
        "ingest_image(bytes)": lambda: _image(world, image=check.value("bytes"), **image_kw),
        "ingest_image(base64)": lambda: _image(
            world, image=base64.b64encode(check.value("bytes")).decode(), **image_kw
        ),
    }
    if isinstance(image_expect, dict) and "ok" in image_expect:
        for label, call in image_calls.items():
            asset = check.accepted(label, call)
            if asset is not None:
                got = {"mime_type": asset.mime_type, "width": asset.width, "height": asset.height}
                if got != image_expect["ok"]:
                    check.fail(label, f"recorded {got}, expected {image_expect['ok']}")
                wanted = image_expect.get("metadata", {})
                recorded = {key: asset.metadata.get(key) for key in wanted}
                if recorded != wanted:
                    check.fail(label, f"metadata {recorded}, expected {wanted}")
    else:
        with Unchanged(check):
            for label, call in image_calls.items():
                check.expect(label, call, image_expect, "image")
    file_kw = {"filename": item.get("filename", "upload.bin"), "mime_type": item.get("mime_type")}
    file_calls = {
        "ingest_container_file": lambda: _ingest_csv(
            world, content=check.value("bytes"), **file_kw
        ),
        "ingest_upload": lambda: _upload(world, content=check.value("bytes"), **file_kw),
    }
    file_expect = item["file"]
    for label, call in file_calls.items():
        if isinstance(file_expect, str) or "error" in file_expect:
            with Unchanged(check, label):
                check.expect(label, call, file_expect, "content")
            continue
        asset = check.accepted(label, call)
        if asset is None:
            continue
        got = {"mime_type": asset.mime_type, "asset_type": asset.asset_type.value}
        if "width" in file_expect:
            got |= {"width": asset.width, "height": asset.height}
        if got != file_expect:
            check.fail(label, f"recorded {got}, expected {file_expect}")
        if label == "ingest_container_file":  # served alike whatever made it: check one
            _served(check, label, asset)


class TrickleStream(io.RawIOBase):
    """A binary stream that returns at most 64 KiB per read, like a socket."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 65_536) if size >= 0 else 65_536)


def _chunked(data: bytes) -> Iterator[bytes]:
    step = max(1, min(4096, len(data) // 3))
    return iter([data[i : i + step] for i in range(0, len(data), step)])


CONTENT_WRAPPERS: dict[str, Callable[[bytes], Any]] = {
    "bytes": lambda d: d,
    "bytearray": bytearray,
    "memoryview": memoryview,
    "stream": io.BytesIO,
    "trickle": TrickleStream,
    "chunks": _chunked,
    "list": lambda d: [d[: len(d) // 2], d[len(d) // 2 :]],
}
IMAGE_WRAPPERS: dict[str, Callable[[bytes], Any]] = {
    **CONTENT_WRAPPERS,
    "base64": lambda d: base64.b64encode(d).decode(),
    "base64-wrapped": lambda d: "\n".join(
        re.findall(".{1,76}", base64.b64encode(d).decode(), re.DOTALL)
    ),
    "data-url": lambda d: "data:image/png;base64," + base64.b64encode(d).decode(),
}


def run_sizes(check: Check) -> None:
    world = check.world
    item = check.item
    limit = item["max_bytes"]
    small = world.sized(limit)
    data: bytes = check.value("bytes")
    assert len(data) > limit, "a size item must be over its limit"
    slots: dict[str, tuple[Callable[[Any], Any], dict[str, Callable[[bytes], Any]]]] = {
        "image": (lambda v: small.ingest_image(TENANT_A, v), IMAGE_WRAPPERS),
        "content": (
            lambda v: small.ingest_container_file(
                TENANT_A, v, container_id="c", file_id=world.unique("f"), filename="x.bin"
            ),
            CONTENT_WRAPPERS,
        ),
        "upload": (lambda v: small.ingest_upload(TENANT_A, v, filename="x.bin"), CONTENT_WRAPPERS),
    }
    with Unchanged(check):
        for slot in item["slots"]:
            call, wrappers = slots[slot]
            field = "image" if slot == "image" else "content"
            for name, wrap in wrappers.items():
                label = f"{slot}({name}, max_bytes={limit})"
                exc = check.refused(
                    label, lambda c=call, w=wrap: c(w(data)), "PayloadTooLarge", field
                )
                if isinstance(exc, PayloadTooLarge) and exc.limit != limit:
                    check.fail(label, f"limit reported as {exc.limit}")
    if item.get("at_limit_ok"):
        for slot in item["slots"]:
            call, _ = slots[slot]
            asset = check.accepted(f"{slot}(first max_bytes bytes)", lambda c=call: c(data[:limit]))
            if asset is not None and asset.size_bytes != limit:
                check.fail(f"{slot} at the limit", f"stored {asset.size_bytes} bytes")


def run_cursors(check: Check) -> None:
    world = check.world
    calls: dict[str, Callable[[Any], Any]] = {
        "a": lambda v: world.catalog.list(TENANT_A, limit=1, cursor=v),
        "a_image": lambda v: world.catalog.list(TENANT_A, limit=1, asset_type="image", cursor=v),
        "b": lambda v: world.catalog.list(TENANT_B, limit=1, cursor=v),
    }
    with Unchanged(check):
        for name in check.item.get("calls", list(calls)):
            check.refused(
                f"list[{name}](cursor=)",
                lambda n=name: calls[n](check.value()),
                "InvalidCursor",
                "cursor",
            )


def run_tokens(check: Check) -> None:
    catalog = check.world.catalog
    expect = check.item["expect"]
    with Unchanged(check):
        check.expect(
            "open_signed(token)", lambda: catalog.open_signed(check.value()), expect, "token"
        )
        check.expect(
            "open_signed(token, actor=)",
            lambda: catalog.open_signed(check.value(), actor="auditor-1"),
            expect,
            "token",
        )


def _filter_slots(world: World, field: str) -> dict[str, Callable[[Any], Any]]:
    slots: dict[str, Callable[[Any], Any]] = {
        f"list({field}=)": lambda v: world.catalog.list(TENANT_A, **{field: v})
    }
    if field == "source_tool":
        slots["ingest_image(source_tool=)"] = lambda v: _image(world, source_tool=v)
    return slots


def run_filters(check: Check) -> None:
    world = check.world
    expect = check.item["expect"]
    with Unchanged(check):
        for field in check.item["fields"]:
            for label, call in _filter_slots(world, field).items():
                if isinstance(expect, dict) and "result" in expect:
                    page = check.accepted(label, lambda c=call: c(check.value()))
                    if page is None:
                        continue
                    live = world.catalog.list(TENANT_A, limit=500).items
                    wanted = () if expect["result"] == "empty" else live
                    if page.items != wanted:
                        check.fail(
                            label, f"listed {len(page.items)} assets, expected {len(wanted)}"
                        )
                else:
                    check.expect(label, lambda c=call: c(check.value()), expect, field)


def _argument_slots(world: World, field: str) -> dict[str, tuple[Callable[[Any], Any], str]]:
    """label -> (call, the field the error must name) for one argument name."""
    catalog = world.catalog
    image_id = world.image_id
    if field in ("expires_in", "disposition", "window", "variant"):
        return {
            f"presign({field}=)": (
                lambda v: catalog.presign(TENANT_A, image_id, **{field: v}),
                field,
            ),
            f"presign_many({field}=)": (
                lambda v: catalog.presign_many(TENANT_A, [image_id], **{field: v}),
                field,
            ),
        }
    if field in ("format", "quality", "background", "size", "revised_prompt"):
        return {f"ingest_image({field}=)": (lambda v: _image(world, **{field: v}), field)}
    if field == "output_index":
        return {
            "ingest_image(output_index=)": (
                lambda v: _image(world, tool_call_id="call-idx", output_index=v),
                field,
            ),
            "find(output_index=)": (
                lambda v: catalog.find(TENANT_A, tool_call_id="call-idx", output_index=v),
                field,
            ),
        }
    if field == "metadata":
        return {
            "ingest_image(metadata=)": (lambda v: _image(world, metadata=v), field),
            "ingest_container_file(metadata=)": (lambda v: _ingest_csv(world, metadata=v), field),
            "ingest_upload(metadata=)": (lambda v: _upload(world, metadata=v), field),
        }
    if field == "mime_type":
        return {
            "ingest_container_file(mime_type=)": (lambda v: _ingest_csv(world, mime_type=v), field),
            "ingest_upload(mime_type=)": (lambda v: _upload(world, mime_type=v), field),
        }
    if field == "content":
        return {
            "ingest_container_file(content=)": (lambda v: _ingest_csv(world, content=v), "content"),
            "ingest_upload(content=)": (lambda v: _upload(world, content=v), "content"),
            "ingest_image(image=)": (lambda v: _image(world, image=v), "image"),
        }
    if field == "asset_ids":
        return {
            "presign_many(asset_ids=)": (lambda v: catalog.presign_many(TENANT_A, v), field),
            "link_message(asset_ids=)": (
                lambda v: catalog.link_message(TENANT_A, "msg-x", asset_ids=v),
                field,
            ),
        }
    if field == "tool_call_ids":
        return {
            "link_message(tool_call_ids=)": (
                lambda v: catalog.link_message(TENANT_A, "msg-x", tool_call_ids=v),
                field,
            )
        }
    if field == "older_than":
        slots = {"reconcile(older_than=)": (lambda v: catalog.reconcile(older_than=v), field)}
        if hasattr(catalog, "purge"):
            slots["purge(older_than=)"] = (catalog.purge, field)
        return slots
    if field in ("max_findings", "progress"):
        if not hasattr(catalog, "verify"):
            return {}
        return {f"verify({field}=)": (lambda v: catalog.verify(**{field: v}), field)}
    raise AssertionError(f"no slots for argument {field!r}")


def run_arguments(check: Check) -> None:
    world = check.world
    item = check.item
    for label, (call, field) in _argument_slots(world, item["field"]).items():
        expect = item.get("expect_image", item["expect"]) if field == "image" else item["expect"]
        if expect == "accept_or_refuse":
            check.expect(label, lambda c=call: c(check.value()), expect, field)
            continue
        if isinstance(expect, dict) and "recorded_mime" in expect:
            asset = check.accepted(label, lambda c=call: c(check.value()))
            if asset is not None and asset.mime_type != expect["recorded_mime"]:
                check.fail(label, f"recorded {asset.mime_type}, expected {expect['recorded_mime']}")
            continue
        with Unchanged(check, label):
            check.expect(label, lambda c=call: c(check.value()), expect, field)


FINISHERS: dict[str, Callable[[World], Callable[[], list[str]]]] = {
    "ids": _ids_leave_tenant_a_alone,
}
RUNNERS: dict[str, Callable[[Check], None]] = {
    "arguments": run_arguments,
    "base64": run_base64,
    "content_types": run_content_types,
    "cursors": run_cursors,
    "filenames": run_filenames,
    "filters": run_filters,
    "ids": run_ids,
    "sizes": run_sizes,
    "tokens": run_tokens,
}


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_corpus(world: World, category: str) -> None:
    """Every item of the category gives its typed error naming the field, and changes nothing
    (or, where it is acceptable, is recorded as expected)."""
    # The genuine values the items are derived from work, so a refusal is the alteration's.
    catalog = world.catalog
    assert catalog.list(TENANT_A, limit=1, cursor=world.refs["a_cursor"]).items
    assert catalog.list(TENANT_B, limit=1, cursor=world.refs["b_cursor"]).items
    catalog.open_signed(world.token).stream.close()
    items, calls = run_category(world, category)
    assert items >= 20
    assert calls >= items


def test_corpus_size() -> None:
    """The corpus holds several hundred items, and every category a good number."""
    counts = {category: len(load(category)) for category in CATEGORIES}
    assert all(count >= 20 for count in counts.values()), counts
    assert sum(counts.values()) >= 500, counts
    assert {p.stem for p in CORPUS.glob("*.json")} == set(CATEGORIES)


def _public_parameters() -> set[tuple[str, str]]:
    return {
        (name, parameter)
        for name, method in inspect.getmembers(AssetCatalog, inspect.isfunction)
        if not name.startswith("_")
        for parameter in list(inspect.signature(method).parameters)[1:]
    }


ID_PARAMETER = re.compile(r"(^|_)(ids?|key)$|^actor$")


def test_every_id_parameter_is_in_the_id_slots() -> None:
    """Every public id-like parameter (``*_id``, ``*_ids``, ``*_key``, ``actor``) of every
    public method gets the id corpus: a new one fails here until it is added to ID_SLOTS."""
    wanted = {(m, p) for m, p in _public_parameters() if ID_PARAMETER.search(p)}
    covered = {(m, f) for m, f, *_ in ID_SLOTS} | {(m, "asset_id") for m, *_ in ASSET_ID_SLOTS}
    assert wanted - covered == set()
    assert covered - wanted == set()


def test_every_argument_category_is_run() -> None:
    """Every other public argument is run by some category (or listed here with its reason)."""
    covered = {
        "filename": "filenames",
        "image": "base64, content_types, sizes, arguments",
        "content": "content_types, sizes, arguments",
        "cursor": "cursors",
        "token": "tokens",
        "asset_type": "filters",
        "source_tool": "filters",
        "mime_prefix": "filters",
        "created_after": "filters",
        "created_before": "filters",
        "limit": "filters",
        "expires_in": "arguments",
        "disposition": "arguments",
        "format": "arguments, content_types",
        "quality": "arguments",
        "background": "arguments",
        "size": "arguments",
        "revised_prompt": "arguments",
        "output_index": "arguments",
        "metadata": "arguments",
        "mime_type": "arguments, content_types",
        "older_than": "arguments",
        "max_findings": "arguments",
        "progress": "arguments",
        "checksums": "none: any value is taken for its truth (bool(checksums)); see test_fuzz",
        "audit": "none: any value is taken for its truth (bool(audit)); see test_fuzz",
        "window": "arguments",
        "variant": "arguments",
        "target": "none: a directory path or a writable stream; refusals in test_export.py",
    }
    others = {p for _, p in _public_parameters() if not ID_PARAMETER.search(p)}
    assert others - set(covered) == set()
    fields = {item["field"] for item in load("arguments")}
    fields |= {f for item in load("filters") for f in item["fields"]}
    for parameter, where in covered.items():
        if where.startswith(("arguments", "filters")) and parameter in others:
            assert parameter in fields, f"no corpus item for {parameter}"


def test_decoder_builds_what_the_readme_says() -> None:
    """The value language of the README decodes as documented (a few spot checks)."""
    decode = Decoder({"x": "k0.e30.abc"}, {"catalog:k0": UrlSigner(SECRET)})
    assert decode({"$repeat": "ab", "length": 5}) == "ababa"
    assert decode({"$repeat": {"$hex": "00"}, "times": 3}) == b"\0\0\0"
    assert decode({"$concat": ["a", {"$repeat": "b", "times": 2}]}) == "abb"
    assert decode({"$pad": {"$hex": "0102"}, "length": 4, "fill": "ff"}) == b"\x01\x02\xff\xff"
    assert decode({"$slice": {"$utf8": "hello"}, "start": 1, "stop": 3}) == b"el"
    assert decode({"$derive": "x", "ops": [["truncate", 1], ["append", "!"]]}) == "k0.e30.ab!"
    assert decode({"$derive": "x", "ops": [["replace_at", "mac_start", "aZ"]]}) == "k0.e30.Zbc"
    assert decode({"$float": "nan"}) != decode({"$float": "nan"})  # NaN
    assert math.isinf(decode({"$float": "-inf"}))
    assert decode({"$datetime": "2026-01-01T00:00:00"}).tzinfo is None
    assert decode({"$dict": {"$not_an_op": 1}}) == {"$not_an_op": 1}
    assert decode({"plain": [1, None, True]}) == {"plain": [1, None, True]}
    assert hashlib.sha256(decode({"$image": "png"})).hexdigest() == hashlib.sha256(PNG).hexdigest()
