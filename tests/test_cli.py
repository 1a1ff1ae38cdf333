"""The ``asset-catalog`` command line, run as operators run it: in a subprocess, on SQLite and
on PostgreSQL (a schema of the test's own), against local blob files.

Starting Python is most of each command's cost, so the assertions are grouped: each test
walks a catalog through several commands, and commands that do not depend on each other run
side by side (:meth:`Cli.many`).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import click
import pytest

import asset_catalog
from asset_catalog.cli import ExitCode, cli, main
from asset_catalog.cli._params import parse_duration

from .backends import POSTGRES_URL, SECRET
from .images import png_bytes

ROOT = Path(__file__).resolve().parent.parent
#: The tree the library is imported from (the worktree's src/ in a checkout): the
#: subprocesses import the same code as the test run.
SOURCE_ROOT = Path(asset_catalog.__file__).resolve().parent.parent
PNG = png_bytes(3, 2)
CSV = b"region,revenue\nnorth,120\nsouth,80\n"
BASE_URL = "https://chat.example/assets/download"


@attrs.frozen
class Ran:
    """One finished command: its exit code and what it printed."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    raw: bytes = b""
    """stdout as bytes (``out`` is its text)."""

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines()]

    def error_line(self) -> str:
        """The one ``error: ...`` line the command printed on stderr (checked to be one)."""
        lines = self.err.splitlines()
        assert len(lines) == 1, self
        assert lines[0].startswith("error: "), self
        return lines[0]


