"""The test suite of asset_catalog (a package, so its helper modules import as ``tests.*``)."""
