"""`/metrics` counts MCP requests by outcome and shows each upstream's health, read from a real hub."""

from __future__ import annotations

import socket
import sys

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_SERVERS

pytestmark = pytest.mark.anyio

KEY = "hub_metrics_test_key_0000000000000000000000"
TIMEOUT = 30.0

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _scrape(http: httpx2.AsyncClient, url: str) -> Samples:
    response = await http.get(f"{url}/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def test_requests_are_counted_by_outcome_and_timed_and_upstream_health_is_shown(
    run_hub, make_hub_config, open_agent
) -> None:
    config = make_hub_config(
        upstreams=[
            {"name": "echo", "kind": "stdio", "command": sys.executable, "args": [str(TEST_SERVERS / "echo.py")]},
            {"name": "ghost", "kind": "streamable-http", "url": f"http://127.0.0.1:{_unused_port()}/mcp"},
        ],
        virtual_servers=[{"name": "tools", "include": [{"upstream": "echo"}, {"upstream": "ghost"}]}],
        agents=[{"name": "ops", "keys": [{"key": KEY}], "servers": [{"server": "tools"}]}],
    )
    async with run_hub(config) as running, httpx2.AsyncClient() as http:
        with anyio.fail_after(TIMEOUT):
            async with open_agent("http-2026", running, "tools", KEY) as client:
                await client.list_tools()
                assert not (await client.call_tool("echo", {"text": "hi"})).is_error
                assert (await client.call_tool("fail", {"message": "boom"})).is_error
                with pytest.raises(MCPError):
                    await client.call_tool("no_such_tool", {})
            samples = await _scrape(http, running.url)

    def calls(outcome: str) -> float | None:
        labels = {"agent": "ops", "server": "tools", "method": "tools/call", "outcome": outcome}
        return _value(samples, "hub_mcp_requests_total", **labels)

    assert (calls("ok"), calls("tool_error"), calls("error")) == (1, 1, 1)
    listed = _value(samples, "hub_mcp_requests_total", agent="ops", server="tools", method="tools/list", outcome="ok")
    assert (listed or 0) >= 1  # ours, and any the client makes on its own
    timed = _value(samples, "hub_mcp_request_duration_seconds_count", server="tools", method="tools/call")
    assert timed == 3
    assert _value(samples, "hub_upstream_up", upstream="echo") == 1
    assert _value(samples, "hub_upstream_up", upstream="ghost") == 0
    assert _value(samples, "hub_upstream_restarts_total", upstream="echo") == 0
