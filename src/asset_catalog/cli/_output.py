"""What the commands print: rich tables for people, one JSON object per line for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import click
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from .._json import to_json
from .._models import Asset, AssetEvent

__all__ = [
    "add_assets",
    "asset_table",
    "detail_table",
    "emit_json",
    "events_table",
    "human_size",
    "print_tables",
    "stderr_console",
    "stdout_console",
]


#: The width of tables written to a pipe or a file: wide enough that no column is dropped.
PIPE_WIDTH = 240


def stdout_console() -> Console:
    """The console tables are printed on: the terminal's width, or a wide one when piped
    (rich would otherwise assume 80 columns and squeeze the ids)."""
    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH)
    return console


def stderr_console() -> Console:
    """The console progress bars are drawn on: stderr, so stdout stays the result."""
    return Console(stderr=True, highlight=False)


def print_tables(*tables: Table | None) -> None:
    """Print tables on stdout, a blank line between them (None for none), without the
    spaces rich pads the last column with.

    A table wider than the terminal is printed at its own width (the terminal wraps the
    lines) rather than squeezed: an id or a time cut short would be useless.
    """
    shown = [t for t in tables if t is not None]
    console = stdout_console()
    wide = console.options.update_width(PIPE_WIDTH)
    needed = max((Measurement.get(console, wide, t).maximum for t in shown), default=0)
    if needed > console.width:
        console = Console(
            highlight=False, soft_wrap=False, width=needed, force_terminal=console.is_terminal
        )
    with console.capture() as captured:
        for n, table in enumerate(shown):
            if n:
                console.print()
            console.print(table)
    lines = captured.get().splitlines()
    click.echo("\n".join(line.rstrip() for line in lines), color=console.is_terminal)


def emit_json(value: Any) -> None:
    """One JSON object on one line of stdout (``to_json`` for the catalog's models)."""
    click.echo(json.dumps(to_json(value), ensure_ascii=False, separators=(",", ":")))


def human_size(size: int | None) -> str:
    """``1.5 MiB``; bytes below 1 KiB are counted exactly."""
    if size is None:
        return ""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def _when(value: Any) -> str:
    """An ISO 8601 UTC time to the second, as the table shows it."""
    text: str = to_json(value)
    return text[:19].replace("T", " ") + "Z" if text else ""


def asset_table() -> Table:
    """An empty table of assets: add rows with :func:`add_assets`."""
    table = Table(header_style="bold", box=None, pad_edge=False)
    # Ids and times are never cut, whatever the terminal's width; the MIME type and the
    # filename give way first.
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("TYPE", no_wrap=True, min_width=5)
    table.add_column("MIME", no_wrap=True, overflow="ellipsis", max_width=32)
    table.add_column("SIZE", justify="right", no_wrap=True, min_width=6)
    table.add_column("CREATED", no_wrap=True, min_width=20)
    table.add_column("FILENAME", overflow="fold", min_width=8)
    return table


def add_assets(table: Table, assets: Iterable[Asset]) -> Table:
    """``table`` with a row per asset."""
    for asset in assets:
        table.add_row(
            asset.id,
            str(asset.asset_type),
            asset.mime_type,
            human_size(asset.size_bytes),
            _when(asset.created_at),
            asset.filename,
        )
    return table


def detail_table(asset: Asset) -> Table:
    """One asset's fields, a line each (the ones it has)."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    shown: Mapping[str, Any] = to_json(asset)
    for name, value in shown.items():
        if value is None or value == {}:
            continue
        if name in {"created_at", "updated_at"}:
            text = _when(asset.created_at if name == "created_at" else asset.updated_at)
        elif name == "size_bytes":
            text = f"{value} ({human_size(value)})"
        elif isinstance(value, dict):
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        else:
            text = str(value)
        table.add_row(name, text)
    return table


def events_table(events: Iterable[AssetEvent]) -> Table:
    """An audit trail, oldest first."""
    table = Table(header_style="bold", box=None, pad_edge=False, title_justify="left")
    table.add_column("AT", no_wrap=True, width=20)
    table.add_column("EVENT", no_wrap=True)
    table.add_column("ACTOR", overflow="fold")
    table.add_column("DETAILS", overflow="fold")
    for event in events:
        details = json.dumps(to_json(event.details), ensure_ascii=False, sort_keys=True)
        table.add_row(_when(event.at), str(event.event), event.actor or "", details)
    return table
