"""The commands on one tenant's assets: ``ls``, ``show``, ``ingest``, ``url``, ``get``, ``rm``."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

import click
from rich.table import Table

from .._catalog import AssetCatalog
from .._limits import MAX_EXPIRES_IN, MAX_LIST_LIMIT
from .._models import Asset, AssetType, SourceTool
from ..exceptions import InvalidInput
from ._common import CHUNK, LARGE, byte_progress, json_option, read_counted, tenant_option
from ._config import open_catalog_for, settings_of
from ._errors import ExitCode, fail, message_for
from ._output import (
    add_assets,
    asset_table,
    detail_table,
    emit_json,
    events_table,
    human_size,
    print_tables,
)
from ._params import DURATION, INSTANT

__all__ = ["COMMANDS"]


_LS_FILTERS: list[tuple[str, str, str]] = [
    ("--conversation", "conversation_id", "Only this conversation's assets."),
    ("--message", "message_id", "Only this message's assets."),
    ("--agent", "agent_key", "Only this agent's assets."),
    ("--user", "user_id", "Only this user's assets."),
    ("--response", "response_id", "Only this model response's assets."),
    ("--tool-call", "tool_call_id", "Only this tool call's assets."),
    ("--container", "container_id", "Only this Code Interpreter container's files."),
]


def _filters(function: Callable[..., Any]) -> Callable[..., Any]:
    for flag, name, text in reversed(_LS_FILTERS):
        function = click.option(flag, name, metavar="ID", help=text)(function)
    return function


@click.command("ls")
@tenant_option
@click.option(
    "--type", "asset_type", type=click.Choice([t.value for t in AssetType]), help="image or file."
)
@click.option(
    "--tool",
    "source_tool",
    type=click.Choice([t.value for t in SourceTool]),
    help="What produced the asset.",
)
@_filters
@click.option("--mime-prefix", metavar="PREFIX", help="A literal MIME type prefix: image/, text/.")
@click.option(
    "--after", "created_after", type=INSTANT, help="Created after (ISO 8601, or 7d for 7 days ago)."
)
@click.option("--before", "created_before", type=INSTANT, help="Created before (same forms).")
@click.option(
    "--limit",
    type=int,
    default=None,
    help=f"Assets per page, 1-{MAX_LIST_LIMIT} (default 50; {MAX_LIST_LIMIT} with --all).",
)
@click.option("--cursor", help="Go on from a previous page's cursor (needs the same secret).")
@click.option("--all", "follow", is_flag=True, help="Follow the cursors: every matching asset.")
@json_option
@click.pass_context
def ls_command(
    ctx: click.Context,
    /,
    *,
    tenant: str,
    limit: int | None,
    cursor: str | None,
    follow: bool,
    as_json: bool,
    **filters: Any,
) -> None:
    """List a tenant's live assets, newest first, with every filter of `list`.

    \b
    Examples:
      asset-catalog ls --tenant acme --type image --after 7d
      asset-catalog ls --tenant acme --conversation conv_1 --all --json | jq -r .id
    """
    settings = settings_of(ctx)
    if cursor and not settings.secret:
        fail("--cursor needs the secret that signed it: pass --secret", ExitCode.USAGE)
    page_size = limit if limit is not None else (MAX_LIST_LIMIT if follow else 50)
    table = asset_table()  # with --all, every page's rows (--json streams them instead)
    with open_catalog_for(settings) as catalog:
        while True:
            page = catalog.list(tenant, limit=page_size, cursor=cursor, **filters)
            if as_json:
                for asset in page.items:
                    emit_json(asset)
            else:
                add_assets(table, page.items)
            cursor = page.next_cursor
            if not (follow and cursor):
                break
    if not as_json:
        print_tables(table)
    if cursor and not follow:
        if settings.secret:
            click.echo(f"more: --cursor {cursor}", err=True)
        else:
            click.echo("more: pass --all, or --secret to page with --cursor", err=True)


@click.command("show")
@click.argument("asset_id", metavar="ID")
@tenant_option
@json_option
@click.pass_context
def show_command(ctx: click.Context, /, *, asset_id: str, tenant: str, as_json: bool) -> None:
    """Show one live asset and its audit trail (oldest event first).

    \b
    Example:
      asset-catalog show 0b4e1c2a-... --tenant acme
    With --json: one line, {"asset": {...}, "events": [...]}.
    """
    with open_catalog_for(settings_of(ctx)) as catalog:
        asset = catalog.get(tenant, asset_id)
        events = catalog.events(tenant, asset_id)
    if as_json:
        emit_json({"asset": asset, "events": list(events)})
        return
    print_tables(detail_table(asset), events_table(events))


@click.command("ingest")
@click.argument(
    "paths",
    metavar="PATH...",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@tenant_option
@click.option("--conversation", "conversation_id", metavar="ID", help="Link to this conversation.")
@click.option("--message", "message_id", metavar="ID", help="Link to this message.")
@click.option("--user", "user_id", metavar="ID", help="The user who uploaded the files.")
@json_option
@click.pass_context
def ingest_command(
    ctx: click.Context,
    /,
    *,
    paths: tuple[Path, ...],
    tenant: str,
    conversation_id: str | None,
    message_id: str | None,
    user_id: str | None,
    as_json: bool,
) -> None:
    """Catalogue files from disk as uploads (images are recognised by their bytes).

    Each file is streamed, never read whole. A file the catalog refuses (too large, not
    what its name says) is reported and the others are still ingested; the exit code is
    then 3.

    \b
    Example:
      asset-catalog ingest chart.png report.csv --tenant acme --conversation conv_1
    """
    sizes = {path: path.stat().st_size for path in paths}
    show = len(paths) > 1 or sum(sizes.values()) >= LARGE
    ingested: list[Asset] = []
    refused = 0
    with open_catalog_for(settings_of(ctx)) as catalog, byte_progress(show=show) as progress:
        overall = progress.add_task("ingest", total=sum(sizes.values()))
        for path in paths:
            progress.update(overall, description=path.name)
            before = progress.tasks[0].completed
            try:
                with path.open("rb") as handle:
                    asset = catalog.ingest_upload(
                        tenant,
                        read_counted(handle, lambda n: progress.advance(overall, n)),
                        filename=path.name,
                        user_id=user_id,
                        conversation_id=conversation_id,
                        message_id=message_id,
                    )
            except InvalidInput as exc:
                if exc.field != "content":
                    raise  # a bad --tenant or id: the same for every file
                refused += 1
                click.echo(f"error: {path}: {message_for(exc)}", err=True)
                progress.update(overall, completed=before + sizes[path])
                continue
            except OSError as exc:
                fail(f"cannot read {path}: {exc.strerror or exc}", ExitCode.FAILED)
            ingested.append(asset)
            if as_json:
                emit_json(asset)
    if not as_json and ingested:
        print_tables(add_assets(asset_table(), ingested))
    if refused:
        ctx.exit(int(ExitCode.REFUSED))


@click.command("url")
@click.argument("asset_id", metavar="ID")
@tenant_option
@click.option(
    "--expires-in",
    type=DURATION,
    default="15m",
    show_default=True,
    help=f"How long the URL works: seconds or 15m, 12h, 7d (at most {MAX_EXPIRES_IN // 86400}d).",
)
@click.option(
    "--disposition",
    type=click.Choice(["inline", "attachment"]),
    help="Show in the browser or save as a file (active content is always attachment).",
)
@json_option
@click.pass_context
def url_command(
    ctx: click.Context,
    /,
    *,
    asset_id: str,
    tenant: str,
    expires_in: dt.timedelta,
    disposition: Literal["inline", "attachment"] | None,
    as_json: bool,
) -> None:
    """Print a time-limited download URL (audited as url_issued; needs the secret).

    The URL is --base-url followed by a signed token, for your application's download
    route; on S3 it is the storage's own presigned URL.

    \b
    Example:
      ASSET_CATALOG_SECRET=... asset-catalog --base-url https://chat.example/assets/download \\
          url 0b4e1c2a-... --tenant acme --expires-in 1h
    """
    settings = settings_of(ctx)
    with open_catalog_for(settings, signing=True) as catalog:
        url = catalog.presign(
            tenant,
            asset_id,
            expires_in=int(expires_in.total_seconds()),
            disposition=disposition,
            actor=settings.actor,
        )
    if as_json:
        emit_json(url)
    else:
        click.echo(url.url)


def _copy(source: IO[bytes], target: IO[bytes], advance: Callable[[int], object]) -> int:
    """Copy a chunk at a time; how many bytes."""
    written = 0
    while chunk := source.read(CHUNK):
        target.write(chunk)
        written += len(chunk)
        advance(len(chunk))
    return written


def _open_blob(catalog: AssetCatalog, tenant: str, asset: Asset, actor: str) -> IO[bytes]:
    """The asset's bytes, as a download the audit trail records (``url_issued`` then
    ``downloaded``); from the storage itself where the storage signs its own URLs."""
    url = catalog.presign(tenant, asset.id, expires_in=60, actor=actor)
    if url.kind == "catalog" and url.token:
        return catalog.open_signed(url.token, actor=actor).stream
    stored = catalog.repository.get_object(asset.storage_object_id)
    if stored is None:  # pragma: no cover - a live asset always has its object row
        raise InvalidInput("asset_id", f"asset {asset.id!r} has no stored object")
    return catalog.storage.open(stored.key)


@click.command("get")
@click.argument("asset_id", metavar="ID")
@tenant_option
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="The file to write (- for stdout). Written beside, then renamed: never half a file.",
)
@json_option
@click.pass_context
def get_command(
    ctx: click.Context, /, *, asset_id: str, tenant: str, output: Path, as_json: bool
) -> None:
    """Download an asset's bytes to a file, streamed (audited as a download).

    \b
    Examples:
      asset-catalog get 0b4e1c2a-... --tenant acme -o chart.png
      asset-catalog get 0b4e1c2a-... --tenant acme -o - | sha256sum
    """
    settings = settings_of(ctx)
    if as_json and str(output) == "-":
        fail("--json and -o - would both write to stdout: pick one", ExitCode.USAGE)
    with open_catalog_for(settings) as catalog:
        asset = catalog.get(tenant, asset_id)
        with (
            _open_blob(catalog, tenant, asset, settings.actor) as source,
            byte_progress(show=asset.size_bytes >= LARGE) as progress,
        ):
            task = progress.add_task(asset.filename, total=asset.size_bytes)

            def advance(n: int) -> None:
                progress.advance(task, n)

            if str(output) == "-":
                stdout = sys.stdout.buffer
                written = _copy(source, stdout, advance)
                stdout.flush()
            else:
                written = _write_file(source, output, advance)
    if as_json:
        emit_json({"id": asset.id, "path": str(output), "size_bytes": written})
    elif str(output) != "-":
        click.echo(f"wrote {output} ({written} bytes)", err=True)


def _write_file(source: IO[bytes], output: Path, advance: Callable[[int], object]) -> int:
    """Stream into a temporary file beside ``output``, then rename it into place."""
    directory = output.resolve().parent
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", dir=directory)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", ExitCode.FAILED)
    try:
        with os.fdopen(handle, "wb") as target:
            written = _copy(source, target, advance)
        os.replace(temporary, output)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        fail(f"cannot write {output}: {exc.strerror or exc}", ExitCode.FAILED)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


@click.command("rm")
@click.argument("asset_id", metavar="ID")
@tenant_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
def rm_command(
    ctx: click.Context, /, *, asset_id: str, tenant: str, yes: bool, as_json: bool
) -> None:
    """Delete an asset: its blob is removed, its audit trail kept (asks first unless --yes).

    \b
    Example:
      asset-catalog rm 0b4e1c2a-... --tenant acme --yes
    """
    settings = settings_of(ctx)
    with open_catalog_for(settings) as catalog:
        asset = catalog.get(tenant, asset_id)
        if not yes and not click.confirm(
            f"Delete {asset.filename} ({asset.id}) of tenant {tenant}?", err=True
        ):
            fail("not deleted", ExitCode.FINDINGS)
        deleted = catalog.delete(tenant, asset_id, actor=settings.actor)
    if as_json:
        emit_json({"id": asset_id, "deleted": deleted})
    else:
        click.echo(f"deleted {asset_id}" if deleted else f"{asset_id} was already deleted")


@click.command("erase")
@tenant_option
@click.option("--user", "user_id", required=True, help="The user whose assets are erased.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@json_option
@click.pass_context
def erase_command(
    ctx: click.Context, /, *, tenant: str, user_id: str, yes: bool, as_json: bool
) -> None:
    """Erase a user's assets now (an erasure request): blobs, rows and audit trails go,
    one `erased` event per asset stays. Asks first unless --yes.

    \b
    Example:
      asset-catalog erase --tenant acme --user user_7 --yes
    """
    settings = settings_of(ctx)
    with open_catalog_for(settings) as catalog:
        if not yes and not click.confirm(
            f"Erase every asset of user {user_id} of tenant {tenant}, for good?", err=True
        ):
            fail("not erased", ExitCode.FINDINGS)
        report = catalog.erase(tenant, user_id=user_id, actor=settings.actor)
    if as_json:
        emit_json(report)
    else:
        click.echo(
            f"erased {len(report.asset_ids)} assets of {user_id}; "
            f"{report.events_anonymized} other events no longer name them"
        )


@click.command("export")
@tenant_option
@click.option("--user", "user_id", help="Only this user's assets.")
@click.option("--conversation", "conversation_id", help="Only this conversation's assets.")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, allow_dash=True, path_type=Path),
    help="A new (or empty) directory, or - for a tar archive on stdout.",
)
@json_option
@click.pass_context
def export_command(
    ctx: click.Context,
    /,
    *,
    tenant: str,
    user_id: str | None,
    conversation_id: str | None,
    output: Path,
    as_json: bool,
) -> None:
    """Write a tenant's assets (or one user's, one conversation's) and their audit trails
    out, for a data-export request: manifest.jsonl and files/<id>/<name>.

    \b
    Examples:
      asset-catalog export --tenant acme --user user_7 -o export-user_7
      asset-catalog export --tenant acme --conversation conv_1 -o - > conv_1.tar
    """
    if as_json and str(output) == "-":
        fail("--json and -o - would both write to stdout: pick one", ExitCode.USAGE)
    scope = {"user_id": user_id, "conversation_id": conversation_id}
    with open_catalog_for(settings_of(ctx)) as catalog:
        if str(output) == "-":
            report = catalog.export(tenant, sys.stdout.buffer, **scope)
            sys.stdout.buffer.flush()
        else:
            report = catalog.export(tenant, output, **scope)
    if as_json:
        emit_json(report)
    else:
        where = "stdout" if str(output) == "-" else str(output)
        message = f"exported {report.assets} assets ({human_size(report.bytes)}) to {where}"
        click.echo(message, err=str(output) == "-")


@click.command("usage")
@click.option(
    "--tenant",
    "-t",
    envvar="ASSET_CATALOG_TENANT",
    show_envvar=True,
    help="One tenant (default: every tenant with live assets).",
)
@json_option
@click.pass_context
def usage_command(ctx: click.Context, /, *, tenant: str | None, as_json: bool) -> None:
    """What tenants store now: live assets and bytes by asset type and source tool.

    \b
    Examples:
      asset-catalog usage --tenant acme
      asset-catalog usage --json          (every tenant, one line each)
    With --json: one line per tenant, {"tenant_id": ..., "assets": ..., "bytes": ...,
    "entries": [...]}.
    """
    with open_catalog_for(settings_of(ctx)) as catalog:
        every = (catalog.usage(tenant),) if tenant is not None else catalog.usage_by_tenant()
    if as_json:
        for usage in every:
            emit_json(usage)
        return
    table = Table(header_style="bold", box=None, pad_edge=False)
    columns = (("TENANT", "left"), ("TYPE", "left"), ("TOOL", "left"))
    for name, justify in (*columns, ("ASSETS", "right"), ("SIZE", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for usage in every:
        for e in usage.entries:
            kind, tool = str(e.asset_type), str(e.source_tool)
            table.add_row(usage.tenant_id, kind, tool, f"{e.assets:,}", human_size(e.bytes))
        total = (f"{usage.assets:,}", human_size(usage.bytes))
        table.add_row(usage.tenant_id, "all", "", *total, style="bold")
    print_tables(table)


COMMANDS = [
    ls_command,
    show_command,
    usage_command,
    export_command,
    erase_command,
    ingest_command,
    url_command,
    get_command,
    rm_command,
]
