"""Decoding an image and rendering its variants (WebP thumbnails) and placeholder, with Pillow.

Pillow is optional (the ``images`` extra): :func:`available` says whether it is installed,
and nothing here imports it at module level, so ``import asset_catalog`` never needs it.

Hostile input is expected. The declared size is checked against ``max_pixels`` before any
pixel is decoded (and Pillow's own decompression-bomb warning is an error here, without
touching the process-wide ``Image.MAX_IMAGE_PIXELS``); a truncated or corrupt image fails to
load (``ImageFile.LOAD_TRUNCATED_IMAGES`` is left as it is: False unless the host changed
it); every decoder error becomes a :class:`Skipped` answer with a reason, never escapes.
JPEGs are decoded at a reduced scale (``draft``) and large images shrunk with ``reduce``
first; EXIF orientation is applied (as ``ImageOps.exif_transpose`` does, on the reduced
image); palette, 16-bit, CMYK and alpha images are converted;
an animated image gives its first frame.
"""

from __future__ import annotations

import base64
import importlib
import io
import tempfile
import warnings
from collections.abc import Mapping
from typing import IO, Any

import attrs

__all__ = ["PLACEHOLDER_MAX", "Rendered", "Rendering", "Skipped", "available", "render"]

PLACEHOLDER_MAX = 1024
"""Longest placeholder data URI kept, in characters (a smaller one is tried first)."""
_PLACEHOLDER_SIDES = (16, 10, 6)
_QUALITY = 75
_ORIENTATION = 0x0112  # the EXIF tag
_TRANSPOSE = {  # EXIF orientation -> the transpose that shows the image upright
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}
_SPOOL = 4 * 1024 * 1024  # an unseekable stream is copied: this much in memory, then disk


def _short(text: object) -> str:
    return str(text)[:200]


@attrs.frozen
class Skipped:
    """Why no variant could be made: ``reason`` is ``too_large``, ``undecodable`` or
    ``unsupported``; ``detail`` says what the decoder found."""

    reason: str
    detail: str = attrs.field(converter=_short)


@attrs.frozen
class Rendered:
    """One variant: its name, its WebP bytes and its dimensions."""

    name: str
    data: bytes
    width: int
    height: int


@attrs.frozen
class Rendering:
    """Every variant of an image, and its placeholder (None if none fits)."""

    variants: tuple[Rendered, ...]
    placeholder: str | None


def _pillow() -> Any | None:
    try:
        return importlib.import_module("PIL.Image")
    except ImportError:
        return None


def available() -> bool:
    """Whether Pillow is installed (``pip install 'asset-catalog[images]'``)."""
    return _pillow() is not None


def render(stream: IO[bytes], sizes: Mapping[str, int], *, max_pixels: int) -> Rendering | Skipped:
    """Decode ``stream`` once and render each variant (longest side ``sizes[name]`` pixels,
    never enlarged) and the placeholder; or say why that cannot be done."""
    pil = _pillow()
    if pil is None:
        return Skipped("unsupported", "Pillow is not installed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pil.DecompressionBombWarning)
            with _seekable(stream) as source:
                return _render(pil, source, sizes, max_pixels)
    except (pil.DecompressionBombError, pil.DecompressionBombWarning, MemoryError) as exc:
        return Skipped("too_large", str(exc) or type(exc).__name__)
    except pil.UnidentifiedImageError as exc:
        return Skipped("unsupported", str(exc))
    except Exception as exc:  # every decoder error (OSError, SyntaxError, zlib ...)
        return Skipped("undecodable", f"{type(exc).__name__}: {exc}")


class _seekable:
    """The stream itself if it can seek, else a spooled copy (bounded memory)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._copy: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        try:
            if self._stream.seekable():
                return self._stream
        except (AttributeError, OSError, ValueError):
            pass
        copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # closed on exit
        while chunk := self._stream.read(256 * 1024):
            copy.write(chunk)
        copy.seek(0)
        self._copy = copy
        return copy

    def __exit__(self, *_exc: object) -> None:
        if self._copy is not None:
            self._copy.close()


def _render(
    pil: Any, source: IO[bytes], sizes: Mapping[str, int], max_pixels: int
) -> Rendering | Skipped:
    image = pil.open(source, formats=("PNG", "JPEG", "WEBP", "GIF"))
    width, height = image.size
    if width * height > max_pixels:
        return Skipped("too_large", f"{width}x{height} is more than {max_pixels} pixels")
    largest = max(sizes.values())
    if image.format == "JPEG":
        # decode at 1/2, 1/4 or 1/8 scale, still at least twice the largest variant
        image.draft("RGB", (2 * largest, 2 * largest))
    image.seek(0)  # an animated image: its first frame
    image.load()
    orientation = image.getexif().get(_ORIENTATION)
    image = _normalised(image)
    factor = min(image.size) // (2 * largest)
    if factor >= 2:
        image = image.reduce(factor)  # cheap box shrink to twice the largest variant
    # The EXIF orientation, as ImageOps.exif_transpose applies it, on the smaller image.
    turn = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    if turn is not None:
        image = image.transpose(getattr(pil.Transpose, turn))
    variants = []
    for name, side in sorted(sizes.items(), key=lambda item: -item[1]):
        variants.append(_variant(pil, image, name, side))
        image = variants[-1].image  # each smaller one from the last: less to resample
    return Rendering(
        variants=tuple(v.rendered for v in variants), placeholder=_placeholder(pil, image)
    )


def _normalised(image: Any) -> Any:
    """RGB, or RGBA when the image has transparency: what WebP stores."""
    mode = image.mode
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale: scale to 8 bits (a plain conversion clips everything above 255)
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    elif mode == "F":
        image = image.convert("L")
    if image.mode == "P":
        has_alpha = "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if image.mode in ("LA", "PA", "La", "RGBa", "RGBA"):
        return image.convert("RGBA")
    return image.convert("RGB") if image.mode != "RGB" else image


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    width, height = size
    scale = min(1.0, side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@attrs.frozen
class _Made:
    rendered: Rendered
    image: Any


def _variant(pil: Any, image: Any, name: str, side: int) -> _Made:
    size = _fit(image.size, side)
    small = image.resize(size, pil.Resampling.LANCZOS) if size != image.size else image
    out = io.BytesIO()
    small.save(out, "WEBP", quality=_QUALITY, method=4)
    rendered = Rendered(name=name, data=out.getvalue(), width=size[0], height=size[1])
    return _Made(rendered, small)


def _placeholder(pil: Any, image: Any) -> str | None:
    """A ``data:image/webp;base64,...`` URI of at most :data:`PLACEHOLDER_MAX` characters."""
    for side in _PLACEHOLDER_SIDES:
        tiny = image.resize(_fit(image.size, side), pil.Resampling.BOX)
        out = io.BytesIO()
        tiny.save(out, "WEBP", quality=40, method=4)
        uri = "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode("ascii")
        if len(uri) <= PLACEHOLDER_MAX:
            return uri
    return None
