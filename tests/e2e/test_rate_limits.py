"""Rate limits at work through the hub: a refused call is a JSON-RPC error with a retry-after hint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[1] / "servers" / "echo.py"
KEYS = {"alice": "hub_alice_limit_e2e_key_00000000000000000", "bob": "hub_bob_limit_e2e_key_0000000000000000000"}


async def test_calls_over_the_limit_are_refused_with_a_retry_hint(run_hub, make_hub_config, open_agent) -> None:
    config = make_hub_config(
        upstreams=[{"name": "echo", "kind": "stdio", "command": sys.executable, "args": [str(ECHO)]}],
        virtual_servers=[{"name": "echo", "include": [{"upstream": "echo"}]}],
        agents=[{"name": n, "keys": [{"key": k}], "servers": [{"server": "echo"}]} for n, k in KEYS.items()],
        limits=[{"name": "alice-echo", "agents": ["alice"], "tools": ["echo"], "requests_per_minute": 2}],
    )
    with anyio.fail_after(30):
        async with run_hub(config) as running:
            async with open_agent("http-legacy", running, "echo", KEYS["alice"]) as alice:
                allowed = [await alice.call_tool("echo", {"text": str(i)}) for i in range(2)]
                with pytest.raises(MCPError) as refused:
                    await alice.call_tool("echo", {"text": "one too many"})
                other_tool = await alice.call_tool("pid", {})
            async with open_agent("http-2026", running, "echo", KEYS["bob"]) as bob:
                bobs = [await bob.call_tool("echo", {"text": str(i)}) for i in range(3)]
    assert [r.is_error for r in allowed] == [False, False]
    assert refused.value.code == -32007
    assert "rate limit 'alice-echo' reached (2 requests per minute)" in refused.value.message
    assert refused.value.data["limit"] == "alice-echo"
    assert 0 < refused.value.data["retry_after_s"] <= 30
    assert not other_tool.is_error
    assert [r.is_error for r in bobs] == [False, False, False]


def modern_call(tool: str, id_: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A raw 2026-07-28 tools/call: the body and the routing headers the protocol requires."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    body = {
        "jsonrpc": "2.0",
        "id": id_,
        "method": "tools/call",
        "params": {"name": tool, "arguments": {}, "_meta": meta},
    }
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }
    return body, headers


async def test_a_refused_2026_call_is_http_429_with_retry_after(run_hub, make_hub_config, open_agent) -> None:
    config = make_hub_config(
        upstreams=[{"name": "echo", "kind": "stdio", "command": sys.executable, "args": [str(ECHO)]}],
        virtual_servers=[{"name": "echo", "include": [{"upstream": "echo"}]}],
        agents=[{"name": "alice", "keys": [{"key": KEYS["alice"]}], "servers": [{"server": "echo"}]}],
        limits=[{"name": "alice-echo", "tools": ["echo"], "requests_per_minute": 2}],
    )
    with anyio.fail_after(30):
        async with run_hub(config) as running:
            async with open_agent("http-2026", running, "echo", KEYS["alice"]) as alice:
                allowed = [await alice.call_tool("echo", {"text": str(i)}) for i in range(2)]
                with pytest.raises(MCPError) as refused:
                    await alice.call_tool("echo", {"text": "one too many"})
            auth = {"Authorization": f"Bearer {KEYS['alice']}"}
            async with httpx2.AsyncClient(timeout=10) as http:
                body, headers = modern_call("echo", 7)
                raw = await http.post(running.server_url("echo"), json=body, headers={**headers, **auth})
                body, headers = modern_call("pid", 8)
                other = await http.post(running.server_url("echo"), json=body, headers={**headers, **auth})
    assert [r.is_error for r in allowed] == [False, False]
    assert refused.value.code == -32007  # the SDK client reads the JSON-RPC error from the 429's body
    assert refused.value.data["limit"] == "alice-echo"
    assert raw.status_code == 429
    assert int(raw.headers["retry-after"]) >= 1
    error = raw.json()
    assert (error["id"], error["error"]["code"], error["error"]["data"]["limit"]) == (7, -32007, "alice-echo")
    assert error["error"]["data"]["retry_after_s"] > 0
    assert other.status_code == 200
    assert "result" in other.json()
