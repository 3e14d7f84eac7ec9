"""A database behind a hub virtual server, called by an official MCP SDK client: selection, renames, grants, limits.

One hub serves the module: `shop` is a seeded SQLite database, `crm` a PostgreSQL URL where nothing
listens. The virtual server exposes shop's tools renamed and narrowed; the agent's grant narrows further.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, TextContent

pytestmark = pytest.mark.anyio

KEY = "hub_sql_e2e_key_000000000000000000000000"
TIMEOUT = 30.0
TRANSPORTS = ["http-legacy", "http-2026"]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
async def sql_hub(run_hub, make_hub_config, harness, tmp_path_factory) -> AsyncIterator[Any]:
    async with harness.database("sqlite", tmp_path_factory.mktemp("shop")) as url:
        await harness.execute(
            url,
            "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC)",
            "INSERT INTO items VALUES (1, 'apple', 1.5), (2, 'pear', 2.25), (3, 'plum', 0.75)",
        )
        by_name = {
            "name": "item_by_name",
            "sql": "SELECT id, name, price FROM items WHERE name = :name",
            "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
        }
        config = make_hub_config(
            upstreams=[
                {
                    "name": "shop",
                    "kind": "sql",
                    "url": url,
                    "tools": [by_name],
                    "generic_tools": ["list_tables", "describe_table", "query"],
                },
                {
                    "name": "crm",
                    "kind": "sql",
                    "url": f"postgresql://crm:s3cret@127.0.0.1:{_unused_port()}/crm",
                    "generic_tools": ["query"],
                    "connect_timeout_s": 2,
                },
            ],
            virtual_servers=[
                {
                    "name": "data",
                    "prefix": "on_collision",
                    "include": [
                        {
                            "upstream": "shop",
                            "exclude_tools": ["describe_table"],
                            "rename": {"item_by_name": "find_item"},
                            "descriptions": {"item_by_name": "Look up a product by its exact name"},
                        },
                        {"upstream": "crm"},
                    ],
                }
            ],
            agents=[
                {
                    "name": "analyst",
                    "keys": [{"key": KEY}],
                    "servers": [{"server": "data", "tools": ["find_item", "*query"]}],
                }
            ],
            limits=[{"name": "finder", "tools": ["find_item"], "scope": "tool", "requests_per_minute": 3}],
        )
        async with run_hub(config) as running:
            yield running


def text_of(result: Any) -> str:
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_an_agent_sees_the_database_tools_as_the_virtual_server_shapes_them(
    sql_hub, open_agent, transport
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent(transport, sql_hub, "data", KEY) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    # list_tables is hidden by the grant, describe_table by the selection; both upstreams' `query` collide: prefixed.
    assert sorted(tools) == ["crm__query", "find_item", "shop__query"]
    assert tools["find_item"].description == "Look up a product by its exact name"
    assert tools["find_item"].input_schema["required"] == ["name"]
    assert tools["find_item"].output_schema is not None
    assert tools["find_item"].annotations is not None
    assert tools["find_item"].annotations.read_only_hint is True


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_calls_reach_the_database_and_answer_with_rows(sql_hub, open_agent, transport) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent(transport, sql_hub, "data", KEY) as client:
            found = await client.call_tool("shop__query", {"sql": "SELECT name FROM items WHERE price < 2 ORDER BY id"})
            refused = await client.call_tool("shop__query", {"sql": "SELECT 1; DROP TABLE items"})
            injected = await client.call_tool("shop__query", {"sql": "SELECT count(*) AS n FROM items"})
    assert found.is_error is False
    assert found.structured_content == {
        "columns": ["name"],
        "rows": [["apple"], ["plum"]],
        "row_count": 2,
        "truncated": False,
    }
    assert "apple" in text_of(found)
    assert refused.is_error is True
    assert text_of(refused) == "refused: only one statement is allowed, got 2"
    assert injected.structured_content is not None
    assert injected.structured_content["rows"] == [[3]]


async def test_bad_arguments_are_invalid_params_naming_the_field(sql_hub, open_agent) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-legacy", sql_hub, "data", KEY) as client:
            with pytest.raises(MCPError) as caught:
                await client.call_tool("shop__query", {"sql": 42})
    assert caught.value.code == INVALID_PARAMS
    assert "sql" in caught.value.message
    assert "is not of type 'string'" in caught.value.message


async def test_a_down_database_is_a_tool_error_while_the_other_keeps_serving(sql_hub, open_agent) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-2026", sql_hub, "data", KEY) as client:
            down = await client.call_tool("crm__query", {"sql": "SELECT 1"})
            up = await client.call_tool("shop__query", {"sql": "SELECT 1 AS one"})
        async with httpx2.AsyncClient() as http:
            ready = await http.get(f"{sql_hub.url}/ready")
    assert down.is_error is True
    assert text_of(down).startswith("database 'crm' is unreachable: ")
    assert "s3cret" not in text_of(down)
    assert up.is_error is False
    assert ready.status_code == 503
    assert ready.json()["upstreams"] == {"shop": "ready", "crm": "down"}


async def test_database_tools_are_rate_limited_like_any_other(sql_hub, open_agent) -> None:
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-legacy", sql_hub, "data", KEY) as client:
            answers = [await client.call_tool("find_item", {"name": "pear"}) for _ in range(3)]
            with pytest.raises(MCPError) as limited:
                await client.call_tool("find_item", {"name": "pear"})
    assert [a.structured_content["rows"] for a in answers if a.structured_content] == [[[2, "pear", 2.25]]] * 3
    assert limited.value.code == -32007
