"""Graceful shutdown: a hub told to stop (SIGTERM) finishes the calls already in flight, then exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2
import pytest

from tests.conftest import log_tail

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
KEY = "hub_shutdown_key_0000000000000000000000000"
MODERN = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
BASE_HEADERS = {"Authorization": f"Bearer {KEY}", "Accept": "application/json, text/event-stream"}


def _call(era: str) -> dict[str, object]:
    meta: dict[str, object] = {"progressToken": "p", **(MODERN if era == "2026-07-28" else {})}
    params = {"name": "hold", "arguments": {"seconds": 1.0}, "_meta": meta}
    return {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}


async def _headers(http: httpx2.AsyncClient, url: str, era: str) -> dict[str, str]:
    """Request headers for a call in `era`; a 2025-era call first opens its session."""
    if era == "2026-07-28":
        return {**BASE_HEADERS, "MCP-Protocol-Version": era, "Mcp-Method": "tools/call", "Mcp-Name": "hold"}
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": era, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }
    opened = await http.post(url, json=init, headers=BASE_HEADERS)
    headers = {**BASE_HEADERS, "MCP-Protocol-Version": era, "Mcp-Session-Id": opened.headers["mcp-session-id"]}
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def _until_ready(http: httpx2.AsyncClient, url: str) -> None:
    """Poll /ready (bounded by the caller): the hub has no event to wait on from another process."""
    for _ in range(400):
        if (await http.get(f"{url}/ready")).status_code == 200:
            return
        await anyio.sleep(0.05)
    raise TimeoutError("hub not ready")


@pytest.mark.parametrize("era", ["2025-11-25", "2026-07-28"])
async def test_an_in_flight_call_finishes_when_the_hub_is_stopped(tmp_path: Path, era: str) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"""
server: {{shutdown_grace_s: 5}}
storage: {{url: "sqlite+aiosqlite:///{tmp_path}/hub.db"}}
upstreams:
  - {{name: echo, kind: stdio, command: "{sys.executable}", args: ["{ROOT}/tests/servers/echo.py"]}}
virtual_servers: [{{name: echo, include: [{{upstream: echo}}]}}]
agents: [{{name: a, keys: [{{key: "{KEY}"}}], servers: [{{server: echo}}]}}]
"""
    )
    log = tmp_path / "hub.log"  # its last lines are printed once it has stopped: pytest shows them on a failure
    with log.open("wb") as stderr:
        hub = await anyio.open_process(
            [sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
            cwd=tmp_path,
        )
    messages: list[dict[str, object]] = []
    try:
        with anyio.fail_after(30):
            assert hub.stdout is not None
            url = (await hub.stdout.receive()).decode().splitlines()[0].split()[1]
            async with httpx2.AsyncClient(timeout=30) as http:
                await _until_ready(http, url)
                endpoint = f"{url}/servers/echo/mcp"
                headers = await _headers(http, endpoint, era)
                async with http.stream("POST", endpoint, json=_call(era), headers=headers) as response:
                    async for line in response.aiter_lines():
                        if not line.startswith("data:") or not line[5:].strip():
                            continue
                        messages.append(json.loads(line[5:]))
                        if len(messages) == 1:  # the progress notification: the call is in flight
                            os.killpg(hub.pid, signal.SIGTERM)  # only the hub's process group
            status = await hub.wait()
    finally:
        if hub.returncode is None:
            os.killpg(hub.pid, signal.SIGKILL)
        with anyio.CancelScope(shield=True):
            await hub.wait()
            await hub.aclose()
        print(log_tail(log))
    assert messages[0]["method"] == "notifications/progress"
    assert messages[-1]["id"] == 1
    assert messages[-1]["result"]["content"][0]["text"] == "held"  # type: ignore[index]
    assert status in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled, once it is done
