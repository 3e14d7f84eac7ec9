"""/admin/limits: rate-limit rules made, changed and removed at run time, in force from the next call."""

from __future__ import annotations

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from hub.errors import LIMIT_EXCEEDED

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_a_limit_made_at_run_time_refuses_the_next_call(admin, running, make_catalog, agent_client) -> None:
    key = await make_catalog(admin, running)
    rule = {"name": "bot-slow", "agents": ["bot"], "requests_per_minute": 1}
    with anyio.fail_after(TIMEOUT):
        async with agent_client(running, "assistant", key) as bot:
            made = await admin.post("/limits", json=rule)
            first = await bot.call_tool("list_notes", {})
            with pytest.raises(MCPError) as refused:
                await bot.call_tool("list_notes", {})
            raised = await admin.put("/limits/bot-slow", json={**rule, "requests_per_minute": 1000})
            after_raise = await bot.call_tool("list_notes", {})
            listed = (await admin.get("/limits")).json()
            removed = await admin.delete("/limits/bot-slow")
            after_delete = [await bot.call_tool("list_notes", {}) for _ in range(3)]
    assert (made.status_code, raised.status_code, removed.status_code) == (201, 200, 204)
    assert not first.is_error
    assert refused.value.code == LIMIT_EXCEEDED
    assert refused.value.data["limit"] == "bot-slow"
    assert not after_raise.is_error
    assert [(r["name"], r["source"], r["config"]["requests_per_minute"]) for r in listed] == [
        ("bot-slow", "admin", 1000)
    ]
    assert [r.is_error for r in after_delete] == [False, False, False]


async def test_a_limit_that_limits_nothing_is_refused(admin, running) -> None:
    with anyio.fail_after(TIMEOUT):
        empty = await admin.post("/limits", json={"name": "nothing"})
        unknown = await admin.delete("/limits/nope")
    assert empty.status_code == 422
    assert "requests_per_minute" in empty.text
    assert unknown.status_code == 404
