"""`hub stdio`: a virtual server on stdin/stdout, run locally from a config file or bridged to a remote hub."""

from __future__ import annotations

import socket
import subprocess
import sys

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp_types import TextContent

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_hub_stdio_serves_a_virtual_server_from_a_config_file(tmp_path, servers) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"""
storage: {{url: "sqlite+aiosqlite:///{tmp_path / "hub.db"}"}}
upstreams:
  - {{name: echo, kind: stdio, command: "{sys.executable}", args: ["{servers["echo"]}"]}}
  - {{name: notes, kind: stdio, command: "{sys.executable}", args: ["{servers["notes"]}"]}}
virtual_servers:
  - name: desk
    prefix: always
    include: [{{upstream: echo, tools: [echo]}}, {{upstream: notes}}]
agents:
  - name: desktop
    servers: [{{server: desk, tools: ["echo__*", "notes__add_note"]}}]
""",
        encoding="utf-8",
    )
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "hub.cli", "stdio", "--config", str(config), "--server", "desk", "--agent", "desktop"],
    )
    with anyio.fail_after(TIMEOUT):
        async with Client(params, mode="legacy") as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            echoed = await client.call_tool("echo__echo", {"text": "over stdio"})
            prompts = [p.name for p in (await client.list_prompts()).prompts]
    assert tools == ["echo__echo", "notes__add_note"]
    [block] = echoed.content
    assert isinstance(block, TextContent)
    assert block.text == "over stdio"
    assert prompts == ["notes__summarize_notes"]


EXIT_BOUND_S = 30.0
"""A hang guard, not a timing check: it includes the interpreter's start, which a loaded machine slows a lot."""


async def test_the_bridge_exits_when_its_client_closes_stdin() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/servers/nothing/mcp"
    process = await anyio.open_process(
        [sys.executable, "-m", "hub.cli", "stdio", "--url", url, "--key", "hub_unused"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert process.stdin is not None
        await process.stdin.aclose()
        with anyio.fail_after(EXIT_BOUND_S):
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
            await process.aclose()
