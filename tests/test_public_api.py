"""The public surface: what `import asset_catalog` offers, what it raises, what the docs say."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fsspec
import pytest

import asset_catalog
from asset_catalog import (
    AssetCatalog,
    InvalidInput,
    MissingDependency,
    UnsupportedOperation,
    UrlSigner,
    exceptions,
    open_catalog,
    testing,
)
from asset_catalog.sql import PostgresRepository, SqliteRepository, build_tables
from asset_catalog.storage import FsspecStorage

ROOT = Path(__file__).resolve().parent.parent
SOURCE = Path(asset_catalog.__file__).parent
API_DOC = (ROOT / "docs" / "api.md").read_text()
SECRET = "a-long-random-secret-for-tests"
PUBLIC_MODULES = {
    name: importlib.import_module(f"asset_catalog.{name}")
    for name in ("exceptions", "protocols", "sql", "storage", "fastapi", "flask", "cli")
}


def assigned_names(path: Path) -> set[str]:
    """The names a module's own top-level statements assign (constants, aliases)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def raised_names() -> dict[str, list[str]]:
    """Every class name after ``raise`` in the library's source, with where it is raised."""
    found: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name[:1].isupper():  # a class; lower-case names are errors built elsewhere
                where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                found.setdefault(name, []).append(where)
    return found


def constructed_errors() -> set[str]:
    """Every error class the library's source builds (to raise, or to return for raising)."""
    built = set()
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            func = node.func if isinstance(node, ast.Call) else None
            if isinstance(func, ast.Name) and func.id in exceptions.__all__:
                built.add(func.id)
    return built


def documented_error_tree() -> set[str]:
    """The class names in the error tree drawn in docs/api.md."""
    tree = API_DOC.split("## Errors", 1)[1].split("```", 2)[1]
    return set(re.findall(r"^[│├└─\s]*([A-Z]\w+)\(?", tree, re.MULTILINE))


