"""/admin/audit and /admin/audit/export: filters, cursor pages, JSON Lines, and who may read them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from hub.config.model import HubConfig
from hub.governance.audit import AuditRecord

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
ADMIN_TOKEN = "admin-token-for-tests-only"  # the token the `admin` fixture sends
VIEWER_TOKEN = "viewer-token-for-tests-only"
BOT_KEY = "hub_bot_admin_audit_key_000000000000000000"


@pytest.fixture
def admin_config(make_hub_config, notes_upstream) -> HubConfig:
    """An admin and a viewer; the notes upstream behind `assistant`; agent `bot` granted two of its tools."""
    return make_hub_config(
        server={
            "admins": [
                {"name": "root", "token": ADMIN_TOKEN, "role": "admin"},
                {"name": "auditor", "token": VIEWER_TOKEN, "role": "viewer"},
            ]
        },
        upstreams=[notes_upstream()],
        virtual_servers=[{"name": "assistant", "include": [{"upstream": "notes"}]}],
        agents=[
            {
                "name": "bot",
                "keys": [{"key": BOT_KEY}],
                "servers": [{"server": "assistant", "tools": ["add_note", "get_note"]}],
            }
        ],
    )


async def make_calls(running, agent_client) -> None:
    """tools/list, two notes added (one with a password argument), a tool error and an ungranted tool."""
    with anyio.fail_after(TIMEOUT):
        async with agent_client(running, "assistant", BOT_KEY) as bot:
            await bot.list_tools()
            await bot.call_tool("add_note", {"title": "a", "text": "first", "password": "hunter2"})
            await bot.call_tool("add_note", {"title": "b", "text": "second"})
            missing = await bot.call_tool("get_note", {"title": "nope"})
            with pytest.raises(MCPError):
                await bot.call_tool("list_notes", {})
        await running.hub.audit.flushed()
    assert missing.is_error


async def all_pages(admin, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):  # bounded: far more pages than the records made here
        response = await admin.get(
            "/audit", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        records += page["records"]
        cursor = page["next_cursor"]
        if cursor is None:
            return records
    raise AssertionError("the pages never ended")


async def test_records_are_listed_newest_first_and_filtered(running, admin, agent_client) -> None:
    await make_calls(running, agent_client)
    with anyio.fail_after(TIMEOUT):
        everything = (await admin.get("/audit")).json()
        calls = (await admin.get("/audit", params={"method": "tools/call"})).json()["records"]
        adds = (await admin.get("/audit", params={"tool": "add_note", "agent": "bot"})).json()["records"]
        errors = (await admin.get("/audit", params={"outcome": "error"})).json()["records"]
        tool_errors = (await admin.get("/audit", params={"outcome": "tool_error"})).json()["records"]
        by_code = (await admin.get("/audit", params={"error_code": -32602})).json()["records"]
        nobody = (await admin.get("/audit", params={"agent": "someone-else"})).json()["records"]
    assert everything["next_cursor"] is None
    assert [r["seq"] for r in everything["records"]] == sorted((r["seq"] for r in everything["records"]), reverse=True)
    assert [r["target"] for r in calls] == ["list_notes", "get_note", "add_note", "add_note"]
    assert [r["request"]["arguments"] for r in adds] == [
        {"title": "b", "text": "second"},
        {"title": "a", "text": "first", "password": "***"},
    ]
    assert [(r["target"], r["error_code"]) for r in errors] == [("list_notes", -32602)]
    assert by_code == errors
    assert [r["target"] for r in tool_errors] == ["get_note"]
    assert nobody == []


async def test_pages_follow_one_another_without_gaps_or_repeats(running, admin, agent_client) -> None:
    await make_calls(running, agent_client)
    with anyio.fail_after(TIMEOUT):
        whole = (await admin.get("/audit", params={"limit": 1000})).json()["records"]
        paged = await all_pages(admin, {}, limit=2)
    assert len(whole) >= 5
    assert [r["id"] for r in paged] == [r["id"] for r in whole]


async def test_a_time_range_selects_by_when_the_call_was_answered(running, admin, agent_client) -> None:
    await make_calls(running, agent_client)
    with anyio.fail_after(TIMEOUT):
        whole = (await admin.get("/audit")).json()["records"]
        middle = whole[len(whole) // 2]["ts"]
        since = (await admin.get("/audit", params={"since": middle})).json()["records"]
        until = (await admin.get("/audit", params={"until": middle})).json()["records"]
        future = datetime.now(UTC) + timedelta(days=1)
        none = (await admin.get("/audit", params={"since": future.isoformat()})).json()["records"]
    assert {r["id"] for r in since} | {r["id"] for r in until} == {r["id"] for r in whole}
    assert not {r["id"] for r in since} & {r["id"] for r in until}
    assert all(r["ts"] >= middle for r in since)
    assert none == []


async def test_the_export_is_json_lines_oldest_first_and_each_line_rehashes(running, admin, agent_client) -> None:
    await make_calls(running, agent_client)
    with anyio.fail_after(TIMEOUT):
        response = await admin.get("/audit/export", params={"agent": "bot", "method": "tools/call"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.text.splitlines()
    records = [AuditRecord.from_fields(json.loads(line)) for line in lines]
    assert [r.target for r in records] == ["add_note", "add_note", "get_note", "list_notes"]
    assert all(r.computed_hash() == r.hash for r in records)
    assert all(line.isascii() for line in lines)


async def test_a_viewer_may_read_the_audit_log(running, admin_client, agent_client) -> None:
    await make_calls(running, agent_client)
    with anyio.fail_after(TIMEOUT):
        async with admin_client(running, token=VIEWER_TOKEN) as viewer:
            listed = await viewer.get("/audit")
            exported = await viewer.get("/audit/export")
        async with admin_client(running, token=None) as anonymous:
            refused = await anonymous.get("/audit")
    assert listed.status_code == 200
    assert exported.status_code == 200
    assert len(exported.text.splitlines()) == len(listed.json()["records"])
    assert refused.status_code == 401


async def test_bad_queries_name_the_parameter(admin) -> None:
    with anyio.fail_after(TIMEOUT):
        too_many = await admin.get("/audit", params={"limit": 5000})
        naive = await admin.get("/audit", params={"since": "2026-01-01T00:00:00"})
        unknown = await admin.get("/audit", params={"colour": "red"})
        outcome = await admin.get("/audit/export", params={"outcome": "fine"})
        cursor = await admin.get("/audit", params={"cursor": "not-a-cursor"})
    assert [too_many.status_code, naive.status_code, unknown.status_code, outcome.status_code] == [422] * 4
    assert [e["loc"] for e in too_many.json()["error"]["errors"]] == ["limit"]
    assert [e["loc"] for e in naive.json()["error"]["errors"]] == ["since"]
    assert [e["loc"] for e in unknown.json()["error"]["errors"]] == ["colour"]
    assert [e["loc"] for e in outcome.json()["error"]["errors"]] == ["outcome"]
    assert cursor.status_code == 400
    assert "cursor" in cursor.json()["error"]["message"]
