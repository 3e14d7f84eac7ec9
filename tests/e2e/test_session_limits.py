"""`server.limits.max_sessions_per_agent`: one agent cannot hold every handshake-era session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
LIMIT = 2
KEYS = {"alice": "hub_alice_limits_key_000000000000000000000", "bob": "hub_bob_limits_key_0000000000000000000000"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


@pytest.fixture(scope="module")
async def limited_hub(run_hub, make_hub_config) -> AsyncIterator[object]:
    config = make_hub_config(
        server={"limits": {"max_sessions_per_agent": LIMIT}},
        virtual_servers=[{"name": "empty"}],
        agents=[{"name": name, "keys": [{"key": key}], "servers": [{"server": "empty"}]} for name, key in KEYS.items()],
    )
    async with run_hub(config) as running:
        yield running


def _headers(agent: str, **extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {KEYS[agent]}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        **extra,
    }


async def test_an_agent_at_its_session_limit_is_refused_until_one_ends(limited_hub) -> None:
    url = limited_hub.server_url("empty")
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient() as http:
            opened = [await http.post(url, json=INITIALIZE, headers=_headers("alice")) for _ in range(LIMIT)]
            refused = await http.post(url, json=INITIALIZE, headers=_headers("alice"))
            other_agent = await http.post(url, json=INITIALIZE, headers=_headers("bob"))
            modern = await http.post(
                url,
                json={
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "tools/list",
                    "params": {
                        "_meta": {
                            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                            "io.modelcontextprotocol/clientCapabilities": {},
                        }
                    },
                },
                headers=_headers("alice", **{"mcp-protocol-version": "2026-07-28", "mcp-method": "tools/list"}),
            )
            first = opened[0].headers["mcp-session-id"]
            ended = await http.delete(url, headers=_headers("alice", **{"mcp-session-id": first}))
            again = await http.post(url, json=INITIALIZE, headers=_headers("alice"))
            for response in [*opened[1:], other_agent, again]:
                await http.delete(
                    url,
                    headers=_headers(
                        "bob" if response is other_agent else "alice",
                        **{"mcp-session-id": response.headers["mcp-session-id"]},
                    ),
                )
    assert [r.status_code for r in opened] == [200] * LIMIT
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == -32007
    assert "session" in refused.json()["error"]["message"]
    assert other_agent.status_code == 200  # the limit is per agent
    assert modern.status_code == 200  # 2026-07-28 requests open no session
    assert ended.is_success
    assert again.status_code == 200
