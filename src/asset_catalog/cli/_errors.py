"""Exit codes, and one line on stderr for every error a user can cause."""

from __future__ import annotations

import enum
import sys
from typing import NoReturn

import click

from ..exceptions import (
    AssetCatalogError,
    AssetNotFound,
    InvalidInput,
    RepositoryError,
    StorageError,
)

__all__ = ["ExitCode", "exit_code_for", "fail", "message_for"]


class ExitCode(enum.IntEnum):
    """What ``asset-catalog`` exits with (docs/operations.md#exit-codes)."""

    OK = 0
    #: The command ran and the answer is "no": ``verify`` found problems, ``reconcile``
    #: could not finish everything, a confirmation was declined.
    FINDINGS = 1
    #: The command line is wrong (click's own code): an unknown option, a bad value, a
    #: missing file or secret, no catalog at the database URL.
    USAGE = 2
    #: The catalog refused the request: invalid input or content, a missing extra, an
    #: operation the backend cannot do.
    REFUSED = 3
    #: No such asset for this tenant (unknown, another tenant's, or deleted).
    NOT_FOUND = 4
    #: The database, the storage or a local file failed: retrying may help.
    FAILED = 5


#: The command-line option behind each argument name that ``InvalidInput.field`` can carry.
_OPTIONS = {
    "tenant_id": "--tenant",
    "asset_type": "--type",
    "source_tool": "--tool",
    "conversation_id": "--conversation",
    "message_id": "--message",
    "agent_key": "--agent",
    "user_id": "--user",
    "response_id": "--response",
    "tool_call_id": "--tool-call",
    "container_id": "--container",
    "mime_prefix": "--mime-prefix",
    "created_after": "--after",
    "created_before": "--before",
    "limit": "--limit",
    "cursor": "--cursor",
    "expires_in": "--expires-in",
    "disposition": "--disposition",
    "target": "--output",
    "actor": "--actor",
    "secret": "--secret",
    "base_url": "--base-url",
    "database_url": "--database-url",
    "url": "--database-url",
    "storage_url": "--storage-url",
    "table_prefix": "--table-prefix",
    "schema": "--schema",
    "max_findings": "--max-findings",
}

_UNINITIALISED = ("no such table", "undefinedtable", "does not exist")


def exit_code_for(error: AssetCatalogError) -> ExitCode:
    """The exit code of a library error."""
    if isinstance(error, AssetNotFound):
        return ExitCode.NOT_FOUND
    if isinstance(error, RepositoryError | StorageError):
        return ExitCode.FAILED
    return ExitCode.REFUSED


def one_line(text: str) -> str:
    """``text`` with its whitespace (newlines included) collapsed: one line."""
    return " ".join(str(text).split())


def message_for(error: AssetCatalogError) -> str:
    """The error as the user should read it: an argument named by its option."""
    if isinstance(error, InvalidInput) and error.field in _OPTIONS:
        return one_line(f"{_OPTIONS[error.field]}: {error.message}")
    text = one_line(str(error))
    if isinstance(error, RepositoryError) and any(s in text.lower() for s in _UNINITIALISED):
        text += " (is the catalog created? run `asset-catalog init`)"
    return text


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    click.echo(f"error: {one_line(message)}", err=True)
    sys.exit(int(code))
