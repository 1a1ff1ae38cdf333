"""The whole catalog's commands: ``init``, ``migrate``, ``verify``, ``reconcile``, ``purge``."""

from __future__ import annotations

import datetime as dt

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._models import VerifyProgress, VerifyReport
from ._common import json_option
from ._config import open_catalog_for, settings_of
from ._errors import ExitCode
from ._migrate import migrate
from ._output import emit_json, human_size, print_tables, stderr_console
from ._params import DURATION

__all__ = ["COMMANDS"]


@click.command("init")
@click.pass_context
def init_command(ctx: click.Context) -> None:
    """Create the catalog's tables (and the PostgreSQL --schema) if they are missing.

    Safe to run again. For databases whose schema is managed by migrations, use
    `asset-catalog migrate` instead (one or the other, not both).

    \b
    Examples:
      asset-catalog init
      asset-catalog --database-url postgresql+psycopg://app@db/app --schema assets init
    """
    settings = settings_of(ctx)
    with open_catalog_for(settings, create=True):
        pass
    click.echo(f"catalog ready: {settings.shown_database()}, blobs in {settings.storage_url}")


@click.command("migrate")
@click.pass_context
def migrate_command(ctx: click.Context) -> None:
    """Upgrade the catalog's tables to this release's schema with its Alembic branch.

    Needs the `migrations` extra (alembic). The applied revision is recorded in its own
    table, <prefix>asset_catalog_version. Hosts with an Alembic environment of their own
    run the branch there instead (docs/migrations.md).

    \b
    Example:
      asset-catalog --database-url postgresql+psycopg://app@db/app migrate
    """
    settings = settings_of(ctx)
    before, after = migrate(settings)
    if before == after:
        click.echo(f"already at {after}: {settings.shown_database()}")
    else:
        click.echo(f"migrated {before or 'an empty database'} -> {after}")


def _summary(report: VerifyReport) -> Table:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    table.add_row("objects checked", str(report.objects_checked))
    table.add_row("blobs checked", str(report.blobs_checked))
    table.add_row("bytes hashed", human_size(report.bytes_hashed))
    table.add_row("in flight (for reconcile)", str(report.in_flight))
    for kind, count in sorted(report.counts.items()):
        table.add_row(str(kind), str(count))
    table.add_row("findings", str(report.total))
    return table


def _findings(report: VerifyReport) -> Table:
    table = Table(header_style="bold", box=None, pad_edge=False)
    for name in ("KIND", "KEY", "OBJECT", "DETAIL"):
        table.add_column(name, overflow="fold")
    for finding in report.findings:
        table.add_row(str(finding.kind), finding.key, finding.object_id or "", finding.detail)
    return table


@click.command("verify")
@click.option(
    "--checksums/--no-checksums",
    default=True,
    show_default=True,
    help="Hash every blob (sha256), or compare sizes only (no blob is read).",
)
@click.option(
    "--max-findings", type=int, default=1000, show_default=True, help="Findings kept and shown."
)
@json_option
@click.pass_context
def verify_command(
    ctx: click.Context, /, *, checksums: bool, max_findings: int, as_json: bool
) -> None:
    """Audit the whole catalog (all tenants) against its storage; read-only.

    Exit code 0 when everything matches, 1 when there are findings (missing or orphan
    blobs, size or checksum mismatches, broken rows).

    \b
    Examples:
      asset-catalog verify
      asset-catalog verify --no-checksums --json
    With --json: one line per finding ({"finding": ...}), then the report ({"report": ...}).
    """
    console = stderr_console()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    progress = Progress(*columns, console=console, transient=True, disable=not console.is_terminal)
    task = progress.add_task("rows", total=None)

    def seen(update: VerifyProgress) -> None:
        description = f"{update.phase}: {update.done} checked, {update.findings} findings"
        progress.update(task, description=description)

    with open_catalog_for(settings_of(ctx)) as catalog, progress:
        report = catalog.verify(checksums=checksums, progress=seen, max_findings=max_findings)
    if as_json:
        for finding in report.findings:
            emit_json({"finding": finding})
        emit_json({"report": report})
    else:
        print_tables(_findings(report) if report.findings else None, _summary(report))
        plural = "" if report.total == 1 else "s"
        click.echo("ok" if report.ok else f"{report.total} finding{plural}")
    if not report.ok:
        ctx.exit(int(ExitCode.FINDINGS))


@click.command("reconcile")
@click.option(
    "--older-than",
    type=DURATION,
    default="1h",
    show_default=True,
    help="Only ingests pending longer than this (keep it above your longest upload).",
)
@json_option
@click.pass_context
def reconcile_command(ctx: click.Context, /, *, older_than: dt.timedelta, as_json: bool) -> None:
    """Finish what a crash left: stale pending ingests fail, interrupted deletes finish.

    Exit code 1 when a blob could not be removed (the errors are listed; run it again).

    \b
    Example:
      asset-catalog reconcile --older-than 2h
    """
    with open_catalog_for(settings_of(ctx)) as catalog:
        report = catalog.reconcile(older_than=older_than)
    if as_json:
        emit_json(report)
    else:
        click.echo(
            f"pending ingests failed: {report.pending_failed}, "
            f"deletes finished: {report.deletes_finished}, errors: {len(report.errors)}"
        )
        for error in report.errors:
            click.echo(f"error: {error}", err=True)
    if report.errors:
        ctx.exit(int(ExitCode.FINDINGS))


@click.command("purge")
@click.option(
    "--older-than",
    type=DURATION,
    required=True,
    help="Purge assets deleted (and ingests failed) longer ago than this: 30d, 12h, 90m.",
)
@json_option
@click.pass_context
def purge_command(ctx: click.Context, /, *, older_than: dt.timedelta, as_json: bool) -> None:
    """Hard-delete the rows of assets deleted long enough ago; their audit trail is kept.

    Their blobs are already gone; each purged asset gets a last `purged` event.

    \b
    Example:
      asset-catalog purge --older-than 30d
    """
    settings = settings_of(ctx)
    with open_catalog_for(settings) as catalog:
        report = catalog.purge(older_than, actor=settings.actor)
    if as_json:
        emit_json(report)
    else:
        click.echo(
            f"assets purged: {report.assets_purged}, objects purged: {report.objects_purged}"
        )


COMMANDS = [init_command, migrate_command, verify_command, reconcile_command, purge_command]
