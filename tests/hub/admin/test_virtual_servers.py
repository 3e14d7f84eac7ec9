"""/admin/virtual_servers and /admin/agents: references checked on every write, changes served at once."""

from __future__ import annotations

import anyio
import pytest

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_a_virtual_server_naming_an_unknown_upstream_is_refused_with_its_path(admin, notes_upstream) -> None:
    with anyio.fail_after(TIMEOUT):
        await admin.post("/upstreams", json=notes_upstream(enabled=False))
        response = await admin.post(
            "/virtual_servers", json={"name": "vs", "include": [{"upstream": "notes"}, {"upstream": "gihub"}]}
        )
        listed = (await admin.get("/virtual_servers")).json()
    assert response.status_code == 422
    [error] = response.json()["error"]["errors"]
    assert error == {"loc": "include[1].upstream", "message": "upstream 'gihub' is not defined"}
    assert listed == []


async def test_an_agent_granted_an_unknown_server_or_given_keys_is_refused(admin) -> None:
    with anyio.fail_after(TIMEOUT):
        unknown = await admin.post("/agents", json={"name": "bot", "servers": [{"server": "nope"}]})
        with_keys = await admin.post("/agents", json={"name": "bot", "keys": [{"key": "hub_x"}]})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["errors"][0]["loc"] == "servers[0].server"
    assert with_keys.status_code == 422
    assert with_keys.json()["error"]["errors"][0]["loc"] == "keys"
    assert "hub_x" not in with_keys.text


async def test_a_granted_virtual_server_cannot_be_deleted(admin, running, make_catalog) -> None:
    await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        refused = await admin.delete("/virtual_servers/assistant")
    assert refused.status_code == 409
    assert refused.json()["error"]["agents"] == ["bot"]


async def test_a_changed_virtual_server_is_served_at_once(admin, running, make_catalog, agent_client) -> None:
    key = await make_catalog(admin, running)
    narrowed = {"name": "assistant", "include": [{"upstream": "notes", "tools": ["get_note"]}]}
    with anyio.fail_after(TIMEOUT):
        replaced = await admin.put("/virtual_servers/assistant", json=narrowed)
        async with agent_client(running, "assistant", key) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
        shown = (await admin.get("/virtual_servers/assistant")).json()
    assert replaced.status_code == 200
    assert tools == ["get_note"]
    assert shown["config"]["include"][0]["tools"] == ["get_note"]


async def test_a_changed_grant_is_served_at_once(admin, running, make_catalog, agent_client) -> None:
    key = await make_catalog(admin, running)
    grant = {"name": "bot", "servers": [{"server": "assistant", "tools": ["list_notes"]}]}
    with anyio.fail_after(TIMEOUT):
        replaced = await admin.put("/agents/bot", json=grant)
        async with agent_client(running, "assistant", key) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
    assert replaced.status_code == 200
    assert tools == ["list_notes"]


async def test_a_deleted_agent_loses_its_keys(admin, running, make_catalog, mcp_status) -> None:
    key = await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        before = await mcp_status(running, "assistant", key)
        deleted = await admin.delete("/agents/bot")
        after = await mcp_status(running, "assistant", key)
        keys = await admin.get("/agents/bot/keys")
    assert (before, deleted.status_code, after) == (200, 204, 401)
    assert keys.status_code == 404
