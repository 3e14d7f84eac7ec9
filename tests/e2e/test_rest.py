"""A REST service behind a virtual server: an official MCP client lists and calls its OpenAPI tools through the hub."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from hub.config.model import HubConfig
from hub.errors import INVALID_PARAMS

if TYPE_CHECKING:
    from conftest import RunningHub

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
ALICE = "hub_alice_rest_e2e_key_000000000000000000"
BOB = "hub_bob_rest_e2e_key_00000000000000000000"
TOKEN = "rest-e2e-upstream-token"
BOB_TOOLS = ["get_item", "search"]


@pytest.fixture(scope="module")
async def rest_hub(
    start_upstream: Callable[..., AbstractAsyncContextManager[str]],
    run_hub: Callable[[HubConfig], AbstractAsyncContextManager[RunningHub]],
    make_hub_config: Callable[..., HubConfig],
    servers: dict[str, Any],
) -> AsyncIterator[RunningHub]:
    async with start_upstream(servers["echo"].parent / "rest_service.py") as service:
        config = make_hub_config(
            upstreams=[
                {
                    "name": "shop",
                    "kind": "rest",
                    "openapi": {"source": f"{service}/api/openapi.json", "tags": ["items", "errors"]},
                    "auth": {"type": "bearer", "token": TOKEN},
                }
            ],
            virtual_servers=[
                {
                    "name": "store",
                    "include": [
                        {
                            "upstream": "shop",
                            "exclude_tools": ["deleteItem"],
                            "rename": {"getItem": "get_item"},
                            "descriptions": {"search": "Find items by text."},
                        }
                    ],
                }
            ],
            agents=[
                {"name": "alice", "keys": [{"key": ALICE}], "servers": [{"server": "store"}]},
                {"name": "bob", "keys": [{"key": BOB}], "servers": [{"server": "store", "tools": BOB_TOOLS}]},
            ],
        )
        async with run_hub(config) as running:
            yield running


@pytest.mark.parametrize("transport", ["http-2026", "http-legacy"])
async def test_an_agent_lists_and_calls_rest_tools(
    rest_hub: RunningHub, open_agent: Callable[..., AbstractAsyncContextManager[Client]], transport: str
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent(transport, rest_hub, "store", ALICE) as client:
            tools = {tool.name: tool for tool in (await client.list_tools()).tools}
            item = await client.call_tool("get_item", {"item_id": "42", "verbose": True, "X-Trace": "e2e"})
            created = await client.call_tool("createItem", {"name": "bolt", "kind": "part", "price": 0.25})
            missing = await client.call_tool("status", {"code": 404})
    assert set(tools) == {"get_item", "createItem", "search", "status"}  # deleteItem excluded, media untagged
    assert tools["search"].description == "Find items by text."
    assert tools["get_item"].input_schema["required"] == ["item_id"]
    assert not item.is_error
    assert item.structured_content is not None
    received = item.structured_content["received"]
    assert received["raw_path"] == "/api/items/42"
    assert received["query"] == "verbose=true"
    assert received["headers"] == {"x-trace": "e2e", "authorization": f"Bearer {TOKEN}"}
    assert created.structured_content is not None
    assert created.structured_content["received"]["body"] == {"name": "bolt", "kind": "part", "price": 0.25}
    assert missing.is_error
    assert missing.content[0].text.startswith("HTTP 404")  # type: ignore[union-attr]


async def test_invalid_arguments_are_invalid_params_naming_the_field(
    rest_hub: RunningHub, open_agent: Callable[..., AbstractAsyncContextManager[Client]]
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-2026", rest_hub, "store", ALICE) as client:
            with pytest.raises(MCPError) as wrong_enum:
                await client.call_tool("createItem", {"name": "bolt", "kind": "screw"})
            with pytest.raises(MCPError) as missing:
                await client.call_tool("get_item", {"verbose": True})
            with pytest.raises(MCPError) as injected:
                await client.call_tool("get_item", {"item_id": "1", "X-Trace": "a\r\nX-Admin: 1"})
    assert wrong_enum.value.code == missing.value.code == injected.value.code == INVALID_PARAMS
    assert "'kind'" in wrong_enum.value.message
    assert "'tool', 'part'" in wrong_enum.value.message
    assert "'item_id'" in missing.value.message
    assert "required" in missing.value.message
    assert "'X-Trace'" in injected.value.message


async def test_a_grant_that_leaves_out_a_rest_tool_hides_it(
    rest_hub: RunningHub, open_agent: Callable[..., AbstractAsyncContextManager[Client]]
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-legacy", rest_hub, "store", BOB) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            with pytest.raises(MCPError) as hidden:
                await client.call_tool("createItem", {"name": "bolt", "kind": "part"})
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("no_such_tool", {})
            allowed = await client.call_tool("search", {"q": "nut", "limit": 1})
    assert names == {"get_item", "search"}
    assert hidden.value.code == unknown.value.code == INVALID_PARAMS
    assert hidden.value.message.replace("createItem", "X") == unknown.value.message.replace("no_such_tool", "X")
    assert allowed.structured_content == {"result": [{"id": 0, "title": "nut 0"}]}


async def test_the_rest_upstream_reports_ready(rest_hub: RunningHub) -> None:
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient() as http:
            ready = await http.get(f"{rest_hub.url}/ready")
    assert ready.json() == {"ready": True, "upstreams": {"shop": "ready"}}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_rest_upstream_whose_document_is_down_leaves_the_others_serving(
    start_upstream: Callable[..., AbstractAsyncContextManager[str]],
    run_hub: Callable[[HubConfig], AbstractAsyncContextManager[RunningHub]],
    make_hub_config: Callable[..., HubConfig],
    open_agent: Callable[..., AbstractAsyncContextManager[Client]],
    servers: dict[str, Any],
) -> None:
    gone = f"http://127.0.0.1:{_closed_port()}/api/openapi.json"
    async with start_upstream(servers["echo"].parent / "rest_service.py") as service:
        config = make_hub_config(
            upstreams=[
                {"name": "gone", "kind": "rest", "openapi": {"source": gone}},
                {
                    "name": "shop",
                    "kind": "rest",
                    "openapi": {"source": f"{service}/api/openapi.json", "tags": ["items"]},
                },
            ],
            virtual_servers=[{"name": "store", "include": [{"upstream": "gone"}, {"upstream": "shop"}]}],
            agents=[{"name": "alice", "keys": [{"key": ALICE}], "servers": [{"server": "store"}]}],
        )
        async with run_hub(config) as running:
            with anyio.fail_after(TIMEOUT):
                async with open_agent("http-2026", running, "store", ALICE) as client:
                    names = {tool.name for tool in (await client.list_tools()).tools}
                    found = await client.call_tool("search", {"q": "x", "limit": 1})
                async with httpx2.AsyncClient() as http:
                    ready = await http.get(f"{running.url}/ready")
            health = {h.name: h for h in running.hub.upstreams.health()}
    assert names == {"getItem", "deleteItem", "createItem", "search"}
    assert not found.is_error
    assert ready.status_code == 503
    assert ready.json()["upstreams"] == {"gone": "down", "shop": "ready"}
    assert health["gone"].detail.startswith("cannot fetch the document: ")
