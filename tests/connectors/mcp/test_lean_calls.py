"""The lean tools/call path answers exactly as the SDK client path does.

One echo upstream (Streamable HTTP, SSE answers) is configured twice: `lean` with the lean path (the
default) and `sdk` with `lean_calls: false`. A 2026-07-28 agent makes the same calls through both
and must see the same answers, and the upstream must receive the same request headers (but for the
HTTP library's own User-Agent, which also shows that each path really was taken).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[2] / "servers" / "echo.py"
KEY = "hub_lean_calls_key_00000000000000000000000"
TIMEOUT = 30.0
CALL_TIMEOUT_S = 2.0
PATHS = ("lean", "sdk")
# Headers that differ per request or per HTTP library, not per MCP client path.
LIBRARY_HEADERS = {"host", "content-length", "user-agent", "accept-encoding", "connection"}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def twin_config(url: str) -> dict[str, Any]:
    upstream = {"kind": "streamable-http", "url": url, "call_timeout_s": CALL_TIMEOUT_S}
    return {
        "upstreams": [{"name": "lean", **upstream}, {"name": "sdk", **upstream, "lean_calls": False}],
        "virtual_servers": [{"name": path, "include": [{"upstream": path}]} for path in PATHS],
        "agents": [{"name": "agent", "keys": [{"key": KEY}], "servers": [{"server": path} for path in PATHS]}],
    }


@pytest.fixture(scope="module")
async def twin_hub(start_upstream, run_hub, make_hub_config) -> AsyncIterator[object]:
    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url))) as running,
    ):
        yield running


async def answer(running, open_agent, path: str, tool: str, arguments: dict[str, Any]) -> object:
    """What the agent sees: the result, or the error with the upstream's name made path-neutral."""
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-2026", running, path, KEY) as client:
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as exc:
                return ("error", exc.code, exc.message.replace(repr(path), "'X'"), exc.error.data)
    return ("result", result.model_dump(by_alias=True, exclude_none=True))


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("echo", {"text": "hello"}),
        ("fail", {"message": "boom"}),
        ("echo", {}),
        ("echo", {"text": 5}),
        ("no_such_tool", {}),
        ("regional", {"region": "eu-west"}),
    ],
    ids=["success", "tool-error", "missing-argument", "invalid-argument", "unknown-tool", "x-mcp-header"],
)
async def test_both_paths_answer_alike(twin_hub, open_agent, tool: str, arguments: dict[str, Any]) -> None:
    lean = await answer(twin_hub, open_agent, "lean", tool, arguments)
    sdk = await answer(twin_hub, open_agent, "sdk", tool, arguments)
    assert lean == sdk


async def test_x_mcp_header_arguments_reach_the_upstream_as_headers(twin_hub, open_agent) -> None:
    lean = await answer(twin_hub, open_agent, "lean", "regional", {"region": "eu-west"})
    assert lean[0] == "result"
    assert lean[1]["content"][0]["text"] == "eu-west eu-west"


async def test_the_upstream_receives_the_same_request_headers(twin_hub, open_agent) -> None:
    seen = {}
    for path in PATHS:
        result = await answer(twin_hub, open_agent, path, "headers", {})
        assert result[0] == "result"
        seen[path] = json.loads(result[1]["content"][0]["text"])
    assert "aiohttp" in seen["lean"]["user-agent"]
    assert "httpx" in seen["sdk"]["user-agent"]
    lean, sdk = ({k: v for k, v in seen[p].items() if k not in LIBRARY_HEADERS} for p in PATHS)
    assert lean == sdk
    assert lean["mcp-method"] == "tools/call"
    assert lean["mcp-name"] == "headers"
    assert lean["mcp-protocol-version"] == "2026-07-28"


async def test_upstream_log_messages_reach_the_agent_alike(twin_hub, open_agent) -> None:
    logs: dict[str, list[str]] = {}
    for path in PATHS:
        received: list[str] = []

        async def on_log(params, received=received) -> None:
            received.append(str(params.data))

        with anyio.fail_after(TIMEOUT):
            async with open_agent(
                "http-2026", twin_hub, path, KEY, logging_callback=on_log, log_level="debug"
            ) as client:
                result = await client.call_tool("chatty", {"text": "hi"})
        assert isinstance(result.content[0], TextContent)
        assert result.content[0].text == "hi"
        logs[path] = received
    assert logs["lean"] == logs["sdk"] == ["echoing hi"]


async def test_a_deadline_cancels_the_upstream_call_alike(twin_hub, open_agent) -> None:
    for path in PATHS:
        key = f"deadline-{path}"
        timed_out = await answer(twin_hub, open_agent, path, "block", {"key": key})
        confirmed = await answer(twin_hub, open_agent, path, "await_cancelled", {"key": key})
        assert timed_out == ("error", -32004, "upstream 'X' did not answer in time", timed_out[3])
        assert confirmed[0] == "result"
        assert confirmed[1]["content"][0]["text"] == "cancelled"  # the closed POST reached the upstream


async def test_a_dead_upstream_fails_alike(start_upstream, run_hub, make_hub_config, open_agent) -> None:
    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url))) as running,
    ):
        pid = await answer(running, open_agent, "lean", "pid", {})
        assert pid[0] == "result"
        os.killpg(os.getpgid(int(pid[1]["content"][0]["text"])), signal.SIGKILL)
        lean = await answer(running, open_agent, "lean", "echo", {"text": "down"})
        sdk = await answer(running, open_agent, "sdk", "echo", {"text": "down"})
    assert lean[0] == sdk[0] == "error"
    assert lean[1] == sdk[1]
    assert lean[2] == sdk[2]
