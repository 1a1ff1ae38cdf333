"""A chat backend's asset pages in a few lines: capture what the agent made, then serve the
catalog's API (list, detail, events, delete, download URLs, downloads) and its Images / Files
page. Run ``uvicorn examples.host_app:app`` and open http://127.0.0.1:8000/api/assets/page
(the tenant comes from an ``X-Tenant`` header here: your auth decides in a real app)."""

import functools
import os
from typing import Annotated

from fastapi import Depends, FastAPI, Header
from openai import AsyncOpenAI

from asset_catalog import AsyncAssetCatalog, open_catalog
from asset_catalog.fastapi import PROBLEM_HANDLERS, PROBLEM_RESPONSES, HostId, assets_router
from asset_catalog.openai import aingest_response

catalog = AsyncAssetCatalog(
    open_catalog(
        os.environ.get("ASSET_DB_URL", "sqlite:///demo-data/assets.db"),
        os.environ.get("ASSET_STORAGE_URL", "file://./demo-data/blobs"),
        secret=os.environ.get("ASSET_SIGNING_KEY", "change-me-to-32-random-bytes-000"),
    )
)
TOOLS = [{"type": "image_generation"}, {"type": "code_interpreter", "container": {"type": "auto"}}]


def tenant(x_tenant: Annotated[HostId, Header()]) -> str:
    return x_tenant


openai_client = functools.cache(AsyncOpenAI)  # made on the first turn (needs OPENAI_API_KEY)
app = FastAPI(title="Chat host", exception_handlers=PROBLEM_HANDLERS)  # problems, not 422s
app.include_router(assets_router(catalog, tenant=tenant), prefix="/api")


@app.post("/api/conversations/{conversation_id}/turns", responses=PROBLEM_RESPONSES)
async def turn(
    conversation_id: HostId, prompt: str, tenant_id: str = Depends(tenant)
) -> dict[str, object]:
    client = openai_client()
    response = await client.responses.create(model="gpt-5", input=prompt, tools=TOOLS)
    report = await aingest_response(
        catalog, tenant_id, response, client=client, conversation_id=conversation_id
    )
    return {"text": response.output_text, "assets": [a.id for a in report.assets]}
