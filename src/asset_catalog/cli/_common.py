"""What the commands share: the ``--tenant`` and ``--json`` options, progress bars."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

import click
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ._output import stderr_console

__all__ = ["CHUNK", "LARGE", "byte_progress", "json_option", "read_counted", "tenant_option"]

F = TypeVar("F", bound=Callable[..., Any])

#: From this size on, one file gets a progress bar (and so do two files or more).
LARGE = 8 * 1024 * 1024
#: How much is read or written at a time: files are streamed, never held whole.
CHUNK = 1024 * 1024


def tenant_option(function: F) -> F:
    """``--tenant`` (or ``ASSET_CATALOG_TENANT``), required: every asset is one tenant's."""
    option = click.option(
        "--tenant",
        "-t",
        envvar="ASSET_CATALOG_TENANT",
        show_envvar=True,
        required=True,
        help="The tenant whose assets these are.",
    )
    return option(function)


def read_counted(handle: IO[bytes], advance: Callable[[int], object]) -> Iterator[bytes]:
    """A file a chunk at a time, each counted on a progress bar."""
    while chunk := handle.read(CHUNK):
        advance(len(chunk))
        yield chunk


def json_option(function: F) -> F:
    """``--json``: one JSON object per line instead of a table."""
    option = click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON object per line instead."
    )
    return option(function)


def byte_progress(*, show: bool) -> Progress:
    """A progress bar in bytes on stderr, drawn only when ``show`` and stderr is a terminal."""
    console = stderr_console()
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not (show and console.is_terminal),
    )
