"""The catalog's limits, as constants a host can mirror (in its own validation, forms or
OpenAPI schema) instead of copying numbers from the docs."""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_EXPIRES_IN",
    "MAX_FILENAME_BYTES",
    "MAX_HOST_ID_LENGTH",
    "MAX_IDS_PER_CALL",
    "MAX_LIST_LIMIT",
    "MAX_METADATA_BYTES",
    "MAX_PRESIGN_BATCH",
    "MAX_VARIANT_PIXELS",
    "MIN_SECRET_BYTES",
]

DEFAULT_MAX_BYTES: Final = 1024**3
"""The largest content accepted by default (``open_catalog(max_bytes=...)``): 1 GiB."""
MAX_LIST_LIMIT: Final = 500
"""The largest page ``list`` returns (``limit`` is 1 to this)."""
MAX_HOST_ID_LENGTH: Final = 255
"""The longest host identifier (tenant, conversation, message, user, tool call ...), in
characters."""
MAX_FILENAME_BYTES: Final = 255
"""The longest filename, in bytes of UTF-8."""
MAX_METADATA_BYTES: Final = 64 * 1024
"""The largest ``metadata`` mapping, in bytes of JSON."""
MAX_IDS_PER_CALL: Final = 1000
"""The most ids one ``link_message`` call takes (``asset_ids``, ``tool_call_ids``)."""
MAX_PRESIGN_BATCH: Final = 100
"""The most ids one ``presign_many`` call takes."""
MAX_EXPIRES_IN: Final = 7 * 24 * 3600
"""The longest lifetime of a download URL, in seconds (seven days, S3's own limit)."""
MAX_VARIANT_PIXELS: Final = 32_000_000
"""The largest image (width x height, as its header declares) that variants are made of;
a larger one is catalogued without them (``variant_skipped``, reason ``too_large``), so a
decompression bomb is never decoded."""
MIN_SECRET_BYTES: Final = 16
"""The shortest signing secret accepted, in bytes."""
