"""``backfill``: catalogue the files a host kept before the catalog (a plain bucket or
directory), idempotently: a second run finds them all catalogued and reads nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import posixpath
from collections.abc import Iterator
from typing import Any

import click
import fsspec

from .._models import Asset
from ..exceptions import InvalidInput
from ._common import byte_progress, json_option, read_counted, tenant_option
from ._config import open_catalog_for, settings_of
from ._errors import ExitCode, fail, message_for
from ._output import add_assets, asset_table, emit_json, print_tables

__all__ = ["backfill_command"]


def _files(fs: Any, root: str) -> Iterator[str]:
    """Every file under ``root``, in name order, one directory listing at a time."""
    for directory, dirs, files in fs.walk(root, on_error="raise"):
        dirs.sort()
        for name in sorted(files):
            yield f"{directory.rstrip('/')}/{name}"


def backfill_key(url: str) -> str:
    """The idempotency key of the file at ``url``: the same file, the same asset."""
    return "backfill:" + hashlib.sha256(url.encode()).hexdigest()


@click.command("backfill")
@click.argument("source", metavar="URL")
@tenant_option
@click.option("--conversation", "conversation_id", metavar="ID", help="Link to this conversation.")
@click.option("--user", "user_id", metavar="ID", help="The user the files belong to.")
@json_option
@click.pass_context
def backfill_command(
    ctx: click.Context,
    /,
    *,
    source: str,
    tenant: str,
    conversation_id: str | None,
    user_id: str | None,
    as_json: bool,
) -> None:
    """Catalogue every file under URL (a directory, s3://bucket/prefix ...) as uploads, for
    hosts moving from a plain bucket. Copied into the catalog, streamed; the originals are
    left as they are. Run it again: what is catalogued already is skipped, unread.

    \b
    Examples:
      asset-catalog backfill ./old-uploads --tenant acme
      asset-catalog backfill s3://legacy-bucket/tenants/acme/ --tenant acme --json
    With --json: one line per file, {"source": ..., "asset": ..., "new": true|false}.
    """
    try:
        fs, root = fsspec.core.url_to_fs(source)
        if not fs.isdir(root):
            fail(f"{source}: not a directory or prefix with files", ExitCode.USAGE)
    except (OSError, ValueError, ImportError) as exc:
        fail(f"cannot read {source}: {exc}", ExitCode.FAILED)
    started, new, old, refused = dt.datetime.now(dt.UTC), [], 0, 0
    with open_catalog_for(settings_of(ctx)) as catalog, byte_progress(show=True) as progress:
        task = progress.add_task("backfill", total=None)
        for path in _files(fs, root):
            url = fs.unstrip_protocol(path)
            progress.update(task, description=posixpath.basename(path))
            try:
                with fs.open(path, "rb") as handle:
                    asset: Asset = catalog.ingest_upload(
                        tenant,
                        read_counted(handle, lambda n: progress.advance(task, n)),
                        filename=posixpath.basename(path),
                        idempotency_key=backfill_key(url),
                        user_id=user_id,
                        conversation_id=conversation_id,
                        metadata={"backfilled_from": url},
                    )
            except InvalidInput as exc:
                if exc.field != "content":
                    raise  # a bad --tenant or id: the same for every file
                refused += 1
                click.echo(f"error: {url}: {message_for(exc)}", err=True)
                continue
            except OSError as exc:
                fail(f"cannot read {url}: {exc}", ExitCode.FAILED)
            fresh = asset.created_at >= started
            if fresh:
                new.append(asset)
            else:
                old += 1
            if as_json:
                emit_json({"source": url, "asset": asset, "new": fresh})
    if not as_json:
        if new:
            print_tables(add_assets(asset_table(), new))
        click.echo(f"{len(new)} catalogued, {old} already there, {refused} refused")
    if refused:
        ctx.exit(int(ExitCode.REFUSED))
