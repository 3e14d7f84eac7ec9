"""What an agent may reach: credentials, granted virtual servers, visible tools, its own sessions.

Hidden things answer exactly as missing ones do, so an agent cannot probe for what it was not given.
"""

from __future__ import annotations

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.mark.parametrize("path", ["mcp", "sse", "messages/"])
@pytest.mark.parametrize("authorization", [None, "Bearer hub_not_a_key", "Basic YWxpY2U6c2VjcmV0"])
async def test_no_or_bad_key_is_challenged(catalog_hub, path, authorization) -> None:
    headers = dict(ACCEPT) | ({"Authorization": authorization} if authorization else {})
    method = "GET" if path == "sse" else "POST"
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient() as http:
            response = await http.request(
                method, catalog_hub.server_url("assistant", path), json=INITIALIZE, headers=headers
            )
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert f'resource_metadata="{catalog_hub.url}/.well-known/oauth-protected-resource"' in challenge
    assert response.json()["error"]["code"] == -32003


@pytest.mark.parametrize(("path", "method"), [("mcp", "POST"), ("mcp", "GET"), ("sse", "GET"), ("messages/", "POST")])
async def test_ungranted_server_reads_like_a_missing_one(catalog_hub, keys, path, method) -> None:
    headers = {**ACCEPT, "Authorization": f"Bearer {keys.alice}"}
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient() as http:
            hidden = await http.request(
                method, catalog_hub.server_url("secret", path), json=INITIALIZE, headers=headers
            )
            missing = await http.request(
                method, catalog_hub.server_url("nosuch", path), json=INITIALIZE, headers=headers
            )
    assert hidden.status_code == missing.status_code == 404
    assert hidden.headers.get("content-type") == missing.headers.get("content-type")
    assert hidden.text.replace("secret", "X") == missing.text.replace("nosuch", "X")


async def _call_error(client, name: str) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.call_tool(name, {})
    return caught.value


HIDDEN = {
    "bob": [
        "remember",  # exposed, but not in bob's allow-list
        "test_simple_text",  # likewise, from another upstream
        "add_note",  # the upstream's original name of `remember`
    ],
    "alice": [
        "list_notes",  # excluded by the virtual server's selection
        "add_days",  # not matched by the selection's globs
        "add_note",  # the upstream's original name of `remember`
        "notes__get_note",  # prefixed names this server does not use
        "clock__now",
    ],
}


@pytest.mark.parametrize("agent", sorted(HIDDEN))
async def test_hidden_tool_reads_like_a_missing_one(catalog_hub, connect, keys, agent) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", getattr(keys, agent)) as client:
            missing = await _call_error(client, "no_such_tool")
            hidden = {name: await _call_error(client, name) for name in HIDDEN[agent]}
    assert missing.code == -32602
    for name, error in hidden.items():
        assert error.code == missing.code, name
        assert error.message.replace(name, "X") == missing.message.replace("no_such_tool", "X")
        assert error.data == missing.data


async def test_allow_list_narrows_what_is_listed(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.bob) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            note = await client.call_tool("get_note", {"title": "nothing here"})
    assert tools == ["get_note", "now"]
    assert note.is_error  # allowed: it reached the upstream, which had no such note


async def test_hidden_prompt_and_resource_read_like_missing_ones(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            with pytest.raises(MCPError) as hidden_prompt:
                await client.get_prompt("test_prompt_with_image")  # excluded by exclude_prompts
            with pytest.raises(MCPError) as missing_prompt:
                await client.get_prompt("no_such_prompt")
            with pytest.raises(MCPError) as hidden_resource:
                await client.read_resource("test://static-binary")  # not matched by the resource globs
            with pytest.raises(MCPError) as missing_resource:
                await client.read_resource("test://no-such-resource")
    assert hidden_prompt.value.code == missing_prompt.value.code
    assert hidden_prompt.value.message.replace("test_prompt_with_image", "X") == missing_prompt.value.message.replace(
        "no_such_prompt", "X"
    )
    assert hidden_resource.value.code == missing_resource.value.code
    assert hidden_resource.value.message.replace("static-binary", "X") == missing_resource.value.message.replace(
        "no-such-resource", "X"
    )


async def test_a_session_cannot_be_used_with_another_agents_key(catalog_hub, keys) -> None:
    url = catalog_hub.server_url("echo")
    list_tools = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient() as http:
            opened = await http.post(url, json=INITIALIZE, headers={**ACCEPT, "Authorization": f"Bearer {keys.alice}"})
            session = opened.headers["mcp-session-id"]
            session_headers = {**ACCEPT, "mcp-protocol-version": "2025-06-18"}
            stolen = await http.post(
                url,
                json=list_tools,
                headers={**session_headers, "Authorization": f"Bearer {keys.bob}", "mcp-session-id": session},
            )
            unknown = await http.post(
                url,
                json=list_tools,
                headers={**session_headers, "Authorization": f"Bearer {keys.bob}", "mcp-session-id": "0" * 32},
            )
            owner = await http.post(
                url,
                json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                headers={**session_headers, "Authorization": f"Bearer {keys.alice}", "mcp-session-id": session},
            )
            await http.delete(
                url, headers={**session_headers, "Authorization": f"Bearer {keys.alice}", "mcp-session-id": session}
            )
    assert opened.status_code == 200
    assert stolen.status_code == unknown.status_code == 404
    assert stolen.json() == unknown.json()
    assert owner.status_code == 202  # the session itself is unharmed
