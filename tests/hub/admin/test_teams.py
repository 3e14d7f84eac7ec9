"""/admin/teams: a team's grants reach its members at once; references to and from teams are checked."""

from __future__ import annotations

import anyio
import pytest

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_a_team_made_at_run_time_grants_its_members(admin, running, make_catalog, mcp_status) -> None:
    key = await make_catalog(admin, running, server="assistant")
    with anyio.fail_after(TIMEOUT):
        vs = await admin.post("/virtual_servers", json={"name": "desk", "include": [{"upstream": "notes"}]})
        before = await mcp_status(running, "desk", key)
        team = await admin.post("/teams", json={"name": "support", "servers": [{"server": "desk"}]})
        joined = await admin.put("/agents/bot", json={"name": "bot", "team": "support", "servers": []})
        member = (await mcp_status(running, "desk", key), await mcp_status(running, "assistant", key))
        emptied = await admin.put("/teams/support", json={"name": "support", "servers": []})
        after = await mcp_status(running, "desk", key)
        listed = (await admin.get("/teams")).json()
    assert (vs.status_code, team.status_code, joined.status_code, emptied.status_code) == (201, 201, 200, 200)
    assert before == 404
    assert member == (200, 404)  # the team's server, and no longer the agent's own grant
    assert after == 404
    assert [(t["name"], t["source"], t["config"]["servers"]) for t in listed] == [("support", "admin", [])]


async def test_team_references_are_checked(admin, running, make_catalog) -> None:
    await make_catalog(admin, running, server="assistant")
    with anyio.fail_after(TIMEOUT):
        unknown_server = await admin.post("/teams", json={"name": "t", "servers": [{"server": "nowhere"}]})
        unknown_team = await admin.put("/agents/bot", json={"name": "bot", "team": "nobody"})
        await admin.post("/teams", json={"name": "support", "servers": [{"server": "assistant"}]})
        await admin.put("/agents/bot", json={"name": "bot", "team": "support"})
        team_in_use = await admin.delete("/teams/support")
        server_in_use = await admin.delete("/virtual_servers/assistant")
    assert unknown_server.status_code == 422
    assert unknown_server.json()["error"]["errors"][0]["loc"] == "servers[0].server"
    assert unknown_team.status_code == 422
    assert "team 'nobody' is not defined" in unknown_team.text
    assert team_in_use.status_code == 409
    assert team_in_use.json()["error"]["agents"] == ["bot"]
    assert server_in_use.status_code == 409
    assert server_in_use.json()["error"]["teams"] == ["support"]