class TestPublicApi:
    """asset_catalog re-exports its public names explicitly."""

    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ has no duplicates and equals the public names the package defines."""
        public = {
            name
            for name, value in vars(asset_catalog).items()
            if not name.startswith("_")
            and not isinstance(value, types.ModuleType)
            and name not in {"annotations", "version", "PackageNotFoundError"}
        }
        assert len(asset_catalog.__all__) == len(set(asset_catalog.__all__))
        assert set(asset_catalog.__all__) - {"__version__"} == public

    @pytest.mark.parametrize("name", sorted(PUBLIC_MODULES))
    def test_public_modules_export_what_they_define(self, name: str) -> None:
        """Each public sub-module's __all__ names exactly its public attributes."""
        module = PUBLIC_MODULES[name]
        assigned = assigned_names(Path(str(module.__file__)))
        defined = {
            attr
            for attr, value in vars(module).items()
            if not attr.startswith("_")
            and not isinstance(value, types.ModuleType)
            and (getattr(value, "__module__", "").startswith(module.__name__) or attr in assigned)
        }
        assert set(module.__all__) >= defined - {"annotations"}
        for attr in module.__all__:
            assert hasattr(module, attr), attr

    def test_the_top_level_has_no_backends(self) -> None:
        """Backends live in asset_catalog.sql and asset_catalog.storage only."""
        for name in ("SqliteRepository", "PostgresRepository", "FsspecStorage", "build_tables"):
            assert not hasattr(asset_catalog, name), name

    def test_version_comes_from_the_package_metadata(self) -> None:
        """__version__ is the installed distribution's version, not a copy."""
        from importlib.metadata import version

        assert asset_catalog.__version__ == version("asset-catalog")

    def test_import_pulls_in_no_optional_dependency(self) -> None:
        """Importing the package loads no psycopg, s3fs, boto, web framework or CLI toolkit."""
        code = (
            "import sys, asset_catalog, asset_catalog.sql, asset_catalog.storage;"
            "bad = [m for m in ('psycopg', 's3fs', 'botocore', 'PIL', 'flask', 'fastapi', 'pytest',"
            " 'click', 'rich') if m in sys.modules]; print(bad)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[]"

    @pytest.mark.parametrize(
        ("module", "blocked", "extra"),
        [
            ("asset_catalog.openai", "openai", "openai"),
            ("asset_catalog.openai_agents", "agents", "agents"),
            ("asset_catalog.fastapi", "fastapi", "fastapi"),
            ("asset_catalog.flask", "flask", "flask"),
            ("asset_catalog.cli", "click", "cli"),
            ("asset_catalog.cli", "rich", "cli"),
        ],
    )
    def test_an_integration_without_its_sdk_names_the_extra(
        self, module: str, blocked: str, extra: str
    ) -> None:
        """Importing an integration without its SDK raises MissingDependency naming it."""
        code = (
            f"import sys; sys.modules[{blocked!r}] = None\n"
            f"try:\n    import {module}\n"
            "except ImportError as exc:\n    print(type(exc).__name__, exc)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.startswith("MissingDependency ")
        assert f"pip install 'asset-catalog[{extra}]'" in out

    def test_testing_without_pytest_names_the_extra(self) -> None:
        """asset_catalog.testing without pytest raises MissingDependency naming 'testing'."""
        code = (
            "import sys; sys.modules['pytest'] = None\n"
            "try:\n    import asset_catalog.testing\n"
            "except ImportError as exc:\n    print(type(exc).__name__, exc)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.startswith("MissingDependency ")
        assert "pip install 'asset-catalog[testing]'" in out
        assert testing.RepositoryContract  # with pytest, it imports


class TestErrors:
    """One error tree, exported whole, documented whole, and the only thing raised."""

    def test_every_error_derives_from_the_root(self) -> None:
        """Each exported error class is an AssetCatalogError."""
        for name in exceptions.__all__:
            assert issubclass(getattr(exceptions, name), exceptions.AssetCatalogError)

    def test_errors_inherit_the_builtin_a_caller_would_catch(self) -> None:
        """Not-found is a LookupError, bad input a ValueError, storage an OSError."""
        assert issubclass(exceptions.AssetNotFound, LookupError)
        assert issubclass(exceptions.InvalidInput, ValueError)
        assert issubclass(exceptions.PayloadTooLarge, exceptions.InvalidInput)
        assert issubclass(exceptions.StorageError, OSError)
        assert issubclass(exceptions.RepositoryError, RuntimeError)
        assert issubclass(exceptions.MissingDependency, ImportError)

    def test_every_error_is_importable_from_the_top_level(self) -> None:
        """Each error of asset_catalog.exceptions is also in asset_catalog.__all__."""
        assert set(exceptions.__all__) <= set(asset_catalog.__all__)

    def test_the_library_raises_only_its_own_errors(self) -> None:
        """Every ``raise`` in the source raises a class of asset_catalog.exceptions (or is
        part of a protocol of the language: the iterator's end, asyncio's cancellation)."""
        protocol = {"StopIteration", "CancelledError"}
        foreign = {
            name: places
            for name, places in raised_names().items()
            if name not in exceptions.__all__ and name not in protocol
        }
        assert foreign == {}

    def test_every_exported_error_is_raised_somewhere(self) -> None:
        """No error class is exported that the library never builds to raise."""
        abstract = {"AssetCatalogError", "SignatureError"}
        assert set(exceptions.__all__) - abstract <= constructed_errors()

    def test_the_documented_tree_is_the_exported_tree(self) -> None:
        """docs/api.md draws exactly the exported error classes."""
        assert documented_error_tree() == set(exceptions.__all__)


class TestDocumented:
    """docs/api.md names every public name."""

    def test_every_top_level_name_is_in_the_api_reference(self) -> None:
        """Each name of asset_catalog.__all__ appears in docs/api.md."""
        names = [n for n in asset_catalog.__all__ if n != "__version__"]
        missing = [n for n in names if not re.search(rf"\b{n}\b", API_DOC)]
        assert missing == []

    @pytest.mark.parametrize(
        "name",
        [
            "protocols",
            "sql",
            "storage",
            "testing",
            "openai",
            "openai_agents",
            "fastapi",
            "flask",
            "cli",
        ],
    )
    def test_every_sub_module_name_is_in_the_api_reference(self, name: str) -> None:
        """Each public name of the sub-modules appears in docs/api.md."""
        module = importlib.import_module(f"asset_catalog.{name}")
        assert f"asset_catalog.{name}" in API_DOC
        missing = [n for n in module.__all__ if n not in API_DOC]
        assert missing == []

    def test_limits_are_the_ones_enforced(self, tmp_path: Path) -> None:
        """The exported limits are the ones the catalog applies."""
        catalog = open_catalog(f"sqlite:///{tmp_path / 'a.db'}", "memory://limits", secret=SECRET)
        with pytest.raises(InvalidInput, match=str(asset_catalog.MAX_LIST_LIMIT)):
            catalog.list("t", limit=asset_catalog.MAX_LIST_LIMIT + 1)
        catalog.list("t", limit=asset_catalog.MAX_LIST_LIMIT)
        with pytest.raises(InvalidInput, match="tenant_id"):
            catalog.list("t" * (asset_catalog.MAX_HOST_ID_LENGTH + 1))
        ids = [f"a{n}" for n in range(asset_catalog.MAX_PRESIGN_BATCH + 1)]
        with pytest.raises(InvalidInput, match="asset_ids"):
            catalog.presign_many("t", ids)
        assert catalog.presign_many("t", ids[:-1]).missing == tuple(ids[:-1])
        with pytest.raises(InvalidInput, match="expires_in"):
            catalog.presign_many("t", [], expires_in=asset_catalog.MAX_EXPIRES_IN + 1)
        assert catalog.max_bytes == asset_catalog.DEFAULT_MAX_BYTES
        catalog.close()


def _nonsense_engine() -> Any:
    return SqliteRepository("nonsense://")


CONSTRUCTORS: dict[str, tuple[type[Exception], Callable[[], object]]] = {
    "sqlite-nonsense-url": (InvalidInput, _nonsense_engine),
    "sqlite-postgres-url": (InvalidInput, lambda: SqliteRepository("postgresql://u@h/db")),
    "sqlite-not-a-url": (InvalidInput, lambda: SqliteRepository(42)),  # type: ignore[arg-type]
    "sqlite-synchronous": (InvalidInput, lambda: SqliteRepository("sqlite://", synchronous="x")),
    "sqlite-busy-timeout": (
        InvalidInput,
        lambda: SqliteRepository("sqlite://", busy_timeout_ms=-1),
    ),
    "postgres-sqlite-url": (InvalidInput, lambda: PostgresRepository("sqlite://")),
    "postgres-driver": (InvalidInput, lambda: PostgresRepository("postgresql+asyncpg://u@h/db")),
    "postgres-tables-and-schema": (
        InvalidInput,
        lambda: PostgresRepository("postgresql://u@h/db", tables=build_tables(), schema="s"),
    ),
    "signer-short": (InvalidInput, lambda: UrlSigner("short")),
    "signer-none": (InvalidInput, lambda: UrlSigner(None)),  # type: ignore[arg-type]
    "signer-key-id": (InvalidInput, lambda: UrlSigner({1: SECRET})),  # type: ignore[dict-item]
    "signer-empty": (InvalidInput, lambda: UrlSigner({})),
    "signer-active": (InvalidInput, lambda: UrlSigner({"a": SECRET, "b": SECRET})),
    "signer-base-url": (InvalidInput, lambda: UrlSigner(SECRET, base_url=None)),  # type: ignore[arg-type]
    "storage-url": (InvalidInput, lambda: FsspecStorage.from_url("nope://x")),
    "storage-fs": (InvalidInput, lambda: FsspecStorage("not a filesystem", "/r")),  # type: ignore[arg-type]
    "storage-root": (InvalidInput, lambda: FsspecStorage(fsspec.filesystem("memory"), 1)),  # type: ignore[arg-type]
    "tables-ondelete": (
        InvalidInput,
        lambda: build_tables(conversation_ondelete="CASCADE"),  # type: ignore[arg-type]
    ),
    "catalog-repository": (
        InvalidInput,
        lambda: AssetCatalog(
            repository=object(),  # type: ignore[arg-type]
            storage=FsspecStorage.from_url("memory://x"),
            signer=UrlSigner(SECRET),
        ),
    ),
    "catalog-max-bytes": (
        InvalidInput,
        lambda: AssetCatalog(
            repository=SqliteRepository("sqlite://"),
            storage=FsspecStorage.from_url("memory://x"),
            signer=UrlSigner(SECRET),
            max_bytes=0,
        ),
    ),
    "open-secret-none": (
        InvalidInput,
        lambda: open_catalog("sqlite://", "memory://x", secret=None),  # type: ignore[arg-type]
    ),
    "open-database-url": (InvalidInput, lambda: open_catalog("::", "memory://x", secret=SECRET)),
    "open-unknown-database": (
        UnsupportedOperation,
        lambda: open_catalog("mysql://u@h/db", "memory://x", secret=SECRET),
    ),
    "open-storage-options": (
        InvalidInput,
        lambda: open_catalog("sqlite://", "memory://x", secret=SECRET, storage_options=[1]),  # type: ignore[arg-type]
    ),
}


class TestConstructors:
    """Every constructor refuses bad configuration with the library's own error."""

    @pytest.mark.parametrize("case", sorted(CONSTRUCTORS))
    def test_bad_configuration_is_a_typed_error(self, case: str) -> None:
        """The error is the library's (never a bare TypeError, ValueError or SQLAlchemy's)."""
        expected, build = CONSTRUCTORS[case]
        with pytest.raises(exceptions.AssetCatalogError) as info:
            build()
        assert type(info.value) is expected, info.value

    def test_a_missing_driver_names_the_extra(self) -> None:
        """MissingDependency is an ImportError that says what to install."""
        error = MissingDependency("postgres", "psycopg")
        assert isinstance(error, ImportError)
        assert "pip install 'asset-catalog[postgres]'" in str(error)
