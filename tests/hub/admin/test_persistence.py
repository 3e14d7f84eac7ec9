"""Run-time changes are stored: a new hub on the same database serves them without the admin API."""

from __future__ import annotations

import anyio
import pytest

pytestmark = pytest.mark.anyio

TIMEOUT = 60.0


async def test_items_made_at_run_time_survive_a_restart(
    run_hub, admin_config, admin_client, make_catalog, agent_client, mcp_status
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with run_hub(admin_config) as first, admin_client(first) as admin:
            key = await make_catalog(admin, first)
            spare = (await admin.post("/agents/bot/keys")).json()["key"]
            await admin.delete(f"/agents/bot/keys/{spare[:12]}")
        async with run_hub(admin_config) as second, admin_client(second) as admin:
            upstreams = (await admin.get("/upstreams")).json()
            servers = (await admin.get("/virtual_servers")).json()
            agents = (await admin.get("/agents")).json()
            async with agent_client(second, "assistant", key) as client:
                tools = sorted(t.name for t in (await client.list_tools()).tools)
            revoked = await mcp_status(second, "assistant", spare)
    assert [(u["name"], u["health"]["state"], u["config"]["env"]) for u in upstreams] == [
        ("notes", "ready", {"NOTES_TOKEN": "***"})
    ]
    assert [s["name"] for s in servers] == ["assistant"]
    assert [a["name"] for a in agents] == ["bot"]
    assert tools == ["add_note", "get_note", "list_notes"]
    assert revoked == 401


async def test_the_config_file_seeds_and_run_time_items_stay_beside_it(
    run_hub, make_hub_config, admin_client, notes_upstream, tmp_path
) -> None:
    storage = {"url": f"sqlite+aiosqlite:///{tmp_path / 'seeded.db'}"}
    seeded = make_hub_config(
        server={"admin_token": "t"}, storage=storage, upstreams=[notes_upstream("from-yaml", enabled=False)]
    )
    with anyio.fail_after(TIMEOUT):
        async with run_hub(seeded) as first, admin_client(first, token="t") as admin:
            await admin.post("/upstreams", json=notes_upstream("from-api", enabled=False))
        async with run_hub(seeded) as second, admin_client(second, token="t") as admin:
            listed = {u["name"]: u["source"] for u in (await admin.get("/upstreams")).json()}
    assert listed == {"from-api": "admin", "from-yaml": "config"}
