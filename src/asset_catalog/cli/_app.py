"""The ``asset-catalog`` group, its global options and :func:`main`, the console script."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from ..exceptions import AssetCatalogError
from . import _assets, _backfill, _maintenance
from ._config import DEFAULT_DATABASE_URL, DEFAULT_STORAGE_URL, Settings, default_actor
from ._errors import ExitCode, exit_code_for, message_for, one_line

__all__ = ["cli", "main"]

_EPILOG = """\b
Examples:
  asset-catalog init
  asset-catalog ingest chart.png report.csv --tenant acme
  asset-catalog ls --tenant acme --type image
  asset-catalog verify

\b
Exit codes: 0 done, 1 findings (verify, reconcile) or declined, 2 usage,
3 refused by the catalog, 4 not found, 5 the database, storage or a file failed.
"""


@click.group(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="ASSET_CATALOG_DATABASE_URL",
    show_envvar=True,
    default=DEFAULT_DATABASE_URL,
    show_default=True,
    help="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db.",
)
@click.option(
    "--storage-url",
    envvar="ASSET_CATALOG_STORAGE_URL",
    show_envvar=True,
    default=DEFAULT_STORAGE_URL,
    show_default=True,
    help="fsspec URL of the blobs: file://./dir, s3://bucket/prefix ...",
)
@click.option(
    "--secret",
    envvar="ASSET_CATALOG_SECRET",
    show_envvar=True,
    help="The signing secret (>= 16 bytes); needed by `url` and `ls --cursor`. "
    "Prefer the variable: a flag shows in the process list.",
)
@click.option(
    "--schema",
    envvar="ASSET_CATALOG_SCHEMA",
    show_envvar=True,
    help="PostgreSQL only: the schema holding the catalog's tables.",
)
@click.option(
    "--table-prefix",
    envvar="ASSET_CATALOG_TABLE_PREFIX",
    show_envvar=True,
    default="",
    help="A prefix of the catalog's table names (as given to open_catalog).",
)
@click.option(
    "--base-url",
    envvar="ASSET_CATALOG_BASE_URL",
    show_envvar=True,
    default="/assets/download",
    show_default=True,
    help="Your application's download route: what `url` prints before the token.",
)
@click.option(
    "--actor",
    envvar="ASSET_CATALOG_ACTOR",
    show_envvar=True,
    help="Who the audit trail names for rm, url, get and purge [default: cli:<login name>].",
)
@click.version_option(package_name="asset-catalog", prog_name="asset-catalog")
@click.pass_context
def cli(
    ctx: click.Context,
    /,
    *,
    database_url: str,
    storage_url: str,
    secret: str | None,
    schema: str | None,
    table_prefix: str,
    base_url: str,
    actor: str | None,
) -> None:
    """Operate an asset_catalog: list, inspect, ingest, download, delete, verify, purge.

    The catalog is the embedded SQLite file and blob directory in the current directory
    unless --database-url / --storage-url (or their variables) say otherwise.
    """
    ctx.obj = Settings(
        database_url=database_url,
        storage_url=storage_url,
        secret=secret or None,
        schema=schema or None,
        table_prefix=table_prefix,
        base_url=base_url,
        actor=actor or default_actor(),
    )


for _command in (*_maintenance.COMMANDS, *_assets.COMMANDS, _backfill.backfill_command):
    cli.add_command(_command)


def _usage_hint(error: click.ClickException) -> str:
    context = getattr(error, "ctx", None)
    if isinstance(error, click.UsageError) and context is not None:
        return f" (see {context.command_path} --help)"
    return ""


def main(args: Sequence[str] | None = None) -> None:
    """Run ``asset-catalog`` and exit: every error is one ``error: ...`` line on stderr and an
    exit code (docs/operations.md#exit-codes), never a traceback."""
    try:
        code = cli.main(args=args, prog_name="asset-catalog", standalone_mode=False)
    except click.ClickException as exc:
        click.echo(f"error: {one_line(exc.format_message())}{_usage_hint(exc)}", err=True)
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(int(ExitCode.FINDINGS))
    except AssetCatalogError as exc:
        click.echo(f"error: {message_for(exc)}", err=True)
        sys.exit(int(exit_code_for(exc)))
    except BrokenPipeError:  # `asset-catalog ls | head`: the reader has what it wanted
        sys.stderr.close()
        sys.exit(int(ExitCode.OK))
    sys.exit(code if isinstance(code, int) else int(ExitCode.OK))
