"""The capture: every output of one response into the catalog, written once.

It runs on the sync catalog, in the caller's thread (``ingest_response``) or in a worker
thread of the async catalog (``aingest_response``); only the way a container file's bytes
are fetched differs, and it is passed in as ``fetch``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import attrs

from .._catalog import AssetCatalog
from .._models import Asset, SourceTool
from ..exceptions import (
    AssetCatalogError,
    InvalidInput,
    ProviderError,
    ProviderFileMissing,
    RepositoryError,
    StorageError,
)
from ._outputs import CodeImage, FileCitation, GeneratedImage, Outputs

__all__ = ["CaptureFailure", "CaptureReport", "Fetch", "Ids", "Skipped", "capture"]

T = TypeVar("T")

Fetch = Callable[[str, str], contextlib.AbstractContextManager[Iterator[bytes]]]
"""``fetch(container_id, file_id)``: a context manager giving the file's bytes in chunks."""

_KNOWN_FORMATS = {"png", "jpeg", "jpg", "webp", "gif"}


@attrs.frozen
class Skipped:
    """An output that was not catalogued, and why (a failed or empty image, a partial one
    is never even listed)."""

    item_id: str | None
    kind: str
    reason: str


@attrs.frozen
class CaptureFailure:
    """An output that could not be catalogued; ``error`` says why, as the library's error
    (:class:`ProviderFileMissing` for a file the provider no longer has)."""

    item_id: str | None
    kind: str
    error: AssetCatalogError


@attrs.frozen
class CaptureReport:
    """What capturing one response did."""

    response_id: str | None
    assets: tuple[Asset, ...] = ()
    """The catalogued outputs, in output order (images, then code images, then files);
    already-catalogued ones included."""
    skipped: tuple[Skipped, ...] = ()
    failures: tuple[CaptureFailure, ...] = ()
    downloads: int = 0
    """Container files fetched from the provider by this capture (0 when all were known)."""

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped outputs are not failures)."""
        return not self.failures


@attrs.frozen
class Ids:
    """The host identifiers every asset of the capture gets."""

    conversation_id: str | None = None
    message_id: str | None = None
    agent_key: str | None = None
    user_id: str | None = None


class _SingleFlight:
    """At most one download of a (tenant, container, file) at a time in this process: a
    second capture of the same response waits, then finds the asset the first one made."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[tuple[str, str, str], tuple[threading.Lock, int]] = {}

    @contextlib.contextmanager
    def hold(self, key: tuple[str, str, str]) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._guard:
                lock, users = self._locks[key]
                if users == 1:
                    del self._locks[key]
                else:
                    self._locks[key] = (lock, users - 1)


_FLIGHTS = _SingleFlight()


