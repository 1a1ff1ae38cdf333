"""usage() and usage_by_tenant(): what each tenant stores now, from the counters."""

from __future__ import annotations

import pytest

from asset_catalog import AssetCatalog, AssetType
from asset_catalog._logic import queries

from .images import png_bytes


def test_every_tenants_usage_in_order(
    catalog: AssetCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Usage per tenant with live assets, in tenant id order, equal to usage(tenant),
    however the rows fall into batches (here two rows a batch); deleted assets and tenants
    with none left do not count."""
    monkeypatch.setattr(queries, "BATCH", 2)
    for tenant in ("t-c", "t-a", "t-b"):
        catalog.ingest_image(tenant, png_bytes(4, 4), tool_call_id=f"ig-{tenant}")
        catalog.ingest_upload(tenant, f"{tenant} notes".encode(), filename="n.txt")
    gone = catalog.ingest_upload("t-d", b"gone", filename="g.txt")
    catalog.delete("t-d", gone.id)
    every = catalog.usage_by_tenant()
    assert [u.tenant_id for u in every] == ["t-a", "t-b", "t-c"]
    assert list(every) == [catalog.usage(t) for t in ("t-a", "t-b", "t-c")]
    assert [sorted(e.asset_type for e in u.entries) for u in every] == [
        [AssetType.FILE, AssetType.IMAGE]
    ] * 3
    assert catalog.usage("t-d").assets == 0
