"""The facade: the one object a host needs.

Every public call checks its arguments here (the library's edge) and hands the validated
values to its step in :mod:`._logic`, passing the catalog itself as the context: ingest to
``_logic.ingest``, state changes to ``_logic.lifecycle``, links, reads, downloads and the
audit each to their own module. No step is written here, so another facade (the awaitable
one) reuses every step by calling this one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import IO, Any, Literal

import attrs

from ._content.filenames import ingest_filename
from ._ids import utcnow
from ._inputs import (
    aware_datetime,
    chunks_of,
    decode_image,
    enum_value,
    expiry,
    host_id,
    id_list,
    image_format,
    image_option,
    json_metadata,
    list_limit,
    optional_host_id,
    plausible_id,
)
from ._inputs import disposition as checked_disposition
from ._inputs import mime_prefix as checked_mime_prefix
from ._limits import DEFAULT_MAX_BYTES, MAX_PRESIGN_BATCH
from ._logic import downloads, lifecycle, links, queries
from ._logic.export import export
from ._logic.ingest import (
    IngestRequest,
    container_file_key,
    find,
    image_key,
    ingest,
    upload_key,
)
from ._logic.verify import verify
from ._models import (
    Asset,
    AssetEvent,
    AssetType,
    Download,
    EraseReport,
    ExportReport,
    Lineage,
    Page,
    PresignBatch,
    PresignedUrl,
    PurgeReport,
    Quota,
    ReconcileReport,
    SourceTool,
    Usage,
    VerifyProgress,
    VerifyReport,
)
from ._signing import UrlSigner
from .exceptions import AssetNotFound, InvalidInput
from .protocols import AssetQuery, AssetRepository, BlobStorage

__all__ = ["AssetCatalog"]

DEFAULT_VARIANT_SIZES = {"thumbnail": 256}
"""A thumbnail, 256 pixels on its longest side."""


def _positive_int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput("max_bytes", "must be a whole number of bytes, 1 or more")
    return value


def _window(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3600:
        raise InvalidInput("window", "must be whole seconds from 0 to 3600")
    return value


def _collaborator(kind: type[Any], field: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, kind):
            raise InvalidInput(field, f"must be a {kind.__name__}, not {type(value).__name__}")

    return check


def _policy(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None and not callable(value):
        raise InvalidInput("quota", "must be a function of a tenant id returning a Quota or None")


_VARIANT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def _variant_name(value: object, field: str = "variant") -> str:
    if not isinstance(value, str) or not _VARIANT_NAME.fullmatch(value):
        raise InvalidInput(field, "must be a variant name: a-z, 0-9 and _, 1 to 32 characters")
    return value


def _variant_sizes(value: object) -> Mapping[str, int]:
    """``{name: longest side in pixels}``, 16 to 4096 each; empty: no variants."""
    if not isinstance(value, Mapping):
        raise InvalidInput("variant_sizes", "must be a mapping of variant names to pixels")
    sizes: dict[str, int] = {}
    for name, side in value.items():
        _variant_name(name, "variant_sizes")
        if isinstance(side, bool) or not isinstance(side, int) or not 16 <= side <= 4096:
            raise InvalidInput("variant_sizes", "each size must be whole pixels, 16 to 4096")
        sizes[name] = side
    return MappingProxyType(sizes)


def _host_ids(**ids: object) -> dict[str, str | None]:
    return {name: optional_host_id(value, name) for name, value in ids.items()}


@attrs.define
class AssetCatalog:
    """A tenant-scoped catalog of agent-generated images and files.

    Build one with :func:`~asset_catalog.open_catalog`, or pass the collaborators::

        AssetCatalog(repository=SqliteRepository("sqlite:///assets.db"),
                     storage=FsspecStorage.from_url("file://./asset-blobs"),
                     signer=UrlSigner(secret))

    Every call takes the ``tenant_id`` first and never returns another tenant's data. The
    catalog is thread-safe as far as its repository and storage are (both built-ins are).
    """

    _repository: AssetRepository = attrs.field(
        alias="repository", validator=_collaborator(AssetRepository, "repository")
    )
    _storage: BlobStorage = attrs.field(
        alias="storage", validator=_collaborator(BlobStorage, "storage")
    )
    _signer: UrlSigner = attrs.field(alias="signer", validator=_collaborator(UrlSigner, "signer"))
    max_bytes: int = attrs.field(default=DEFAULT_MAX_BYTES, converter=_positive_int)
    """Largest content accepted, in bytes; checked while streaming."""
    clock: Callable[[], dt.datetime] = utcnow
    """Source of timestamps (timezone-aware UTC); replace it in tests."""
    quota: Callable[[str], Quota | None] | None = attrs.field(default=None, validator=_policy)
    """The host's quota policy: the :class:`Quota` of a tenant id (None: no limit), asked at
    each ingest and checked in the publishing transaction."""
    variant_sizes: Mapping[str, int] = attrs.field(
        default=MappingProxyType(DEFAULT_VARIANT_SIZES), converter=_variant_sizes
    )
    """The variants made of every image ingested: ``{name: longest side in pixels}`` (WebP,
    never enlarged); ``{}`` makes none. Needs Pillow (the ``images`` extra): without it no
    variant is made."""

    @property
    def repository(self) -> AssetRepository:
        """Where the rows live."""
        return self._repository

    @property
    def storage(self) -> BlobStorage:
        """Where the bytes live."""
        return self._storage

    @property
    def signer(self) -> UrlSigner:
        """What signs download tokens and list cursors."""
        return self._signer

    def close(self) -> None:
        """Release the repository's connections."""
        self._repository.close()

    # -- ingest ---------------------------------------------------------------------------

    def ingest_image(
        self,
        tenant_id: str,
        image: Any,
        *,
        conversation_id: str | None = None,
        tool_call_id: str | None = None,
        response_id: str | None = None,
        message_id: str | None = None,
        agent_key: str | None = None,
        user_id: str | None = None,
        format: str | None = None,
        quality: str | None = None,
        background: str | None = None,
        size: str | None = None,
        revised_prompt: str | None = None,
        filename: str | None = None,
        source_tool: SourceTool | str = SourceTool.IMAGE_GENERATION,
        output_index: int | None = None,
        metadata: Mapping[str, Any] | None = None,
        source_asset_id: str | None = None,
    ) -> Asset:
        """Catalogue an image: bytes, base64 text (as ``image_generation`` returns it) or a
        binary stream.

        The bytes must really be a PNG, JPEG, WebP or GIF (checked by structure, not by
        name); width and height come from the header. Idempotent on
        ``(tenant_id, tool_call_id)``, or ``(tenant_id, tool_call_id, output_index)`` for a
        tool call with several images (a Code Interpreter call's outputs): the same output
        returns the same asset and writes no second blob. ``quality``, ``background``,
        ``size`` and ``revised_prompt`` are recorded in the metadata. The bytes decide the
        format (``metadata["format"]``); a declared ``format`` (png, jpeg, webp, gif) that
        disagrees is recorded as ``metadata["declared_format"]``, not refused.

        ``source_asset_id`` names the image this one was made from by editing it (a live
        asset of the tenant, else :class:`AssetNotFound`): see :meth:`lineage`. Its
        variants (a thumbnail) and placeholder are made right after it is published; one
        that cannot be made is recorded as a ``variant_skipped`` event, never an error.
        """
        tenant = host_id(tenant_id, "tenant_id")
        source = optional_host_id(source_asset_id, "source_asset_id")
        tool_call = optional_host_id(tool_call_id, "tool_call_id")
        index = _output_index(output_index)
        meta = json_metadata(metadata)
        for name, value in (
            ("quality", quality),
            ("background", background),
            ("size", size),
            ("revised_prompt", revised_prompt),
        ):
            if value is not None:
                meta[name] = image_option(value, name)
        declared_format = image_format(format)
        if isinstance(image, str):
            image = decode_image(image, self.max_bytes)
        return ingest(
            self,
            IngestRequest(
                tenant_id=tenant,
                chunks=chunks_of(image, "image", self.max_bytes),
                field="image",
                require_image=True,
                declared_format=declared_format,
                filename=ingest_filename(filename, meta) if filename is not None else None,
                idempotency_key=image_key(tool_call, index) if tool_call else None,
                source_tool=enum_value(SourceTool, source_tool, "source_tool")
                or SourceTool.IMAGE_GENERATION,
                metadata=meta,
                host_ids=_host_ids(
                    conversation_id=conversation_id,
                    tool_call_id=tool_call,
                    response_id=response_id,
                    message_id=message_id,
                    agent_key=agent_key,
                    user_id=user_id,
                ),
                source_asset_id=source,
            ),
        )

    def ingest_container_file(
        self,
        tenant_id: str,
        content: Any,
        *,
        container_id: str,
        file_id: str,
        filename: str,
        conversation_id: str | None = None,
        response_id: str | None = None,
        tool_call_id: str | None = None,
        message_id: str | None = None,
        agent_key: str | None = None,
        user_id: str | None = None,
        mime_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Catalogue a Code Interpreter container file, streamed (bytes, a binary file
        object or an iterable of chunks), never held whole in memory.

        The filename is made safe, never refused (a path prefix such as ``/mnt/data/`` and
        ``..`` are dropped, control and bidi characters removed, a long name shortened to 255
        bytes; the original, when changed, is ``metadata["original_filename"]``); the type
        comes from the content first, the extension second and the declared ``mime_type``
        last. An image file becomes an ``image`` asset with its dimensions. Idempotent on
        ``(tenant_id, container_id, file_id)``.
        """
        tenant = host_id(tenant_id, "tenant_id")
        container = host_id(container_id, "container_id")
        file = host_id(file_id, "file_id")
        meta = json_metadata(metadata)
        return ingest(
            self,
            IngestRequest(
                tenant_id=tenant,
                chunks=chunks_of(content, "content", self.max_bytes),
                field="content",
                filename=ingest_filename(filename, meta),
                declared_mime=_mime_type(mime_type),
                idempotency_key=container_file_key(container, file),
                source_tool=SourceTool.CODE_INTERPRETER,
                metadata=meta,
                host_ids=_host_ids(
                    conversation_id=conversation_id,
                    tool_call_id=tool_call_id,
                    response_id=response_id,
                    message_id=message_id,
                    agent_key=agent_key,
                    user_id=user_id,
                    container_id=container,
                    openai_file_id=file,
                ),
            ),
        )

    def ingest_upload(
        self,
        tenant_id: str,
        content: Any,
        *,
        filename: str,
        user_id: str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        openai_file_id: str | None = None,
        mime_type: str | None = None,
        idempotency_key: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Asset:
        """Catalogue a file a user uploaded (same checks as container files).

        Pass an ``idempotency_key`` (e.g. the upload request id) to make retries safe.
        """
        tenant = host_id(tenant_id, "tenant_id")
        key = optional_host_id(idempotency_key, "idempotency_key")
        meta = json_metadata(metadata)
        return ingest(
            self,
            IngestRequest(
                tenant_id=tenant,
                chunks=chunks_of(content, "content", self.max_bytes),
                field="content",
                filename=ingest_filename(filename, meta),
                declared_mime=_mime_type(mime_type),
                idempotency_key=upload_key(key) if key else None,
                source_tool=SourceTool.USER_UPLOAD,
                metadata=meta,
                host_ids=_host_ids(
                    conversation_id=conversation_id,
                    message_id=message_id,
                    user_id=user_id,
                    openai_file_id=openai_file_id,
                ),
            ),
        )

    # -- linking --------------------------------------------------------------------------

    def link_message(
        self,
        tenant_id: str,
        message_id: str,
        *,
        asset_ids: Sequence[str] | None = None,
        tool_call_ids: Sequence[str] | None = None,
        response_id: str | None = None,
        actor: str | None = None,
    ) -> int:
        """Attach assets to a persisted message, by asset ids, tool call ids or response id.

        Never moves an asset already linked to a message; idempotent. Returns how many assets
        this call linked. An id in ``asset_ids`` that is not a live asset of the tenant raises
        :class:`AssetNotFound` and links nothing.
        """
        tenant = host_id(tenant_id, "tenant_id")
        message = host_id(message_id, "message_id")
        ids = id_list(asset_ids, "asset_ids")
        calls = id_list(tool_call_ids, "tool_call_ids")
        response = optional_host_id(response_id, "response_id")
        if not ids and not calls and response is None:
            raise InvalidInput("asset_ids", "give asset_ids, tool_call_ids or response_id")
        linked = links.link_message(
            self,
            tenant,
            message,
            asset_ids=ids,
            tool_call_ids=calls,
            response_id=response,
            actor=optional_host_id(actor, "actor"),
        )
        return len(linked)

    # -- reads ----------------------------------------------------------------------------

    def get(self, tenant_id: str, asset_id: str) -> Asset:
        """One live asset of the tenant, or :class:`AssetNotFound`."""
        return queries.get(self, host_id(tenant_id, "tenant_id"), asset_id)

    def list(
        self,
        tenant_id: str,
        *,
        asset_type: AssetType | str | None = None,
        source_tool: SourceTool | str | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        agent_key: str | None = None,
        user_id: str | None = None,
        response_id: str | None = None,
        tool_call_id: str | None = None,
        container_id: str | None = None,
        mime_prefix: str | None = None,
        created_after: dt.datetime | None = None,
        created_before: dt.datetime | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Live assets, newest first, one page at a time.

        Filters combine with AND; each host identifier (``conversation_id``, ``message_id``,
        ``agent_key``, ``user_id``, ``response_id``, ``tool_call_id``, ``container_id``)
        matches exactly. ``mime_prefix`` is a literal prefix (``%`` and ``_`` match
        themselves); ``created_after`` and ``created_before`` are exclusive bounds. ``limit``
        is 1 to 500. Pass ``next_cursor`` of a page as ``cursor`` to get the next one, with
        the same filters; a cursor that is malformed, tampered with or made for other filters
        raises :class:`InvalidCursor`.
        """
        tenant = host_id(tenant_id, "tenant_id")
        size = list_limit(limit)
        prefix = checked_mime_prefix(mime_prefix)
        query = AssetQuery(
            asset_type=enum_value(AssetType, asset_type, "asset_type"),
            source_tool=enum_value(SourceTool, source_tool, "source_tool"),
            conversation_id=optional_host_id(conversation_id, "conversation_id"),
            message_id=optional_host_id(message_id, "message_id"),
            agent_key=optional_host_id(agent_key, "agent_key"),
            user_id=optional_host_id(user_id, "user_id"),
            response_id=optional_host_id(response_id, "response_id"),
            tool_call_id=optional_host_id(tool_call_id, "tool_call_id"),
            container_id=optional_host_id(container_id, "container_id"),
            mime_prefix=prefix,
            created_after=aware_datetime(created_after, "created_after"),
            created_before=aware_datetime(created_before, "created_before"),
        )
        return queries.page(self, tenant, query, size, cursor)

    def lineage(self, tenant_id: str, asset_id: str) -> Lineage:
        """Where a live asset of the tenant came from and what was made from it: the image it
        was edited from and that one's source, and so on (while they are live), its variants
        (the thumbnail) and the edits made from it. :class:`AssetNotFound` if it is not a
        live asset of the tenant. A few indexed queries."""
        return queries.lineage(self, host_id(tenant_id, "tenant_id"), asset_id)

    def events(self, tenant_id: str, asset_id: str) -> tuple[AssetEvent, ...]:
        """The audit trail of an asset (also after it was deleted), oldest first."""
        return queries.events_of(self, host_id(tenant_id, "tenant_id"), asset_id)

    def export(
        self,
        tenant_id: str,
        target: str | os.PathLike[str] | IO[bytes],
        *,
        user_id: str | None = None,
        conversation_id: str | None = None,
    ) -> ExportReport:
        """Write the tenant's live assets (only one user's, or one conversation's, if given)
        and their audit trails out, for a data-export request.

        ``target`` is a directory (created; it must be new or empty) or a writable binary
        stream, which receives a tar archive. Either holds ``manifest.jsonl`` (one line per
        asset: ``path``, ``asset`` and ``events`` in their JSON form) and each asset's bytes
        at ``files/{asset_id}/{filename}``, checked against the recorded size and sha256 as
        they are copied. Read a page and copied a chunk at a time: memory stays bounded.
        """
        query = AssetQuery(
            user_id=optional_host_id(user_id, "user_id"),
            conversation_id=optional_host_id(conversation_id, "conversation_id"),
        )
        return export(self, host_id(tenant_id, "tenant_id"), target, query)

    def usage(self, tenant_id: str) -> Usage:
        """What the tenant stores now: its live assets and their bytes, in all and by asset
        type and source tool. A few rows read, kept by every publish and delete: cheap
        enough for every page view."""
        return queries.usage_of(self, host_id(tenant_id, "tenant_id"))

    def usage_by_tenant(self) -> tuple[Usage, ...]:
        """Every tenant's usage, in tenant id order (tenants with no live asset left out;
        a few rows per tenant, read a batch at a time): for operators and billing jobs. It
        reads across tenants, like ``verify`` and ``purge``: never answer a tenant's request
        with it."""
        return tuple(queries.usage_of_every_tenant(self))

    def find(
        self,
        tenant_id: str,
        *,
        tool_call_id: str | None = None,
        output_index: int | None = None,
        container_id: str | None = None,
        file_id: str | None = None,
    ) -> Asset | None:
        """Is this provider output already catalogued? The live asset that
        ``ingest_image(tool_call_id=..., output_index=...)`` or
        ``ingest_container_file(container_id=..., file_id=...)`` made, or None.

        One indexed lookup of the idempotency key; storage is not touched, so a capture can
        ask before it downloads anything. Give ``tool_call_id`` (with ``output_index`` when
        the call has several images) or both ``container_id`` and ``file_id``.
        """
        tenant = host_id(tenant_id, "tenant_id")
        call = optional_host_id(tool_call_id, "tool_call_id")
        index = _output_index(output_index)
        container = optional_host_id(container_id, "container_id")
        file = optional_host_id(file_id, "file_id")
        if call is not None:
            if container is not None or file is not None:
                raise InvalidInput("tool_call_id", "give it, or container_id and file_id; not both")
            return find(self, tenant, image_key(call, index))
        if container is None and file is None:
            raise InvalidInput("tool_call_id", "give it, or container_id and file_id")
        if container is None:
            raise InvalidInput("container_id", "is required with file_id")
        if file is None:
            raise InvalidInput("file_id", "is required with container_id")
        if index is not None:
            raise InvalidInput("output_index", "goes with tool_call_id, not with a container file")
        return find(self, tenant, container_file_key(container, file))

    # -- deletes --------------------------------------------------------------------------

    def delete(self, tenant_id: str, asset_id: str, *, actor: str | None = None) -> bool:
        """Soft-delete an asset and delete its blob, with its variants (thumbnails; not the
        images edited from it); audited; idempotent.

        Returns True if this call deleted it, False if it was already deleted. An id the
        tenant never had raises :class:`AssetNotFound`. If the blob store fails, the asset is
        already invisible and :class:`StorageError` is raised; calling ``delete`` again, or
        ``reconcile()``, removes the blob.
        """
        tenant = host_id(tenant_id, "tenant_id")
        if not plausible_id(asset_id):
            raise AssetNotFound(str(asset_id))
        result = lifecycle.delete(self, tenant, [asset_id], optional_host_id(actor, "actor"))
        if result.missing:
            raise AssetNotFound(asset_id)
        return asset_id in result.deleted  # (its variants are deleted with it)

    def delete_conversation(
        self, tenant_id: str, conversation_id: str, *, actor: str | None = None
    ) -> int:
        """Delete every asset of a conversation (as :meth:`delete` does each); returns how
        many this call deleted."""
        return lifecycle.delete_conversation(
            self,
            host_id(tenant_id, "tenant_id"),
            host_id(conversation_id, "conversation_id"),
            optional_host_id(actor, "actor"),
        )

    def erase(self, tenant_id: str, *, user_id: str, actor: str | None = None) -> EraseReport:
        """Erase a user's assets now, for an erasure request, not after a retention.

        The user's live assets are deleted (their blobs removed), then every deleted asset
        of theirs loses its rows and its audit trail, which keeps a single ``erased`` event
        (its ``actor``, and ``user_id`` in its details: no other personal data); the
        tenant's other events that named the user as actor name no one. Idempotent: after a
        storage failure, run ``reconcile()`` and then this again. Returns what was erased.
        """
        return lifecycle.erase(
            self,
            host_id(tenant_id, "tenant_id"),
            host_id(user_id, "user_id"),
            optional_host_id(actor, "actor"),
        )

    # -- downloads ------------------------------------------------------------------------

    def presign(
        self,
        tenant_id: str,
        asset_id: str,
        *,
        expires_in: int = 900,
        disposition: Literal["inline", "attachment"] | None = None,
        actor: str | None = None,
        window: int = 0,
        variant: str | None = None,
    ) -> PresignedUrl:
        """A time-limited download URL for one asset (audited as ``url_issued``).

        The storage's native presigning is used where it exists (S3); otherwise the URL
        carries the catalog's signed token, to be served by a host route that calls
        :meth:`open_signed`. Active content (HTML, SVG, JavaScript ...) is always an
        ``attachment``. With a ``window`` (seconds, up to 3600) the expiry is rounded up to a
        multiple of it: the same asset, disposition and caller get the same URL throughout
        a window (a browser can cache what it fetched), recorded as one ``url_issued``.

        With ``variant`` (``"thumbnail"``) the URL is the variant's (``url.variant`` says
        so, and the event is on the variant's trail); an asset without that variant gets
        its own URL, with ``url.variant`` None.
        """
        tenant = host_id(tenant_id, "tenant_id")
        return downloads.presign(
            self,
            tenant,
            asset_id,
            expires_in=expiry(expires_in),
            requested=checked_disposition(disposition),
            actor=optional_host_id(actor, "actor"),
            window=_window(window),
            variant=_variant_name(variant) if variant is not None else None,
        )

    def presign_many(
        self,
        tenant_id: str,
        asset_ids: Sequence[str],
        *,
        expires_in: int = 900,
        disposition: Literal["inline", "attachment"] | None = None,
        actor: str | None = None,
        window: int = 0,
        variant: str | None = None,
    ) -> PresignBatch:
        """Download URLs for up to 100 assets with one repository query (thumbnail grids).

        Every id gets one answer: a URL in ``urls``; or ``missing`` when it is not a live
        asset of the tenant; or ``unsupported`` when the storage failed to sign it natively
        (the rest of the batch is still answered). More than 100 ids is ``InvalidInput``.
        ``window`` and ``variant`` as for :meth:`presign`: with ``variant``, the ids
        answered with the original's URL (no such variant) are listed in ``fallbacks``.
        """
        tenant = host_id(tenant_id, "tenant_id")
        ids = id_list(asset_ids, "asset_ids", limit=MAX_PRESIGN_BATCH)
        return downloads.presign_many(
            self,
            tenant,
            ids,
            expires_in=expiry(expires_in),
            requested=checked_disposition(disposition),
            actor=optional_host_id(actor, "actor"),
            window=_window(window),
            variant=_variant_name(variant) if variant is not None else None,
        )

    def open_signed(self, token: str, *, actor: str | None = None, audit: bool = True) -> Download:
        """Serve a catalog-signed download: verify the token, then return the asset, an open
        stream of its bytes (close it) and the response headers to send.

        Raises :class:`BadSignature` / :class:`SignatureExpired` for a token to refuse and
        :class:`AssetNotFound` when the asset is gone. Audited as ``downloaded``, unless
        ``audit`` is false: a HEAD, a revalidation answered 304 or a later piece of a ranged
        download is not another download.
        """
        return downloads.open_signed(
            self, token, optional_host_id(actor, "actor"), audit=bool(audit)
        )

    # -- repair ---------------------------------------------------------------------------

    def reconcile(self, *, older_than: dt.timedelta = dt.timedelta(hours=1)) -> ReconcileReport:
        """Finish what a crash left behind.

        ``pending`` objects older than ``older_than`` (an ingest that died mid-way) lose their
        blob and become ``failed``; ``deleting`` objects (a delete that died between its
        transaction and the blob removal) lose their blob and become ``deleted``. Keep
        ``older_than`` above your longest upload. Safe to run at any time, from any number of
        processes.
        """
        return lifecycle.reconcile(self, older_than)

    def verify(
        self,
        *,
        checksums: bool = True,
        progress: Callable[[VerifyProgress], object] | None = None,
        max_findings: int = 1000,
    ) -> VerifyReport:
        """Check the whole catalog against its storage and report what is wrong; read-only.

        Every ``stored`` object must have its blob with the recorded size and (when
        ``checksums``, streamed through sha256) content, and belong to a live asset; every
        blob must be claimed by a ``pending``/``stored``/``deleting`` row. Rows and blobs are
        walked in batches of 500, so memory stays bounded; ``progress`` is called after each
        batch. At most ``max_findings`` findings are kept; ``counts`` is always exact.
        Raises :class:`StorageError` if the storage cannot be read.
        """
        return verify(self, checksums=bool(checksums), progress=progress, max_findings=max_findings)

    def purge(self, older_than: dt.timedelta, *, actor: str | None = None) -> PurgeReport:
        """Hard-delete the rows of assets deleted more than ``older_than`` ago (and of
        ingests that failed that long ago). Their blobs are already gone.

        Each purged asset gets a last ``purged`` event with its size and sha256; the audit
        trail itself is kept. Objects still ``deleting`` are left for :meth:`reconcile`.
        Idempotent: a second run purges nothing.
        """
        return lifecycle.purge(self, older_than, optional_host_id(actor, "actor"))


def _output_index(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidInput("output_index", "must be a whole number of zero or more")
    return value


def _mime_type(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput("mime_type", "must be a string")
    return value