def capture(
    catalog: AssetCatalog,
    tenant_id: str,
    outputs: Outputs,
    *,
    fetch: Fetch | None,
    ids: Ids,
    retries: int,
    backoff: float,
    is_transient: Callable[[BaseException], bool],
    is_missing: Callable[[BaseException], bool],
) -> CaptureReport:
    """Catalogue every output; an output that fails is reported and the others still go."""
    assets: list[Asset] = []
    failures: list[CaptureFailure] = []
    skipped = [Skipped(s.item_id, s.kind, s.reason) for s in outputs.skipped]
    conversation = ids.conversation_id or outputs.conversation_id
    common: dict[str, Any] = {
        "conversation_id": conversation,
        "response_id": outputs.response_id,
        "message_id": ids.message_id,
        "agent_key": ids.agent_key,
        "user_id": ids.user_id,
    }
    downloads = 0

    def attempt(kind: str, item_id: str | None, work: Callable[[], Asset]) -> None:
        try:
            assets.append(_retrying(work, retries, backoff, is_transient))
        except AssetCatalogError as exc:
            failures.append(CaptureFailure(item_id, kind, exc))
        except Exception as exc:
            failures.append(CaptureFailure(item_id, kind, _provider_error(exc, is_missing)))

    for image in outputs.images:
        attempt(
            "image_generation_call",
            image.item_id,
            partial(_image, catalog, tenant_id, image, common),
        )
    for code_image in outputs.code_images:
        attempt(
            "code_interpreter_call",
            code_image.call_id,
            partial(_code_image, catalog, tenant_id, code_image, common),
        )
    for citation in outputs.files:
        known = catalog.find(
            tenant_id, container_id=citation.container_id, file_id=citation.file_id
        )
        if known is not None:  # already catalogued: no download at all
            assets.append(known)
            continue
        if fetch is None:
            error = InvalidInput("client", "is needed to download cited container files")
            failures.append(CaptureFailure(citation.file_id, "container_file_citation", error))
            continue
        counter = [0]

        def download(c: FileCitation = citation, counter: list[int] = counter) -> Asset:
            with _FLIGHTS.hold((tenant_id, c.container_id, c.file_id)):
                found = catalog.find(tenant_id, container_id=c.container_id, file_id=c.file_id)
                if found is not None:  # another capture of this response made it meanwhile
                    return found
                counter[0] += 1
                assert fetch is not None
                with fetch(c.container_id, c.file_id) as chunks:
                    return catalog.ingest_container_file(
                        tenant_id,
                        chunks,
                        container_id=c.container_id,
                        file_id=c.file_id,
                        filename=c.filename,
                        tool_call_id=c.call_id,
                        **common,
                    )

        attempt("container_file_citation", citation.file_id, download)
        downloads += counter[0]
    return CaptureReport(
        response_id=outputs.response_id,
        assets=tuple(assets),
        skipped=tuple(skipped),
        failures=tuple(failures),
        downloads=downloads,
    )


def _image(
    catalog: AssetCatalog, tenant_id: str, image: GeneratedImage, common: dict[str, Any]
) -> Asset:
    known = catalog.find(tenant_id, tool_call_id=image.item_id)
    if known is not None:  # a retry or a replay: decoding again would only cost time
        return known
    fields = dict(image.fields)
    declared = fields.get("output_format")
    metadata = {
        key: value
        for key, value in fields.items()
        if key not in {"revised_prompt", "size", "quality", "background"}
    }
    return catalog.ingest_image(
        tenant_id,
        image.result,
        tool_call_id=image.item_id,
        format=declared if isinstance(declared, str) and declared in _KNOWN_FORMATS else None,
        quality=_short(fields.get("quality")),
        background=_short(fields.get("background")),
        size=_short(fields.get("size")),
        revised_prompt=_short(fields.get("revised_prompt")),
        metadata=metadata,
        **common,
    )


def _code_image(
    catalog: AssetCatalog, tenant_id: str, image: CodeImage, common: dict[str, Any]
) -> Asset:
    known = catalog.find(tenant_id, tool_call_id=image.call_id, output_index=image.index)
    if known is not None:
        return known
    return catalog.ingest_image(
        tenant_id,
        image.data_uri,
        tool_call_id=image.call_id,
        output_index=image.index,
        source_tool=SourceTool.CODE_INTERPRETER,
        metadata={"container_id": image.container_id} if image.container_id else None,
        **common,
    )


def _short(value: Any) -> str | None:
    """A recorded image option: text, else its JSON-ish form, never a reason to refuse."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text[:32_000]


def _retrying(
    work: Callable[[], T],
    retries: int,
    backoff: float,
    is_transient: Callable[[BaseException], bool],
) -> T:
    """``work()``, tried again after transient failures (5xx, timeouts, resets, an outage
    of the catalog's own backends), waiting ``backoff * 2**n`` seconds in between."""
    attempt = 0
    while True:
        try:
            return work()
        except Exception as exc:
            transient = isinstance(exc, StorageError | RepositoryError) or is_transient(exc)
            if attempt >= retries or not transient:
                raise
            time.sleep(backoff * 2**attempt)
            attempt += 1


def _provider_error(exc: Exception, is_missing: Callable[[BaseException], bool]) -> ProviderError:
    if is_missing(exc):
        error: ProviderError = ProviderFileMissing(
            f"the provider no longer has the file ({type(exc).__name__}: {exc})"
        )
    else:
        error = ProviderError(f"the provider failed to deliver it ({type(exc).__name__}: {exc})")
    error.__cause__ = exc
    return error
