"""Variants (thumbnails), placeholders and lineage: on every repository x storage, and hostile
images on SQLite with local files (the decoder is the same whatever the backend)."""

from __future__ import annotations

import base64
import datetime as dt
import io
import struct
import subprocess
import sys
import zlib
from typing import Any

import pytest
from PIL import Image, ImageFile

from asset_catalog import (
    MAX_VARIANT_PIXELS,
    AssetCatalog,
    AssetNotFound,
    EventKind,
    InvalidInput,
    Quota,
)

from .faults import FaultPlan, FaultyRepository, FaultyStorage

pytestmark = pytest.mark.variants  # catalogs make thumbnails (tests/conftest.py)

T, OTHER = "tenant-v", "tenant-w"


def noise_png(width: int, height: int, mode: str = "RGB") -> bytes:
    """Photographic-like content (noise over a gradient), not flat colour."""
    grey = Image.effect_noise((width, height), 48)
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (grey, ramp, Image.blend(grey, ramp, 0.5))).convert(mode)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def encoded(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def thumbnail_of(catalog: AssetCatalog, asset_id: str) -> Image.Image:
    (variant,) = catalog.lineage(T, asset_id).variants
    storage_key = catalog.repository.get_object(variant.storage_object_id)
    assert storage_key is not None
    with catalog.storage.open(storage_key.key) as stream:
        image = Image.open(io.BytesIO(stream.read()))
        image.load()
    return image


def skipped(catalog: AssetCatalog, asset_id: str) -> list[str]:
    return [
        e.details["reason"]
        for e in catalog.events(T, asset_id)
        if e.event is EventKind.VARIANT_SKIPPED
    ]


# -- on every backend ------------------------------------------------------------------------


def test_an_image_gets_a_thumbnail_and_a_placeholder(catalog: AssetCatalog) -> None:
    """A WebP thumbnail (longest side 256) is catalogued as a variant of the image, and the
    image carries a data: URI placeholder; list, usage counts and verify see one image."""
    image = catalog.ingest_image(T, noise_png(600, 400), tool_call_id="call-1", user_id="u1")
    assert image.placeholder is not None
    assert image.placeholder.startswith("data:image/webp;")
    assert len(image.placeholder) <= 1024
    assert Image.open(io.BytesIO(base64.b64decode(image.placeholder.split(",", 1)[1]))).size
    assert catalog.get(T, image.id).placeholder == image.placeholder

    lineage = catalog.lineage(T, image.id)
    (thumb,) = lineage.variants
    assert (thumb.variant_of, thumb.variant, thumb.mime_type) == (
        image.id,
        "thumbnail",
        "image/webp",
    )
    assert (thumb.width, thumb.height, thumb.user_id, thumb.tenant_id) == (256, 171, "u1", T)
    assert thumbnail_of(catalog, image.id).size == (256, 171)
    assert thumb.size_bytes < image.size_bytes * 0.03

    assert [a.id for a in catalog.list(T).items] == [image.id]
    usage = catalog.usage(T)  # what list shows: variants are not counted
    assert (usage.assets, usage.bytes) == (1, image.size_bytes)
    assert catalog.verify().ok
    # a retry makes nothing new
    again = catalog.ingest_image(T, noise_png(600, 400), tool_call_id="call-1")
    assert again.id == image.id
    assert len(list(catalog.storage.iter_keys())) == 2


def test_presign_many_gives_thumbnails_and_reports_fallbacks(catalog: AssetCatalog) -> None:
    """variant="thumbnail": each image's thumbnail URL, a file's own URL (a fallback, said
    so), an unknown id missing; the thumbnail's URL serves the WebP and is on its trail."""
    images = [catalog.ingest_image(T, noise_png(64 + n, 48)) for n in range(3)]
    file = catalog.ingest_upload(T, b"a,b\n", filename="t.csv")
    ids = [a.id for a in images] + [file.id, "0" * 36]
    batch = catalog.presign_many(T, ids, variant="thumbnail")
    assert batch.missing == ("0" * 36,)
    assert batch.fallbacks == (file.id,)
    assert {i: u.variant for i, u in batch.urls.items()} == {
        **{a.id: "thumbnail" for a in images},
        file.id: None,
    }
    plain = catalog.presign_many(T, ids)
    assert plain.fallbacks == ()
    assert all(u.variant is None for u in plain.urls.values())

    thumb = catalog.lineage(T, images[0].id).variants[0]
    assert [e.event for e in catalog.events(T, thumb.id)] == ["created", "url_issued"]
    one = catalog.presign(T, images[0].id, variant="thumbnail")
    assert one.variant == "thumbnail"
    if one.token is not None:
        asset, stream, headers = catalog.open_signed(one.token)
        with stream:
            assert Image.open(io.BytesIO(stream.read())).format == "WEBP"
        assert asset.id == thumb.id
        assert headers["Content-Type"] == "image/webp"
    assert catalog.presign(T, file.id, variant="thumbnail").variant is None
    with pytest.raises(InvalidInput) as raised:
        catalog.presign_many(T, ids, variant="Thumb nail")
    assert raised.value.field == "variant"


def test_variants_go_with_their_source_but_edits_stay(catalog: AssetCatalog) -> None:
    """delete and delete_conversation take an image's thumbnail along (and count only the
    image); an edit made from it stays, its source gone from its lineage; purge removes the
    rows; nothing is left in storage but the edit and its thumbnail."""
    source = catalog.ingest_image(T, noise_png(80, 60), conversation_id="c1")
    edit = catalog.ingest_image(T, noise_png(80, 61), source_asset_id=source.id)
    other = catalog.ingest_image(T, noise_png(70, 60), conversation_id="c1")
    assert catalog.lineage(T, edit.id).sources == (catalog.get(T, source.id),)
    assert [a.id for a in catalog.lineage(T, source.id).edits] == [edit.id]

    assert catalog.delete(T, source.id) is True
    assert catalog.delete_conversation(T, "c1") == 1
    assert [a.id for a in catalog.list(T).items] == [edit.id]
    lineage = catalog.lineage(T, edit.id)
    assert lineage.sources == ()
    assert len(lineage.variants) == 1
    assert catalog.usage(T).assets == 1
    keys = set(catalog.storage.iter_keys())
    assert len(keys) == 2
    with pytest.raises(AssetNotFound):
        catalog.lineage(T, other.id)
    report = catalog.purge(dt.timedelta(0))
    assert report.assets_purged == 4  # two images, two thumbnails
    assert catalog.verify().ok


def test_erase_takes_the_thumbnails_along(catalog: AssetCatalog) -> None:
    """erase(user): the user's images and their thumbnails go (blobs, rows); the report
    lists the user's assets, not their variants; another user's image stays whole."""
    mine = catalog.ingest_image(T, noise_png(50, 40), user_id="u1")
    theirs = catalog.ingest_image(T, noise_png(50, 41), user_id="u2")
    (thumb,) = catalog.lineage(T, mine.id).variants
    report = catalog.erase(T, user_id="u1")
    assert report.asset_ids == (mine.id,)
    assert [e.event for e in catalog.events(T, thumb.id)] == ["erased"]
    assert len(catalog.lineage(T, theirs.id).variants) == 1
    assert len(list(catalog.storage.iter_keys())) == 2
    assert catalog.verify().ok


def test_lineage_chains_and_stays_in_the_tenant(local_catalog: AssetCatalog) -> None:
    """An edit of an edit shows both sources, nearest first; a source of another tenant (or
    none) is AssetNotFound before anything is written."""
    catalog = local_catalog
    first = catalog.ingest_image(T, noise_png(30, 30))
    second = catalog.ingest_image(T, noise_png(30, 31), source_asset_id=first.id)
    third = catalog.ingest_image(T, noise_png(30, 32), source_asset_id=second.id)
    assert [a.id for a in catalog.lineage(T, third.id).sources] == [second.id, first.id]
    assert third.source_asset_id == second.id
    keys = set(catalog.storage.iter_keys())
    for source in (first.id, "0" * 36):
        with pytest.raises(AssetNotFound):
            catalog.ingest_image(OTHER, noise_png(30, 30), source_asset_id=source)
    assert set(catalog.storage.iter_keys()) == keys
    assert catalog.list(OTHER).items == ()


@pytest.mark.parametrize("step", ["storage.open", "storage.write", "repository.complete_ingest"])
def test_a_failing_derivation_never_costs_the_image(
    sqlite_repository: Any, local_storage: Any, signer: Any, step: str
) -> None:
    """Reading the image back, writing its thumbnail or publishing it fails: the image is
    catalogued all the same, the thumbnail skipped with its reason, no blob left behind;
    variants are not counted against a quota, nor in usage."""
    data = noise_png(120, 90)
    plan = FaultPlan()
    catalog = AssetCatalog(
        repository=FaultyRepository(sqlite_repository, plan),  # type: ignore[arg-type]
        storage=FaultyStorage(local_storage, plan),  # type: ignore[arg-type]
        signer=signer,
        quota=lambda _tenant: Quota(max_assets=2, max_bytes=2 * len(data)),
    )
    catalog.ingest_image(T, data, tool_call_id="record")  # records the calls of one ingest
    calls = plan.calls
    first = calls.index("repository.complete_ingest")  # the image's publish
    plan.calls, plan.at = [], first + 1 + calls[first + 1 :].index(step)
    image = catalog.ingest_image(T, data, tool_call_id="faulty")
    assert plan.fired
    assert catalog.get(T, image.id).sha256 == image.sha256
    assert catalog.lineage(T, image.id).variants == ()
    assert skipped(catalog, image.id) == ["failed"]
    assert "injected" in catalog.events(T, image.id)[-1].details["detail"]
    assert catalog.usage(T).assets == 2
    assert catalog.usage(T).bytes == 2 * len(data)
    assert catalog.verify().ok


def test_sizes_are_configurable(local_catalog: AssetCatalog) -> None:
    """Several sizes make several variants; none makes none; bad sizes are InvalidInput."""
    local_catalog.variant_sizes = {"thumbnail": 64, "preview": 512}  # type: ignore[assignment]
    image = local_catalog.ingest_image(T, noise_png(1024, 512))
    sizes = {v.variant: (v.width, v.height) for v in local_catalog.lineage(T, image.id).variants}
    assert sizes == {"preview": (512, 256), "thumbnail": (64, 32)}
    local_catalog.variant_sizes = {}  # type: ignore[assignment]
    plain = local_catalog.ingest_image(T, noise_png(64, 64))
    assert plain.placeholder is None
    assert local_catalog.lineage(T, plain.id).variants == ()
    for bad in ({"thumbnail": 8}, {"Big": 100}, {"x": True}, [("a", 1)]):
        with pytest.raises(InvalidInput) as raised:
            AssetCatalog(
                repository=local_catalog.repository,
                storage=local_catalog.storage,
                signer=local_catalog.signer,
                variant_sizes=bad,  # type: ignore[arg-type]
            )
        assert raised.value.field == "variant_sizes"


def test_without_pillow_no_variant_is_made(tmp_path: Any) -> None:
    """With PIL unimportable, asset_catalog imports and ingests; no variant, no event."""
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from asset_catalog import open_catalog\n"
        f"c = open_catalog('sqlite:///{tmp_path}/a.db', 'file://{tmp_path}/blobs',"
        " secret='s' * 32)\n"
        "import base64\n"
        f"a = c.ingest_image('t', base64.b64decode({base64.b64encode(noise_png(32, 32))!r}))\n"
        "print(a.placeholder, [e.event.value for e in c.events('t', a.id)],"
        " len(c.lineage('t', a.id).variants))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "['created']", "0"]


# -- hostile images ------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def bomb_png(width: int, height: int) -> bytes:
    """A tiny file declaring a huge image (its IDAT would inflate to gigabytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 100_000, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def corrupt_idat_png() -> bytes:
    """A valid header and an IDAT with good CRC whose zlib stream is garbage."""
    ihdr = struct.pack(">IIBBBBB", 32, 32, 8, 2, 0, 0, 0)
    idat = b"\x78\x9c" + bytes(range(7, 250))
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def animated(fmt: str) -> bytes:
    frames = [Image.new("RGB", (40, 40), (255, 0, 0)), Image.new("RGB", (40, 40), (0, 0, 255))]
    return encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(bomb_png(40_000, 40_000), "too_large", id="bomb"),
        pytest.param(bomb_png(4_000, 4_000), "undecodable", id="big-but-truncated"),
        pytest.param(noise_png(200, 200)[:3000], "undecodable", id="truncated"),
        pytest.param(corrupt_idat_png(), "undecodable", id="corrupt-idat"),
    ],
)
def test_a_hostile_image_is_catalogued_without_variants(
    local_catalog: AssetCatalog, data: bytes, reason: str
) -> None:
    """The original is catalogued (its header passed), the variant is skipped with its
    reason recorded, no decoder error escapes, and truncated images stay refused."""
    image = local_catalog.ingest_image(T, data)
    assert local_catalog.get(T, image.id).size_bytes == len(data)
    assert skipped(local_catalog, image.id) == [reason]
    assert image.placeholder is None
    assert local_catalog.lineage(T, image.id).variants == ()
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert MAX_VARIANT_PIXELS < 40_000 * 40_000
    assert local_catalog.verify().ok


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animated_image_gives_its_first_frame(local_catalog: AssetCatalog, fmt: str) -> None:
    """Animated GIF, WebP and APNG: the thumbnail is the first frame (red, not blue)."""
    image = local_catalog.ingest_image(T, animated(fmt))
    red, _green, blue = thumbnail_of(local_catalog, image.id).convert("RGB").getpixel((20, 20))
    assert red > 200
    assert blue < 50


def test_exif_orientation_is_applied(local_catalog: AssetCatalog) -> None:
    """A landscape JPEG (left red, right blue) tagged 'rotate 90° clockwise': the thumbnail is
    portrait, red on top."""
    stored = Image.new("RGB", (80, 40), (255, 0, 0))
    stored.paste((0, 0, 255), (40, 0, 80, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = local_catalog.ingest_image(T, encoded(stored, "JPEG", exif=exif.tobytes()))
    thumb = thumbnail_of(local_catalog, image.id).convert("RGB")
    assert thumb.size == (40, 80)
    top, bottom = thumb.getpixel((20, 10)), thumb.getpixel((20, 70))
    assert top[0] > 200
    assert top[2] < 60
    assert bottom[2] > 200
    assert bottom[0] < 60


@pytest.mark.parametrize(
    ("source", "expected", "alpha"),
    [
        pytest.param(
            encoded(Image.new("CMYK", (32, 32), (0, 255, 255, 0)), "JPEG"),
            (255, 0, 0),
            False,
            id="cmyk-jpeg",
        ),
        pytest.param(
            encoded(Image.new("I;16", (32, 32), 0x8000), "PNG"),
            (128, 128, 128),
            False,
            id="16-bit-grey-png",
        ),
        pytest.param(
            encoded(Image.new("RGB", (32, 32), (0, 160, 0)).convert("P", palette=1), "PNG"),
            (0, 160, 0),
            False,
            id="palette-png",
        ),
        pytest.param(
            encoded(Image.new("RGBA", (32, 32), (0, 0, 255, 0)), "PNG"),
            None,
            True,
            id="transparent-png",
        ),
    ],
)
def test_colour_modes_are_converted(
    local_catalog: AssetCatalog, source: bytes, expected: tuple[int, ...] | None, alpha: bool
) -> None:
    """CMYK, 16-bit, palette and transparent images give a thumbnail of the same colours
    (within WebP's loss; 16-bit scaled, not clipped to white) and keep their transparency."""
    image = local_catalog.ingest_image(T, source)
    thumb = thumbnail_of(local_catalog, image.id)
    assert skipped(local_catalog, image.id) == []
    if alpha:
        assert thumb.mode == "RGBA"
        assert thumb.getpixel((16, 16))[3] == 0
    else:
        assert expected is not None
        pixel = thumb.convert("RGB").getpixel((16, 16))
        assert all(abs(a - b) <= 20 for a, b in zip(pixel, expected, strict=True)), pixel


def test_thumbnails_on_s3_are_natively_signed(
    sqlite_repository: Any, s3_storage: Any, signer: Any
) -> None:
    """On S3 the thumbnail is read back, derived and written like any blob, and its URL is
    the storage's own presigned URL of the thumbnail's key (one query for the batch)."""
    catalog = AssetCatalog(repository=sqlite_repository, storage=s3_storage, signer=signer)
    images = [catalog.ingest_image(T, noise_png(90, 60 + n)) for n in range(2)]
    batch = catalog.presign_many(T, [a.id for a in images], variant="thumbnail")
    assert batch.fallbacks == ()
    for url in batch.urls.values():
        assert url.kind == "native"
        assert url.variant == "thumbnail"
        assert ".webp" in url.url
    assert catalog.verify().ok


def test_a_captured_response_brings_its_thumbnails(local_catalog: AssetCatalog) -> None:
    """ingest_response: each image_generation output gets its thumbnail and placeholder; an
    edit is recorded as metadata["action"] (the SDK's item does not say of which image, so
    lineage is the host's to give with source_asset_id)."""
    from openai.types.responses import Response

    from asset_catalog.openai import ingest_response

    from .openai_fixtures import image_call, response

    given = Response.model_validate(
        response(
            "resp_v",
            [
                image_call("ig_v1", noise_png(64, 48)),
                image_call("ig_v2", noise_png(48, 64), action="edit"),
            ],
        )
    )
    report = ingest_response(local_catalog, T, given)
    assert report.ok, report.failures
    for asset in report.assets:
        assert asset.placeholder is not None
        (thumb,) = local_catalog.lineage(T, asset.id).variants
        assert thumb.conversation_id == asset.conversation_id == "conv_1"
    assert report.assets[1].metadata["action"] == "edit"
    assert local_catalog.delete_conversation(T, "conv_1") == 2
    assert list(local_catalog.storage.iter_keys()) == []


def test_create_schema_upgrades_an_older_catalog(tmp_path: Any, signer: Any) -> None:
    """A database whose agent_assets predates variants (the four columns and their two
    indexes missing, an asset in it) gets them from create_schema(), as revision 0004."""
    from sqlalchemy import inspect, text

    from asset_catalog.sql import SqliteRepository
    from asset_catalog.storage import FsspecStorage

    url = f"sqlite:///{tmp_path / 'old.db'}"
    storage = FsspecStorage.from_url(f"file://{tmp_path}/blobs")
    old = SqliteRepository(url)
    old.create_schema()
    catalog = AssetCatalog(repository=old, storage=storage, signer=signer, variant_sizes={})
    kept = catalog.ingest_image(T, noise_png(40, 30))
    with old.engine.begin() as conn:
        for name in ("variant_of", "source_asset_id"):
            conn.execute(text(f"DROP INDEX ix_agent_assets_tenant_{name}"))
        for name in ("placeholder", "source_asset_id", "variant", "variant_of"):
            conn.execute(text(f"ALTER TABLE agent_assets DROP COLUMN {name}"))
    old.close()

    repository = SqliteRepository(url)
    repository.create_schema()
    indexes = {ix["name"] for ix in inspect(repository.engine).get_indexes("agent_assets")}
    assert {
        "ix_agent_assets_tenant_variant_of",
        "ix_agent_assets_tenant_source_asset_id",
    } <= indexes
    catalog = AssetCatalog(repository=repository, storage=storage, signer=signer)
    assert catalog.get(T, kept.id).variant_of is None
    image = catalog.ingest_image(T, noise_png(40, 31), source_asset_id=kept.id)
    assert len(catalog.lineage(T, image.id).variants) == 1
    assert catalog.lineage(T, image.id).sources[0].id == kept.id
    repository.close()
