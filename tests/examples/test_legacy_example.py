"""examples/legacy: one virtual server over an MCP server, a REST API and a SQLite database, run as documented.

`run.py --port 0` is started as a subprocess (it creates the database, starts the purchasing API
and serves hub.yaml); an SDK client then walks the README's story with one tool of each kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
KEY = "hub_demo_legacy_key_not_for_production"
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def legacy_hub(serve_process: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("legacy")
    with serve_process(
        str(ROOT / "examples" / "legacy" / "run.py"), "--port", "0", "--data", str(data), cwd=ROOT, ready=True
    ) as url:
        yield f"{url}/servers/backoffice/mcp"


def text_of(result: Any) -> str:
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_an_agent_reaches_the_mcp_server_the_rest_api_and_the_database(legacy_hub: str, mode: str) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    with anyio.fail_after(TIMEOUT):
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(legacy_hub, http_client=http), mode=mode) as agent,
        ):
            tools = {t.name for t in (await agent.list_tools()).tools}
            low = await agent.call_tool("below_reorder_level", {})  # SQL: a named query
            supplier = await agent.call_tool("getSupplier", {"supplier_id": "globex"})  # REST, from OpenAPI
            order = await agent.call_tool(
                "place_purchase_order", {"supplier_id": "globex", "sku": "DRILL-8", "quantity": 50}
            )
            refused = await agent.call_tool("query", {"sql": "DELETE FROM stock"})  # SQL: read-only query tool
            noted = await agent.call_tool("add_note", {"title": f"order-{mode}", "text": text_of(order)})  # MCP
            note = await agent.call_tool("get_note", {"title": f"order-{mode}"})
    assert {"add_note", "get_note", "getSupplier", "place_purchase_order", "below_reorder_level", "query"} <= tools
    assert "describe_table" not in tools  # excluded by the virtual server
    assert "createPurchaseOrder" not in tools  # renamed
    assert low.structured_content is not None
    assert [row[0] for row in low.structured_content["rows"]] == ["DRILL-8", "NUT-M6"]
    assert supplier.is_error is False
    assert supplier.structured_content is not None
    assert supplier.structured_content["lead_time_days"] == 7
    assert order.is_error is False
    assert order.structured_content is not None
    assert order.structured_content["status"] == "placed"
    assert refused.is_error is True
    assert text_of(refused) == "refused: only SELECT is allowed, got DELETE"
    assert noted.is_error is False
    assert "DRILL-8" in text_of(note)
