"""The public response models: what a client sees of the catalog, with no internal field
(tenant, storage object, idempotency key). Usable in a host's own routes too."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .._json import to_json
from .._limits import MAX_EXPIRES_IN, MAX_HOST_ID_LENGTH, MAX_PRESIGN_BATCH
from .._models import Asset, AssetEvent, Page, PresignBatch, PresignedUrl

__all__ = [
    "AssetOut",
    "DownloadUrlOut",
    "DownloadUrlsIn",
    "DownloadUrlsOut",
    "EventOut",
    "EventsOut",
    "HostId",
    "PageOut",
    "ProblemOut",
]

#: An id the host chooses (conversation, message, user …) as the catalog takes it: 1 to 255
#: characters, no control characters. For a host's own routes' parameters too.
HostId = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=MAX_HOST_ID_LENGTH, pattern=r"^[^\x00-\x1f\x7f-\x9f]+$"
    ),
]

AssetTypeName = Literal["image", "file"]
SourceToolName = Literal["image_generation", "code_interpreter", "user_upload", "unknown"]
EventName = Literal[
    "created", "linked", "url_issued", "downloaded", "variant_skipped", "deleted", "purged"
]
#: A variant's name, as ``presign(variant=...)`` takes it.
VariantName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


class AssetOut(BaseModel):
    """A catalog entry as a client sees it."""

    model_config = ConfigDict(frozen=True)

    id: str
    asset_type: AssetTypeName
    source_tool: SourceToolName
    filename: str
    mime_type: str
    size_bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None
    conversation_id: str | None = None
    message_id: str | None = None
    tool_call_id: str | None = None
    response_id: str | None = None
    container_id: str | None = None
    openai_file_id: str | None = None
    agent_key: str | None = None
    user_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: dt.datetime
    updated_at: dt.datetime
    variant_of: str | None = None
    variant: str | None = None
    source_asset_id: str | None = None
    placeholder: str | None = Field(
        default=None, description="A tiny data: URI to paint while the thumbnail loads."
    )

    @classmethod
    def of(cls, asset: Asset) -> AssetOut:
        return cls.model_validate(to_json(asset))


class PageOut(BaseModel):
    """One page of ``GET /assets``; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[AssetOut]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: Page) -> PageOut:
        return cls(items=[AssetOut.of(a) for a in page.items], next_cursor=page.next_cursor)


class EventOut(BaseModel):
    """One line of an asset's audit trail."""

    id: str
    asset_id: str
    event: EventName
    actor: str | None = None
    at: dt.datetime
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, event: AssetEvent) -> EventOut:
        return cls.model_validate(to_json(event))


class EventsOut(BaseModel):
    """An asset's audit trail, oldest first."""

    items: list[EventOut]


class DownloadUrlOut(BaseModel):
    """A time-limited download URL: ``catalog`` (served by this API) or ``native`` (the
    storage's own presigned URL)."""

    url: str
    expires_at: dt.datetime
    kind: Literal["catalog", "native"]
    variant: str | None = None

    @classmethod
    def of(cls, url: PresignedUrl, href: str | None = None) -> DownloadUrlOut:
        return cls(
            url=href or url.url,
            expires_at=url.expires_at,
            kind=url.kind,  # type: ignore[arg-type]
            variant=url.variant,
        )


class DownloadUrlsIn(BaseModel):
    """The assets to get download URLs for (a thumbnail grid)."""

    model_config = ConfigDict(extra="forbid")

    ids: list[HostId] = Field(max_length=MAX_PRESIGN_BATCH)
    expires_in: int = Field(default=900, ge=1, le=MAX_EXPIRES_IN)
    disposition: Literal["inline", "attachment"] | None = None
    variant: VariantName | None = None


class DownloadUrlsOut(BaseModel):
    """A URL per live asset; ``missing``: unknown, deleted or another tenant's;
    ``unsupported``: the storage failed to sign; ``fallbacks``: with ``variant``, the ids
    answered with the original (no such variant)."""

    urls: dict[str, DownloadUrlOut]
    missing: list[str]
    unsupported: list[str] = Field(default_factory=list)
    fallbacks: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, batch: PresignBatch, hrefs: dict[str, str]) -> DownloadUrlsOut:
        return cls(
            urls={i: DownloadUrlOut.of(u, hrefs.get(i)) for i, u in batch.urls.items()},
            missing=list(batch.missing),
            unsupported=list(batch.unsupported),
            fallbacks=list(batch.fallbacks),
        )


class ProblemOut(BaseModel):
    """An RFC 9457 problem (``application/problem+json``); ``field`` names the argument."""

    type: str
    title: str
    status: int
    detail: str
    field: str | None = None
