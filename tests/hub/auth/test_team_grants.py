"""Teams through the hub: grants shared by a team's agents, reached by hub API keys and by tokens' groups."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError

from hub.errors import LIMIT_EXCEEDED

pytestmark = pytest.mark.anyio

NOTES = Path(__file__).resolve().parents[3] / "examples" / "servers" / "notes.py"
SAM = "hub_sam_support_team_key_000000000000000"  # team support
FAY = "hub_fay_finance_team_key_000000000000000"  # team finance
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


def team_config(make_hub_config: Any, idp: Any, **extra: Any) -> Any:
    notes = {"name": "notes", "kind": "stdio", "command": sys.executable, "args": [str(NOTES)]}
    return make_hub_config(
        oauth={"issuer": idp.issuer, "jwks_url": idp.jwks_url, "audience": idp.audience, "team_claim": "groups"},
        upstreams=[notes],
        virtual_servers=[
            {"name": "helpdesk", "include": [{"upstream": "notes", "tools": ["get_note", "list_notes"]}]},
            {"name": "ledger", "include": [{"upstream": "notes"}]},
        ],
        teams=[
            {"name": "support", "servers": [{"server": "helpdesk"}]},
            {"name": "finance", "servers": [{"server": "ledger"}]},
        ],
        agents=[
            {"name": "sam", "team": "support", "keys": [{"key": SAM}]},
            {"name": "fay", "team": "finance", "keys": [{"key": FAY}]},
        ],
        **extra,
    )


async def statuses(running: Any, credential: str) -> dict[str, int]:
    """The HTTP status of an initialize request to each virtual server (404: unknown or not granted)."""
    headers = {"Authorization": f"Bearer {credential}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=30) as http:
        return {
            server: (await http.post(running.server_url(server), json=INIT, headers=headers)).status_code
            for server in ("helpdesk", "ledger")
        }


async def test_a_team_grant_reaches_its_agents_by_key_and_by_token(idp, run_hub, make_hub_config, open_agent) -> None:
    with anyio.fail_after(30):
        async with run_hub(team_config(make_hub_config, idp)) as running:
            async with open_agent("http-legacy", running, "helpdesk", SAM) as sam:
                by_key = sorted(t.name for t in (await sam.list_tools()).tools)
            support_token = idp.token(sub="u-17", groups=["everyone", "support"])
            async with open_agent("http-2026", running, "helpdesk", support_token) as member:
                by_token = sorted(t.name for t in (await member.list_tools()).tools)
            finance_token = idp.token(sub="u-18", groups="finance")  # one group, as a string
            reach = {
                "sam": await statuses(running, SAM),
                "fay": await statuses(running, FAY),
                "support token": await statuses(running, support_token),
                "finance token": await statuses(running, finance_token),
            }
    assert by_key == by_token == ["get_note", "list_notes"]
    assert reach == {
        "sam": {"helpdesk": 200, "ledger": 404},
        "fay": {"helpdesk": 404, "ledger": 200},
        "support token": {"helpdesk": 200, "ledger": 404},
        "finance token": {"helpdesk": 404, "ledger": 200},
    }


async def test_a_token_with_no_known_agent_or_team_is_refused(idp, run_hub, make_hub_config) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    with anyio.fail_after(30):
        async with run_hub(team_config(make_hub_config, idp)) as running, httpx2.AsyncClient(timeout=30) as http:
            stranger = await http.post(
                running.server_url("helpdesk"),
                json=INIT,
                headers={**headers, "Authorization": f"Bearer {idp.token(sub='u-99', groups=['sales'])}"},
            )
    assert stranger.status_code == 401
    assert stranger.json()["error"]["message"] == (
        "the token is valid, but its 'sub' names no agent of this hub and its 'groups' names no team of this hub"
    )


async def test_team_limits_count_a_teams_keys_and_tokens_together(idp, run_hub, make_hub_config, open_agent) -> None:
    rule = {"name": "support-desk", "per": "team", "servers": ["helpdesk"], "requests_per_minute": 2}
    with anyio.fail_after(30):
        async with run_hub(team_config(make_hub_config, idp, limits=[rule])) as running:
            token = idp.token(sub="u-17", groups=["support"])
            async with (
                open_agent("http-legacy", running, "helpdesk", SAM) as sam,
                open_agent("http-legacy", running, "helpdesk", token) as member,
            ):
                first = await sam.call_tool("list_notes", {})
                second = await member.call_tool("list_notes", {})
                with pytest.raises(MCPError) as third:
                    await sam.call_tool("list_notes", {})
            async with open_agent("http-legacy", running, "ledger", FAY) as fay:
                other_team = [await fay.call_tool("list_notes", {}) for _ in range(3)]
    assert not first.is_error
    assert not second.is_error
    assert third.value.code == LIMIT_EXCEEDED
    assert "support-desk" in third.value.message
    assert [r.is_error for r in other_team] == [False, False, False]
