"""``python -m asset_catalog.cli``: the same as the ``asset-catalog`` console script."""

from __future__ import annotations

from . import main

if __name__ == "__main__":
    main()
