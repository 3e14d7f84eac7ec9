"""OAuth bearer tokens at the hub's MCP edge, beside hub API keys, with protected-resource metadata."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest

pytestmark = pytest.mark.anyio

NOTES = Path(__file__).resolve().parents[3] / "examples" / "servers" / "notes.py"
KEY = "hub_oauth_edge_key_0000000000000000000000"
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


async def test_tokens_and_keys_both_reach_the_agents_servers(idp: Any, run_hub, make_hub_config, open_agent) -> None:
    config = make_hub_config(
        oauth={"issuer": idp.issuer, "jwks_url": idp.jwks_url, "audience": idp.audience, "required_scopes": ["mcp"]},
        upstreams=[{"name": "notes", "kind": "stdio", "command": sys.executable, "args": [str(NOTES)]}],
        virtual_servers=[{"name": "desk", "include": [{"upstream": "notes"}]}],
        agents=[{"name": "alice", "keys": [{"key": KEY}], "servers": [{"server": "desk"}]}],
    )
    with anyio.fail_after(30):
        async with run_hub(config) as running:
            async with open_agent("http-2026", running, "desk", idp.token(scope="mcp")) as client:
                by_token = sorted(t.name for t in (await client.list_tools()).tools)
            async with open_agent("http-legacy", running, "desk", KEY) as client:
                by_key = sorted(t.name for t in (await client.list_tools()).tools)
            url = running.server_url("desk")
            headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
            async with httpx2.AsyncClient() as http:
                no_scope = await http.post(
                    url, json=INIT, headers={**headers, "Authorization": f"Bearer {idp.token(scope='other')}"}
                )
                stranger = await http.post(
                    url, json=INIT, headers={**headers, "Authorization": f"Bearer {idp.token(scope='mcp', sub='eve')}"}
                )
                expired = await http.post(
                    url,
                    json=INIT,
                    headers={**headers, "Authorization": f"Bearer {idp.token(scope='mcp', exp=1)}"},
                )
                metadata = (await http.get(f"{running.url}/.well-known/oauth-protected-resource")).json()

    assert by_token == by_key == ["add_note", "get_note", "list_notes"]
    assert no_scope.status_code == 403
    assert no_scope.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="mcp"'
    assert stranger.status_code == 401
    assert expired.status_code == 401
    assert "resource_metadata=" in expired.headers["www-authenticate"]
    assert metadata["authorization_servers"] == [idp.issuer]
    assert metadata["resource"] == idp.audience
    assert metadata["scopes_supported"] == ["mcp"]


ECHO = Path(__file__).resolve().parents[2] / "servers" / "echo.py"


@pytest.mark.parametrize("transport", ["http-2026", "http-legacy"])
async def test_an_agents_credential_never_reaches_the_upstream(
    idp: Any, start_upstream, run_hub, make_hub_config, open_agent, transport: str
) -> None:
    """The hub presents its own (configured) credentials upstream; the agent's key or token stays at the edge."""
    token = idp.token(scope="mcp")
    async with start_upstream(ECHO, "--transport", "streamable-http") as url:
        upstream = {"kind": "streamable-http", "url": url, "headers": {"X-Hub-Upstream": "configured"}}
        config = make_hub_config(
            oauth={"issuer": idp.issuer, "jwks_url": idp.jwks_url, "audience": idp.audience},
            upstreams=[{"name": "lean", **upstream}, {"name": "sdk", **upstream, "lean_calls": False}],
            virtual_servers=[
                {"name": "desk", "prefix": "always", "include": [{"upstream": "lean"}, {"upstream": "sdk"}]}
            ],
            agents=[{"name": "alice", "keys": [{"key": KEY}], "servers": [{"server": "desk"}]}],
        )
        seen: list[str] = []
        with anyio.fail_after(30):
            async with run_hub(config) as running:
                for credential in (KEY, token):
                    async with open_agent(transport, running, "desk", credential) as client:
                        for tool in ("lean__headers", "sdk__headers"):
                            result = await client.call_tool(tool, {})
                            assert result.is_error is not True
                            seen.append(result.content[0].text)  # type: ignore[union-attr]
    assert len(seen) == 4
    for text in seen:
        received = json.loads(text)
        assert received["x-hub-upstream"] == "configured"
        assert "authorization" not in received
        assert KEY not in text
        assert token not in text
