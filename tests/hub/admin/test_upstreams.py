"""/admin/upstreams: made at run time and served at once; secrets masked; health; references checked."""

from __future__ import annotations

import anyio
import pytest
from mcp_types import TextContent

from hub.config.dump import to_data
from hub.config.model import StdioUpstreamConfig
from hub.storage.repositories import UPSTREAMS

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_an_upstream_made_at_run_time_serves_agents_without_a_restart(
    admin, running, make_catalog, agent_client
) -> None:
    key = await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        async with agent_client(running, "assistant", key) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            added = await client.call_tool("add_note", {"title": "t", "text": "hello"})
            note = await client.call_tool("get_note", {"title": "t"})
    assert tools == ["add_note", "get_note", "list_notes"]
    assert not added.is_error
    assert isinstance(note.content[0], TextContent)
    assert note.content[0].text == "hello"


async def test_health_is_shown_per_upstream(admin, running, make_catalog) -> None:
    await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        listed = (await admin.get("/upstreams")).json()
        one = await admin.get("/upstreams/notes/health")
        missing = await admin.get("/upstreams/nope/health")
    assert [(u["name"], u["source"], u["health"]["state"]) for u in listed] == [("notes", "admin", "ready")]
    assert one.status_code == 200
    assert one.json()["state"] == "ready"
    assert missing.status_code == 404
    assert missing.json()["error"]["message"] == "upstream 'nope' is not defined"


async def test_a_disabled_upstream_reads_as_stopped(admin, notes_upstream) -> None:
    with anyio.fail_after(TIMEOUT):
        await admin.post("/upstreams", json=notes_upstream(enabled=False))
        health = (await admin.get("/upstreams/notes/health")).json()
    assert (health["state"], health["detail"]) == ("stopped", "disabled")


async def test_secrets_are_masked_and_a_masked_value_sent_back_keeps_the_secret(admin, running, notes_upstream) -> None:
    with anyio.fail_after(TIMEOUT):
        await admin.post("/upstreams", json=notes_upstream(env={"NOTES_TOKEN": "s3cret"}, enabled=False))
        shown = (await admin.get("/upstreams/notes")).json()
        listed = (await admin.get("/upstreams")).text
        replaced = await admin.put("/upstreams/notes", json={**shown["config"], "description": "changed"})
        async with running.hub.database.transaction() as session:
            stored = await UPSTREAMS.get(session, "notes")
    assert shown["config"]["env"] == {"NOTES_TOKEN": "***"}
    assert "s3cret" not in listed
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["config"]["description"] == "changed"
    assert "s3cret" not in replaced.text
    assert stored is not None
    assert isinstance(stored.config, StdioUpstreamConfig)
    assert stored.config.env["NOTES_TOKEN"].get_secret_value() == "s3cret"


async def test_a_mask_with_no_stored_secret_behind_it_is_refused(admin, notes_upstream) -> None:
    with anyio.fail_after(TIMEOUT):
        response = await admin.put("/upstreams/notes", json=notes_upstream(env={"NOTES_TOKEN": "***"}))
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["error"]["errors"]] == ["env.NOTES_TOKEN"]


async def test_an_invalid_upstream_answers_422_with_field_paths(admin) -> None:
    with anyio.fail_after(TIMEOUT):
        invalid = await admin.post(
            "/upstreams", json={"name": "bad name!", "kind": "stdio", "argz": [], "env": {"K": "s3cret"}}
        )
        unknown_kind = await admin.post("/upstreams", json={"name": "x", "kind": "carrier-pigeon"})
        not_json = await admin.post("/upstreams", content=b"{", headers={"Content-Type": "application/json"})
    assert invalid.status_code == 422
    assert sorted(e["loc"] for e in invalid.json()["error"]["errors"]) == ["argz", "command", "name"]
    assert "s3cret" not in invalid.text  # submitted values are never echoed
    assert unknown_kind.status_code == 422
    assert not_json.status_code == 400