@attrs.frozen
class Cli:
    """``python -m asset_catalog.cli`` in a working directory, with a catalog's variables."""

    cwd: Path
    env: dict[str, str]

    def _start(self, args: Sequence[str], stdin: bytes | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "asset_catalog.cli", *args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    @staticmethod
    def _finish(args: Sequence[str], process: subprocess.Popen[bytes], stdin: bytes | None) -> Ran:
        try:
            out, err = process.communicate(stdin, timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        return Ran(tuple(args), process.returncode, out.decode(errors="replace"), err.decode(), out)

    @staticmethod
    def _check(ran: Ran, code: int) -> Ran:
        assert "Traceback" not in ran.err, ran
        assert ran.code == code, ran
        return ran

    def __call__(self, *args: str, code: int = 0, stdin: bytes | None = None) -> Ran:
        """Run one command; it must exit with ``code`` and print no traceback."""
        return self._check(self._finish(args, self._start(args, stdin), stdin), code)

    def many(self, *commands: Sequence[str] | tuple[Sequence[str], int]) -> list[Ran]:
        """Run independent commands side by side; each is ``args`` or ``(args, code)``."""
        planned = [c if isinstance(c, tuple) else (c, 0) for c in commands]
        started = [(args, code, self._start(args, None)) for args, code in planned]
        finished = [(self._finish(args, process, None), code) for args, code, process in started]
        return [self._check(ran, code) for ran, code in finished]

    def with_env(self, **changes: str) -> Cli:
        return Cli(self.cwd, {**self.env, **changes})


def base_env() -> dict[str, str]:
    """The test run's environment without any ASSET_CATALOG_* setting, importing this tree."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSET_CATALOG_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(SOURCE_ROOT), os.environ.get("PYTHONPATH", "")) if p
    )
    env.update(COLUMNS="200", NO_COLOR="1", TTY_COMPATIBLE="0")
    return env


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    """The defaults: asset-catalog.db and asset-blobs/ in the working directory."""
    return Cli(tmp_path, base_env())


@pytest.fixture
def postgres_cli(tmp_path: Path, postgres_schema: str) -> Cli:
    """PostgreSQL, in a schema of this test's own (dropped after), blobs in tmp_path."""
    env = base_env()
    env.update(
        ASSET_CATALOG_DATABASE_URL=POSTGRES_URL,
        ASSET_CATALOG_SCHEMA=postgres_schema,
        ASSET_CATALOG_STORAGE_URL=f"file://{tmp_path / 'blobs'}",
    )
    return Cli(tmp_path, env)


@pytest.fixture(
    params=[
        pytest.param("sqlite_cli", id="sqlite"),
        pytest.param("postgres_cli", id="postgres", marks=pytest.mark.postgres),
    ]
)
def any_cli(request: pytest.FixtureRequest) -> Cli:
    ran: Cli = request.getfixturevalue(request.param)
    return ran


def write_inputs(directory: Path) -> tuple[Path, Path]:
    png, csv = directory / "chart.png", directory / "report.csv"
    png.write_bytes(PNG)
    csv.write_bytes(CSV)
    return png, csv


def blob_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


class TestLifecycle:
    """init, ingest, ls, show, url, get, rm, verify, reconcile and purge on one catalog."""

    def test_a_catalog_from_init_to_purge(self, any_cli: Cli, tmp_path: Path) -> None:
        run = any_cli.with_env(ASSET_CATALOG_TENANT="acme")
        png, csv = write_inputs(tmp_path)
        assert "catalog ready" in run("init").out
        ingested = run("ingest", str(png), str(csv), "--conversation", "conv_1", "--json")
        image, doc = ingested.json_lines()
        assert (image["asset_type"], image["width"], image["height"]) == ("image", 3, 2)
        assert (doc["asset_type"], doc["mime_type"], doc["filename"]) == (
            "file",
            "text/csv",
            "report.csv",
        )
        assert image["source_tool"] == "user_upload"
        assert image["conversation_id"] == "conv_1"

        signing = ["--secret", SECRET, "--base-url", BASE_URL]
        table, images, url, got, shown, usage = run.many(
            ["ls"],
            ["ls", "--type", "image", "--json"],
            [*signing, "url", doc["id"], "--expires-in", "1h"],
            ["get", doc["id"], "-o", str(tmp_path / "copy.csv")],
            ["show", image["id"]],
            ["usage", "--json"],
        )
        exported = run("export", "--user", "nobody", "-o", str(tmp_path / "none"))
        assert exported.out == "exported 0 assets (0 B) to " + str(tmp_path / "none") + "\n"
        archive = run("export", "-o", "-")
        with tarfile.open(fileobj=io.BytesIO(archive.raw)) as tar:
            assert tar.extractfile(f"files/{doc['id']}/report.csv").read() == CSV  # type: ignore[union-attr]
        assert run("export", "-o", str(tmp_path / "none"), code=ExitCode.REFUSED).error_line() == (
            "error: --output: must be a new or empty directory"
        )
        (used,) = usage.json_lines()
        assert (used["assets"], used["bytes"]) == (2, image["size_bytes"] + doc["size_bytes"])
        assert sorted((e["asset_type"], e["assets"]) for e in used["entries"]) == [
            ("file", 1),
            ("image", 1),
        ]
        lines = table.out.splitlines()
        assert lines[0].split() == ["ID", "TYPE", "MIME", "SIZE", "CREATED", "FILENAME"]
        assert [line.split()[0] for line in lines[1:]] == [doc["id"], image["id"]]  # newest first
        assert "report.csv" in lines[1]
        assert "chart.png" in lines[2]
        assert "image/png" in lines[2]
        assert images.json_lines() == [image]
        assert url.out.startswith(BASE_URL + "/")
        assert url.out.count("\n") == 1
        assert (tmp_path / "copy.csv").read_bytes() == CSV
        assert f"wrote {tmp_path / 'copy.csv'} ({len(CSV)} bytes)" in got.err
        assert "chart.png" in shown.out
        assert "created" in shown.out
        assert "width" in shown.out

        (trail,) = run("show", doc["id"], "--json").json_lines()
        assert trail["asset"] == doc
        kinds = [e["event"] for e in trail["events"]]
        assert kinds[0] == "created"  # then, from `url` and `get` side by side:
        assert sorted(kinds[1:]) == ["downloaded", "url_issued", "url_issued"]
        assert {e["actor"] for e in trail["events"][1:]} == {trail["events"][-1]["actor"]}
        assert trail["events"][-1]["actor"].startswith("cli")

        assert run("rm", doc["id"], code=ExitCode.FINDINGS, stdin=b"n\n").err.endswith(
            "error: not deleted\n"
        )
        assert run("rm", doc["id"], "--yes").out == f"deleted {doc['id']}\n"
        gone, verified, reconciled = run.many(
            (["show", doc["id"]], ExitCode.NOT_FOUND), ["verify"], ["reconcile", "--json"]
        )
        assert gone.error_line() == f"error: asset {doc['id']!r} not found"
        assert verified.out.rstrip().endswith("ok")
        assert reconciled.json_lines() == [
            {"pending_failed": 0, "deletes_finished": 0, "errors": []}
        ]
        assert image["size_bytes"] < 1024  # shown in bytes, exactly
        assert run("usage").out.splitlines()[-1].split() == [
            "acme",
            "all",
            "1",
            str(image["size_bytes"]),
            "B",
        ]

        (blob,) = [  # (the image's thumbnail is a .webp beside it)
            p
            for p in blob_files(tmp_path)
            if p.relative_to(tmp_path).parts[0].endswith("blobs") and p.suffix == ".png"
        ]
        blob.unlink()  # the image's blob, lost behind the catalog's back
        broken, table, purged = run.many(
            (["verify", "--json"], ExitCode.FINDINGS),
            (["verify"], ExitCode.FINDINGS),
            ["purge", "--older-than", "0s", "--json"],
        )
        *findings, report = broken.json_lines()
        assert [f["finding"]["kind"] for f in findings] == ["missing_blob"]
        assert report["report"]["counts"] == {"missing_blob": 1}
        assert purged.json_lines() == [{"assets_purged": 1, "objects_purged": 1}]
        assert "missing_blob" in table.out
        assert table.out.rstrip().endswith("1 finding")

    def test_ls_all_follows_the_cursors(self, sqlite_cli: Cli, tmp_path: Path) -> None:
        """--all reads every page; one page says how to get the next (with the secret)."""
        run = sqlite_cli.with_env(ASSET_CATALOG_TENANT="acme", ASSET_CATALOG_SECRET=SECRET)
        files = []
        for n in range(5):
            files.append(tmp_path / f"part-{n}.csv")
            files[-1].write_bytes(b"n\n%d\n" % n)
        run("init")
        ids = [a["id"] for a in run("ingest", *map(str, files), "--json").json_lines()]
        every, page = run.many(
            ["ls", "--all", "--limit", "2", "--json"], ["ls", "--limit", "2", "--json"]
        )
        assert [a["id"] for a in every.json_lines()] == ids[::-1]
        assert [a["id"] for a in page.json_lines()] == ids[:2:-1]
        cursor = page.err.split("--cursor ", 1)[1].strip()
        rest = run("ls", "--limit", "2", "--json", "--cursor", cursor)
        assert [a["id"] for a in rest.json_lines()] == ids[2:0:-1]


class TestMigrate:
    """migrate runs the Alembic branch to its head, in a version table of its own."""

    def test_migrate_then_use(self, any_cli: Cli, tmp_path: Path) -> None:
        png, _ = write_inputs(tmp_path)
        first = any_cli("migrate")
        assert first.out.startswith("migrated an empty database -> asset_catalog_")
        head = first.out.split("-> ")[1].strip()
        again, ingested = any_cli.many(["migrate"], ["ingest", str(png), "-t", "acme", "--json"])
        assert again.out.startswith(f"already at {head}")
        assert ingested.json_lines()[0]["asset_type"] == "image"


class TestErrors:
    """Whatever an operator types wrong: one ``error:`` line, an exit code, no traceback."""

    def test_bad_input_is_one_line(self, sqlite_cli: Cli, tmp_path: Path) -> None:
        run = sqlite_cli
        uninitialised = run("ls", "-t", "acme", code=ExitCode.USAGE).error_line()
        assert "no catalog at sqlite:///asset-catalog.db" in uninitialised
        assert "asset-catalog init" in uninitialised
        _, csv = write_inputs(tmp_path)
        run("init")
        (doc,) = run("ingest", str(csv), "-t", "acme", "--json").json_lines()
        no_alembic = (
            "import sys; sys.modules['alembic'] = None;"
            "from asset_catalog.cli import main; main(['migrate'])"
        )
        script = subprocess.run(
            [sys.executable, "-c", no_alembic],
            cwd=tmp_path,
            env=run.env,
            capture_output=True,
            text=True,
            check=False,
        )
        cases = {  # usage errors (click's or ours), the catalog's refusals, unknown ids
            "control characters": (["ls", "-t", "a\tb"], ExitCode.REFUSED),
            "duration": (["purge", "--older-than", "30x"], ExitCode.USAGE),
            "limit": (["ls", "-t", "acme", "--limit", "0"], ExitCode.REFUSED),
            "missing file": (["ingest", "missing.txt", "-t", "acme"], ExitCode.USAGE),
            "no tenant": (["ls"], ExitCode.USAGE),
            "no secret": (["url", doc["id"], "-t", "acme"], ExitCode.USAGE),
            "expiry": (
                ["--secret", SECRET, "url", doc["id"], "-t", "acme", "--expires-in", "30d"],
                ExitCode.REFUSED,
            ),
            "unknown id": (["get", "nope", "-t", "acme", "-o", "x"], ExitCode.NOT_FOUND),
            "database kind": (["--database-url", "mysql://u@h/db", "verify"], ExitCode.REFUSED),
            "migrate after init": (["migrate"], ExitCode.REFUSED),
        }
        ran = run.many(*cases.values())
        lines = dict(zip(cases, (r.error_line() for r in ran), strict=True))
        assert lines["control characters"] == (
            "error: --tenant: must not contain control characters"
        )
        assert "'30x' is not a duration" in lines["duration"]
        assert "(see asset-catalog purge --help)" in lines["duration"]
        assert lines["limit"].startswith("error: --limit: ")
        assert "'missing.txt' does not exist" in lines["missing file"]
        assert "Missing option '--tenant'" in lines["no tenant"]
        assert lines["no secret"].startswith("error: this command signs URLs: pass --secret")
        assert lines["expiry"].startswith("error: --expires-in: ")
        assert lines["unknown id"] == "error: asset 'nope' not found"
        assert "'mysql'" in lines["database kind"]
        assert "`migrate` did not create them" in lines["migrate after init"]
        assert not (tmp_path / "x").exists()  # a failed get leaves no file behind
        # And without the migrations extra:
        assert script.returncode == ExitCode.REFUSED, script
        assert script.stderr.strip() == (
            "error: 'alembic' is required for this feature: pip install 'asset-catalog[migrations]'"
        )

    def test_erase_a_user(self, any_cli: Cli, tmp_path: Path) -> None:
        """erase --user asks first; with --yes that user's assets go, the others stay."""
        run = any_cli.with_env(ASSET_CATALOG_TENANT="acme")
        png, csv = write_inputs(tmp_path)
        run("init")
        gone = run("ingest", str(png), str(csv), "--user", "u1", "--json").json_lines()
        (kept,) = run("ingest", str(csv), "--user", "u2", "--json").json_lines()
        declined = run("erase", "--user", "u1", code=ExitCode.FINDINGS, stdin=b"n\n")
        assert declined.err.endswith("error: not erased\n")
        (report,) = run("erase", "--user", "u1", "--yes", "--json").json_lines()
        assert sorted(report["asset_ids"]) == sorted(a["id"] for a in gone)
        assert [a["id"] for a in run("ls", "--json").json_lines()] == [kept["id"]]
        (trail,) = run("show", kept["id"], "--json").json_lines()
        assert trail["asset"]["user_id"] == "u2"
        run.with_env(ASSET_CATALOG_TENANT="beta")("ingest", str(png))
        every = any_cli("usage", "--json").json_lines()  # no tenant: every tenant
        assert [(u["tenant_id"], u["assets"]) for u in every] == [("acme", 1), ("beta", 1)]

    def test_backfill_is_idempotent(self, any_cli: Cli, tmp_path: Path) -> None:
        """A directory of older files is catalogued (images recognised, the source in the
        metadata, an empty file refused with exit 3); a second run catalogues nothing new."""
        run = any_cli.with_env(ASSET_CATALOG_TENANT="acme")
        png, csv = write_inputs(tmp_path)
        legacy = tmp_path / "legacy"
        (legacy / "2024").mkdir(parents=True)
        (legacy / "2024" / png.name).write_bytes(png.read_bytes())
        (legacy / csv.name).write_bytes(CSV)
        (legacy / "empty.txt").write_bytes(b"")
        run("init")
        first = run("backfill", str(legacy), "--json", code=ExitCode.REFUSED)
        rows = first.json_lines()
        assert [(r["asset"]["filename"], r["new"]) for r in rows] == [
            ("report.csv", True),  # a directory's files, then its subdirectories
            ("chart.png", True),
        ]
        assert rows[1]["asset"]["asset_type"] == "image"
        assert rows[0]["asset"]["metadata"]["backfilled_from"] == (legacy / csv.name).as_uri()
        assert first.error_line().endswith("empty.txt: content: is empty")
        again = run("backfill", str(legacy), code=ExitCode.REFUSED)
        assert again.out.splitlines()[-1] == "0 catalogued, 2 already there, 1 refused"
        assert len(run("ls", "--json").json_lines()) == 2
        missing = run("backfill", str(tmp_path / "nowhere"), code=ExitCode.USAGE)
        assert "not a directory or prefix with files" in missing.error_line()

    def test_an_ingest_goes_on_past_a_refused_file(self, sqlite_cli: Cli, tmp_path: Path) -> None:
        """A file the catalog refuses is reported; the others are ingested; exit code 3. The
        progress bar (drawn on a terminal, forced here) does not get in the way."""
        big, small = tmp_path / "big.bin", tmp_path / "small.csv"
        big.write_bytes(b"\0" * (9 * 1024 * 1024))
        small.write_bytes(CSV)
        run = sqlite_cli.with_env(ASSET_CATALOG_TENANT="acme")
        run("init")
        ran = run.with_env(TTY_COMPATIBLE="1").__call__(
            "ingest", str(big), str(small), "--json", code=ExitCode.OK
        )
        assert [a["filename"] for a in ran.json_lines()] == ["big.bin", "small.csv"]
        empty = tmp_path / "empty.csv"
        empty.write_bytes(b"")  # the catalog refuses empty content
        refused = run("ingest", str(empty), str(small), "--json", code=ExitCode.REFUSED)
        assert [a["filename"] for a in refused.json_lines()] == ["small.csv"]
        assert refused.error_line().startswith(f"error: {empty}: ")


class TestCommandLine:
    """In-process checks of what needs no subprocess: help texts, durations, the script."""

    def test_every_command_has_an_example(self) -> None:
        ctx = click.Context(cli, info_name="asset-catalog")
        assert "Examples:" in cli.get_help(ctx)
        for name, command in cli.commands.items():
            text = command.get_help(click.Context(command, info_name=name, parent=ctx))
            example = text.split("Example", 1)[-1]
            assert "asset-catalog " in example, name
            assert f" {name}" in example, name

    def test_durations(self) -> None:
        assert parse_duration("30d").total_seconds() == 30 * 86400  # type: ignore[union-attr]
        assert parse_duration("12h").total_seconds() == 12 * 3600  # type: ignore[union-attr]
        assert parse_duration("90m").total_seconds() == 90 * 60  # type: ignore[union-attr]
        assert parse_duration("1d12h").total_seconds() == 36 * 3600  # type: ignore[union-attr]
        assert parse_duration("45").total_seconds() == 45  # type: ignore[union-attr]
        for bad in ("", "d", "1.5h", "-1d", "30 days", "1h 2m", "30y"):
            assert parse_duration(bad) is None, bad

    def test_the_console_script_is_main(self) -> None:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        assert project["scripts"] == {"asset-catalog": "asset_catalog.cli:main"}
        assert project["optional-dependencies"]["cli"] == ["click>=8.1", "rich>=13"]
        assert main.__module__ == "asset_catalog.cli._app"

    def test_help_runs_in_a_subprocess(self, sqlite_cli: Cli) -> None:
        ran = sqlite_cli("--help")
        assert "Usage: asset-catalog" in ran.out
        assert "Exit codes:" in ran.out
