"""A real hub under uvicorn with the admin API on, an admin HTTP client, and agent clients.

`run_hub` and `make_hub_config` come from tests/conftest.py. Upstreams made through the admin API
are the example notes server, run over stdio with this interpreter.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from hub.config.model import HubConfig

if TYPE_CHECKING:
    from conftest import RunningHub

NOTES = Path(__file__).resolve().parents[3] / "examples" / "servers" / "notes.py"
ADMIN_TOKEN = "admin-token-for-tests-only"
TIMEOUT = 30.0

RunHub = Callable[[HubConfig], AbstractAsyncContextManager["RunningHub"]]


def _notes_upstream(name: str = "notes", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "stdio", "command": sys.executable, "args": [str(NOTES)], **extra}


@pytest.fixture
def notes_upstream() -> Callable[..., dict[str, Any]]:
    """`notes_upstream(name="notes", **fields)`: an upstream body running examples/servers/notes.py."""
    return _notes_upstream


@pytest.fixture
def admin_config(make_hub_config: Callable[..., HubConfig]) -> HubConfig:
    """No catalog in the file: everything is made through the admin API."""
    return make_hub_config(server={"admin_token": ADMIN_TOKEN})


@pytest.fixture
async def running(run_hub: RunHub, admin_config: HubConfig) -> AsyncIterator[RunningHub]:
    async with run_hub(admin_config) as hub:
        yield hub


@asynccontextmanager
async def _admin_client(running: RunningHub, token: str | None = ADMIN_TOKEN) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(base_url=f"{running.url}/admin", headers=headers, timeout=TIMEOUT) as http:
        yield http


@pytest.fixture
def admin_client() -> Callable[..., AbstractAsyncContextManager[httpx2.AsyncClient]]:
    """`async with admin_client(running, token=ADMIN_TOKEN) as http:` (token None: no Authorization header)."""
    return _admin_client


@pytest.fixture
async def admin(running: RunningHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with _admin_client(running) as http:
        yield http


@pytest.fixture
def agent_client() -> Callable[[RunningHub, str, str], AbstractAsyncContextManager[Client]]:
    """`async with agent_client(running, server, key) as client:` an SDK client through the hub."""
    return _agent_client


@pytest.fixture
def mcp_status() -> Callable[[RunningHub, str, str], Awaitable[int]]:
    """`await mcp_status(running, server, key)`: the HTTP status of an initialize request (401: key refused)."""
    return _mcp_status


@pytest.fixture
def make_catalog(notes_upstream: Callable[..., dict[str, Any]]) -> Callable[..., Awaitable[str]]:
    """`await make_catalog(admin, running)`: upstream notes, virtual server assistant, agent bot; bot's new key."""
    return _make_catalog


@asynccontextmanager
async def _agent_client(running: RunningHub, server: str, key: str) -> AsyncIterator[Client]:
    """An SDK client of `server` through the hub, as the agent holding `key`."""
    headers = {"Authorization": f"Bearer {key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(TIMEOUT)) as http,
        Client(streamable_http_client(running.server_url(server), http_client=http), mode="auto") as client,
    ):
        yield client


async def _mcp_status(running: RunningHub, server: str, key: str) -> int:
    """The HTTP status of one initialize request to `server` with `key` (401 when the key is refused)."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        response = await http.post(running.server_url(server), json=body, headers=headers)
    return response.status_code


async def _make_catalog(admin: httpx2.AsyncClient, running: RunningHub, server: str = "assistant") -> str:
    """Upstream `notes`, virtual server `server`, agent `bot` granted it; returns bot's new key."""
    with anyio.fail_after(TIMEOUT):
        created = await admin.post("/upstreams", json=_notes_upstream(env={"NOTES_TOKEN": "s3cret"}))
        assert created.status_code == 201, created.text
        await running.hub.upstreams.wait_settled()
        vs = await admin.post("/virtual_servers", json={"name": server, "include": [{"upstream": "notes"}]})
        assert vs.status_code == 201, vs.text
        agent = await admin.post("/agents", json={"name": "bot", "servers": [{"server": server}]})
        assert agent.status_code == 201, agent.text
        key = await admin.post("/agents/bot/keys")
        assert key.status_code == 201, key.text
    return str(key.json()["key"])
