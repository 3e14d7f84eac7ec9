"""Rate limits at work through the hub: a refused call is a JSON-RPC error with a retry-after hint."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
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