async def test_an_upstream_name_is_created_once(admin, notes_upstream) -> None:
    with anyio.fail_after(TIMEOUT):
        first = await admin.post("/upstreams", json=notes_upstream(enabled=False))
        second = await admin.post("/upstreams", json=notes_upstream(enabled=False))
        renamed = await admin.put("/upstreams/notes", json=notes_upstream("other", enabled=False))
    assert first.status_code == 201
    assert second.status_code == 409
    assert "PUT /upstreams/notes" in second.json()["error"]["message"]
    assert renamed.status_code == 422
    assert renamed.json()["error"]["errors"][0]["loc"] == "name"


async def test_an_upstream_a_virtual_server_uses_cannot_be_deleted(admin, running, make_catalog) -> None:
    await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        refused = await admin.delete("/upstreams/notes")
        await admin.delete("/agents/bot")
        await admin.delete("/virtual_servers/assistant")
        deleted = await admin.delete("/upstreams/notes")
        gone = await admin.get("/upstreams/notes")
    assert refused.status_code == 409
    assert refused.json()["error"]["virtual_servers"] == ["assistant"]
    assert "assistant" in refused.json()["error"]["message"]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert "notes" not in running.hub.upstreams


async def test_auth_secrets_are_masked_at_any_depth_and_kept_when_sent_back(admin, running) -> None:
    secret, header = "admin-auth-secret-7Hq2", "admin-header-secret-9Kx4"
    body = {
        "name": "crm",
        "kind": "streamable-http",
        "url": "http://127.0.0.1:9/mcp",
        "enabled": False,
        "headers": {"X-Tenant": header},
        "auth": {
            "type": "oauth2",
            "token_url": "http://127.0.0.1:9/token",
            "client_id": "hub",
            "client_secret": secret,
        },
    }
    with anyio.fail_after(TIMEOUT):
        created = await admin.post("/upstreams", json=body)
        shown = (await admin.get("/upstreams/crm")).json()
        listed = (await admin.get("/upstreams")).text
        replaced = await admin.put(
            "/upstreams/crm", json={**shown["config"], "auth": {**shown["config"]["auth"], "scopes": ["a"]}}
        )
        switched = await admin.put(
            "/upstreams/crm", json={**shown["config"], "auth": {"type": "bearer", "token": "***"}}
        )
        async with running.hub.database.transaction() as session:
            stored = await UPSTREAMS.get(session, "crm")
    assert created.status_code == 201
    assert shown["config"]["auth"]["client_secret"] == "***"
    assert shown["config"]["auth"]["client_id"] == "hub"
    assert shown["config"]["headers"] == {"X-Tenant": "***"}
    for text in (created.text, listed, replaced.text, switched.text):
        assert secret not in text
        assert header not in text
    assert replaced.status_code == 200, replaced.text
    assert stored is not None
    assert to_data(stored.config, secrets="reveal")["auth"] == {
        "type": "oauth2",
        "token_url": "http://127.0.0.1:9/token",
        "client_id": "hub",
        "client_secret": secret,
        "scopes": ["a"],
        "audience": None,
        "client_auth": "basic",
        "refresh_before_s": 30.0,
    }
    # a mask where no secret was stored (a new auth type) stands for nothing: refused
    assert switched.status_code == 422
    assert [e["loc"] for e in switched.json()["error"]["errors"]] == ["auth.token"]


async def test_an_invalid_auth_block_is_reported_by_its_field_path(admin) -> None:
    body = {"name": "crm", "kind": "sse", "url": "http://127.0.0.1:9/sse", "enabled": False}
    with anyio.fail_after(TIMEOUT):
        missing = await admin.post("/upstreams", json={**body, "auth": {"type": "basic", "username": "svc"}})
        unknown = await admin.post("/upstreams", json={**body, "auth": {"type": "kerberos"}})
    assert missing.status_code == unknown.status_code == 422
    assert [e["loc"] for e in missing.json()["error"]["errors"]] == ["auth.password"]
    assert [e["loc"] for e in unknown.json()["error"]["errors"]] == ["auth"]
