"""`start: on_demand`: a stdio upstream is not started until an agent first needs it."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import httpx2
import pytest

pytestmark = pytest.mark.anyio

NOTES = Path(__file__).resolve().parents[2] / "examples" / "servers" / "notes.py"
KEY = "hub_on_demand_key_000000000000000000000000"


async def test_an_on_demand_upstream_starts_on_first_use(run_hub, make_hub_config, open_agent) -> None:
    config = make_hub_config(
        upstreams=[
            {"name": "notes", "kind": "stdio", "command": sys.executable, "args": [str(NOTES)], "start": "on_demand"}
        ],
        virtual_servers=[{"name": "desk", "include": [{"upstream": "notes"}]}],
        agents=[{"name": "alice", "keys": [{"key": KEY}], "servers": [{"server": "desk"}]}],
    )
    with anyio.fail_after(30):
        async with run_hub(config) as running:
            async with httpx2.AsyncClient() as http:
                before = (await http.get(f"{running.url}/ready")).json()
            assert before == {"ready": True, "upstreams": {"notes": "idle"}}
            async with open_agent("http-legacy", running, "desk", KEY) as client:
                tools = sorted(t.name for t in (await client.list_tools()).tools)
            async with httpx2.AsyncClient() as http:
                after = (await http.get(f"{running.url}/ready")).json()
    assert tools == ["add_note", "get_note", "list_notes"]
    assert after == {"ready": True, "upstreams": {"notes": "ready"}}
