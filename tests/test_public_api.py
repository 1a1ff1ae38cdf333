"""The public surface: what `import asset_catalog` offers and what it does not import."""

from __future__ import annotations

import subprocess
import sys
import types

import asset_catalog
from asset_catalog import exceptions


class TestPublicApi:
    """asset_catalog re-exports its public names explicitly."""

    def test_all_is_sorted_and_complete(self) -> None:
        """__all__ is sorted and equals the public names the package defines."""
        public = {
            name
            for name, value in vars(asset_catalog).items()
            if not name.startswith("_")
            and not isinstance(value, types.ModuleType)
            and name not in {"annotations", "version", "PackageNotFoundError"}
        }
        assert sorted(asset_catalog.__all__, key=str.lower) == sorted(
            set(asset_catalog.__all__), key=str.lower
        )
        assert set(asset_catalog.__all__) - {"__version__"} == public

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
        assert issubclass(exceptions.MissingDependency, ImportError)

    def test_import_pulls_in_no_optional_dependency(self) -> None:
        """Importing the package loads no psycopg, s3fs, boto or web framework."""
        code = (
            "import sys, asset_catalog;"
            "bad = [m for m in ('psycopg', 's3fs', 'botocore', 'PIL', 'flask', 'fastapi', 'pytest')"
            " if m in sys.modules]; print(bad)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert out.strip() == "[]"
