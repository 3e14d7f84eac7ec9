"""Upstreams that are down, die, are slow, or whose calls the agent cancels.

This module breaks its upstreams on purpose, so it runs its own hub: a stdio echo upstream (short
call timeout, quick restarts), a Streamable HTTP echo upstream the tests can kill, the clock, and
`ghost`, a Streamable HTTP URL where nothing listens.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
CALL_TIMEOUT_S = 2.0
KEY = "hub_failures_e2e_key_000000000000000000000"


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
async def upstream_urls(start_upstream, servers) -> AsyncIterator[dict[str, str]]:
    async with start_upstream(servers["clock"]) as clock_url:
        yield {"clock": clock_url, "ghost": f"http://127.0.0.1:{_unused_port()}/mcp"}


@pytest.fixture(scope="module")
async def failing_hub(run_hub, make_hub_config, servers, upstream_urls) -> AsyncIterator[object]:
    config = make_hub_config(
        upstreams=[
            {
                "name": "echo",
                "kind": "stdio",
                "command": sys.executable,
                "args": [str(servers["echo"])],
                "call_timeout_s": CALL_TIMEOUT_S,
                "restart_backoff_s": 0.1,
            },
            {"name": "clock", "kind": "streamable-http", "url": upstream_urls["clock"]},
            {"name": "ghost", "kind": "streamable-http", "url": upstream_urls["ghost"], "connect_timeout_s": 2},
        ],
        virtual_servers=[
            {"name": "mixed", "prefix": "always", "include": [{"upstream": "clock"}, {"upstream": "ghost"}]},
            {"name": "echo", "include": [{"upstream": "echo"}]},
        ],
        agents=[{"name": "ops", "keys": [{"key": KEY}], "servers": [{"server": "mixed"}, {"server": "echo"}]}],
    )
    async with run_hub(config) as running:
        yield running


def text_of(result) -> str:
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


async def test_a_down_upstream_leaves_the_others_listed_and_ready_says_so(failing_hub, connect) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(failing_hub, "mixed", KEY) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            now = await client.call_tool("clock__now", {})
        async with httpx2.AsyncClient() as http:
            ready = await http.get(f"{failing_hub.url}/ready")
    assert tools == ["clock__add_days", "clock__now"]
    assert not now.is_error
    assert ready.status_code == 503
    assert ready.json()["upstreams"] == {"echo": "ready", "clock": "ready", "ghost": "down"}


async def test_a_killed_upstreams_tools_fail_fast_naming_it(
    run_hub, make_hub_config, start_upstream, servers, open_agent
) -> None:
    """An upstream the agent has seen goes away: its tools answer 'upstream ... not available', fast."""
    async with start_upstream(servers["echo"], "--transport", "streamable-http") as url:
        config = make_hub_config(
            upstreams=[{"name": "remote-echo", "kind": "streamable-http", "url": url}],
            virtual_servers=[{"name": "echo", "include": [{"upstream": "remote-echo"}]}],
            agents=[{"name": "ops", "keys": [{"key": KEY}], "servers": [{"server": "echo"}]}],
        )
        async with run_hub(config) as running, httpx2.AsyncClient() as http:
            with anyio.fail_after(TIMEOUT):
                async with open_agent("http-legacy", running, "echo", KEY) as client:
                    assert text_of(await client.call_tool("echo", {"text": "up"})) == "up"
                    pid = int(text_of(await client.call_tool("pid", {})))
                    kill_process_group(pid)
                    errors = [await call_error(client, "echo", {"text": "down"}) for _ in range(2)]
                ready = await http.get(f"{running.url}/ready")
    for error in errors:
        assert error.code in (-32009, -32008)
        assert "'remote-echo'" in error.message
    assert ready.json()["upstreams"]["remote-echo"] != "ready"


async def test_a_dead_stdio_upstream_is_restarted_and_agents_hear_of_it(failing_hub, open_agent) -> None:
    changes = 0
    changed = anyio.Event()

    async def on_message(message: object) -> None:
        nonlocal changes, changed
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changes += 1
            changed.set()

    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-legacy", failing_hub, "echo", KEY, message_handler=on_message) as client:
            before = int(text_of(await client.call_tool("pid", {})))
            crashed = await call_error(client, "crash", {})
            while True:  # the tools vanish, then come back: one notification each (at least)
                await changed.wait()
                changed = anyio.Event()
                if "pid" in {t.name for t in (await client.list_tools()).tools}:
                    break
            after = int(text_of(await client.call_tool("pid", {})))
    assert "'echo'" in crashed.message
    assert after != before
    assert changes >= 1


async def test_a_dead_stdio_upstream_is_announced_on_listen_streams(failing_hub, open_agent) -> None:
    """2026-07-28 agents hear of list changes on `subscriptions/listen`."""
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-auto", failing_hub, "echo", KEY) as client:
            assert client.protocol_version == "2026-07-28"
            assert client.server_capabilities.tools is not None
            assert client.server_capabilities.tools.list_changed
            async with client.listen(tools_list_changed=True) as subscription:
                await call_error(client, "crash", {})
                async for _event in subscription:
                    if "pid" in {t.name for t in (await client.list_tools()).tools}:
                        break
            assert text_of(await client.call_tool("echo", {"text": "back"})) == "back"


async def test_a_slow_call_times_out_naming_the_upstream(failing_hub, connect) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(failing_hub, "echo", KEY) as client:
            error = await call_error(client, "slow", {"seconds": 60})
            still = await client.call_tool("echo", {"text": "still here"})
    assert error.code == -32004
    assert "'echo'" in error.message
    assert text_of(still) == "still here"


async def test_cancelling_a_call_leaves_session_and_upstream_working(failing_hub, connect, transport) -> None:
    key = f"cancel-{transport}"
    with anyio.fail_after(TIMEOUT):
        async with connect(failing_hub, "echo", KEY) as client:
            with anyio.CancelScope() as scope:

                async def started(value: float, total: float | None, message: str | None) -> None:
                    scope.cancel()  # the call is in flight at the upstream: abandon it

                await client.call_tool("block", {"key": key}, progress_callback=started)
            assert scope.cancelled_caught
            after = await client.call_tool("echo", {"text": "after cancel"})
            confirmed = await client.call_tool("await_cancelled", {"key": key})
    assert text_of(after) == "after cancel"
    assert text_of(confirmed) == "cancelled"  # the hub passed the cancellation on to the upstream


# --- helpers ----------------------------------------------------------------------------------


async def call_error(client, name: str, arguments: dict[str, object]) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await client.call_tool(name, arguments)
    return caught.value


def kill_process_group(pid: int) -> None:
    os.killpg(os.getpgid(pid), signal.SIGKILL)
