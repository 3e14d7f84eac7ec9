"""Audit rows for real agent requests through a real hub: successes, tool errors, errors and denials."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from sqlalchemy import select

from hub.storage.tables import AuditRow

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[3] / "servers" / "echo.py"
ANN = "hub_ann_audit_key_000000000000000000000000"
BEN = "hub_ben_audit_key_000000000000000000000000"
TIMEOUT = 30.0


def sections() -> dict[str, Any]:
    return {
        "upstreams": [{"name": "echo", "kind": "stdio", "command": sys.executable, "args": [str(ECHO)]}],
        "virtual_servers": [{"name": "tools", "include": [{"upstream": "echo"}]}, {"name": "other", "include": []}],
        "agents": [
            {
                "name": "ann",
                "team": "red",
                "keys": [{"key": ANN}],
                "servers": [{"server": "tools", "tools": ["echo", "pid"]}],
            },
            {"name": "ben", "keys": [{"key": BEN}], "servers": [{"server": "other"}]},
        ],
        "teams": [{"name": "red"}],
        "limits": [{"name": "one-pid", "tools": ["pid"], "requests_per_minute": 1}],
    }


async def audit_rows(running: Any) -> list[AuditRow]:
    await running.hub.audit.flushed()
    async with running.hub.database.transaction() as session:
        return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


async def test_every_request_leaves_one_row_with_its_outcome(run_hub, make_hub_config, open_agent) -> None:
    with anyio.fail_after(TIMEOUT):
        async with run_hub(make_hub_config(**sections())) as running:
            async with open_agent("http-legacy", running, "tools", ANN) as ann:
                await ann.list_tools()
                ok = await ann.call_tool("echo", {"text": "hello", "api_key": "sk-live-123"})
                tool_error = await ann.call_tool("echo", {})
                with pytest.raises(MCPError) as unknown:
                    await ann.call_tool("no_such_tool", {})
                with pytest.raises(MCPError) as hidden:
                    await ann.call_tool("slow", {"seconds": 0})
                await ann.call_tool("pid", {})
                with pytest.raises(MCPError) as limited:
                    await ann.call_tool("pid", {})
            rows = await audit_rows(running)
    assert not ok.is_error
    assert tool_error.is_error
    calls = [r for r in rows if r.method in ("tools/list", "tools/call")]
    assert [(r.method, r.target, r.outcome, r.error_code) for r in calls] == [
        ("tools/list", None, "ok", None),
        ("tools/call", "echo", "ok", None),
        ("tools/call", "echo", "tool_error", None),
        ("tools/call", "no_such_tool", "error", unknown.value.code),
        ("tools/call", "slow", "error", hidden.value.code),  # not granted reads like unknown, here too
        ("tools/call", "pid", "ok", None),
        ("tools/call", "pid", "error", -32007),
    ]
    assert limited.value.code == -32007
    assert unknown.value.code == hidden.value.code == -32602
    assert {(r.agent, r.team, r.server, r.kind) for r in calls} == {("ann", "red", "tools", "mcp")}
    listed, echoed = calls[0], calls[1]
    assert "echo" in listed.response
    assert listed.response_bytes > len(listed.response)
    assert echoed.upstream == "echo"
    assert calls[3].upstream is None
    assert '"api_key":"***"' in echoed.request
    assert "sk-live-123" not in echoed.request
    assert '"text":"hello"' in echoed.request
    assert "hello" in echoed.response
    assert echoed.request_bytes > 0
    assert echoed.response_bytes > 0
    assert echoed.latency_us > 0
    assert echoed.key_id is not None
    assert ANN.startswith(echoed.key_id)
    assert calls[6].error is not None
    assert "one-pid" in calls[6].error


async def test_requests_refused_at_the_edge_leave_rows_with_what_is_known(run_hub, make_hub_config) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28"}
    with anyio.fail_after(TIMEOUT):
        async with run_hub(make_hub_config(**sections())) as running, httpx2.AsyncClient(timeout=TIMEOUT) as http:
            url = running.server_url("tools")
            missing = await http.post(url, json=body, headers=headers)
            wrong = await http.post(url, json=body, headers={**headers, "Authorization": "Bearer hub_not_a_key"})
            ungranted = await http.post(url, json=body, headers={**headers, "Authorization": f"Bearer {BEN}"})
            sse = await http.get(running.server_url("tools", "sse"), headers={"Authorization": "Bearer nope"})
            rows = await audit_rows(running)
    assert [missing.status_code, wrong.status_code, ungranted.status_code, sse.status_code] == [401, 401, 404, 401]
    assert [(r.method, r.target, r.agent, r.server, r.outcome, r.error_code) for r in rows] == [
        ("http/POST", "/servers/tools/mcp", None, "tools", "error", -32003),
        ("http/POST", "/servers/tools/mcp", None, "tools", "error", -32003),
        ("http/POST", "/servers/tools/mcp", "ben", "tools", "error", -32602),
        ("http/GET", "/servers/tools/sse", None, "tools", "error", -32003),
    ]


async def test_requests_no_handler_of_ours_answered_leave_rows_from_their_answer(
    run_hub, make_hub_config, open_agent
) -> None:
    """The handshake, pings and requests the SDK refuses before any handler runs are recorded too, once each."""
    envelope = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    }
    modern = {
        "Authorization": f"Bearer {ANN}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
    }

    def call(name: Any, meta: dict[str, Any] = envelope) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {"name": name, "arguments": {}, "_meta": meta},
        }

    with anyio.fail_after(TIMEOUT):
        async with run_hub(make_hub_config(**sections())) as running, httpx2.AsyncClient(timeout=TIMEOUT) as http:
            url = running.server_url("tools")
            answers = [
                await http.post(
                    url, json=call("echo"), headers={**modern, "Mcp-Method": "tools/call", "Mcp-Name": "pid"}
                ),
                await http.post(
                    url, json=call("echo", [1]), headers={**modern, "Mcp-Method": "tools/call", "Mcp-Name": "echo"}
                ),
                await http.post(
                    url,
                    json={"jsonrpc": "2.0", "id": 10, "method": "no/such", "params": {"_meta": envelope}},
                    headers={**modern, "Mcp-Method": "no/such"},
                ),
                await http.post(url, content=b"{not json", headers=modern),
                await http.post(
                    url, json=call("pid"), headers={**modern, "Mcp-Method": "tools/call", "Mcp-Name": "pid"}
                ),
            ]
            async with open_agent("http-legacy", running, "tools", ANN) as ann:
                with pytest.warns(MCPDeprecationWarning):  # a handshake-era request, still sent by such agents
                    await ann.send_ping()
            rows = await audit_rows(running)
    assert [a.status_code for a in answers] == [400, 400, 404, 400, 200]
    seen = [(r.method, r.target, r.outcome, r.error_code) for r in rows]
    assert seen == [
        ("tools/call", "echo", "error", -32020),  # the Mcp-Name header disagrees with the body: the SDK refused it
        ("tools/call", "echo", "error", -32602),  # arguments that are no object: the SDK kernel refused them
        ("no/such", None, "error", -32601),
        ("http/POST", None, "error", -32700),
        ("tools/call", "pid", "ok", None),  # recorded by the pipeline, and only there
        ("initialize", None, "ok", None),
        ("ping", None, "ok", None),
    ]
    assert {(r.agent, r.server) for r in rows} == {("ann", "tools")}
