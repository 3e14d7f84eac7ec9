"""/admin/agents/{name}/keys: a key is shown once, listed by id, rotated with an overlap, revoked at once."""

from __future__ import annotations

import anyio
import pytest

from hub.auth.api_keys import key_id

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_a_key_is_shown_once_and_listed_by_id_only(admin, running, make_catalog) -> None:
    key = await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        listed = await admin.get("/agents/bot/keys")
    assert key.startswith("hub_")
    [shown] = listed.json()
    assert shown["key_id"] == key_id(key)
    assert (shown["agent"], shown["state"], shown["source"], shown["revoked_at"]) == ("bot", "active", "admin", None)
    assert key not in listed.text


async def test_a_revoked_key_is_refused_on_the_next_request(admin, running, make_catalog, mcp_status) -> None:
    key = await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        before = await mcp_status(running, "assistant", key)
        revoked = await admin.delete(f"/agents/bot/keys/{key_id(key)}")
        after = await mcp_status(running, "assistant", key)
        [listed] = (await admin.get("/agents/bot/keys")).json()
        rotate_revoked = await admin.post(f"/agents/bot/keys/{key_id(key)}/rotate", json={})
    assert (before, revoked.status_code, after) == (200, 204, 401)
    assert listed["state"] == "revoked"
    assert rotate_revoked.status_code == 409


async def test_rotation_keeps_the_old_key_for_the_overlap(admin, running, make_catalog, mcp_status) -> None:
    old = await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        rotated = await admin.post(f"/agents/bot/keys/{key_id(old)}/rotate", json={"overlap_s": 3600})
        new = rotated.json()["key"]["key"]
        both = (await mcp_status(running, "assistant", old), await mcp_status(running, "assistant", new))
        again = await admin.post(f"/agents/bot/keys/{key_id(new)}/rotate", json={"overlap_s": 0})
        newest = again.json()["key"]["key"]
        after = (await mcp_status(running, "assistant", new), await mcp_status(running, "assistant", newest))
        states = {k["key_id"]: k["state"] for k in (await admin.get("/agents/bot/keys")).json()}
    assert rotated.status_code == 200
    assert rotated.json()["previous"]["expires_at"] is not None
    assert both == (200, 200)
    assert after == (401, 200)
    assert states == {key_id(old): "active", key_id(new): "expired", key_id(newest): "active"}


async def test_key_requests_are_checked(admin, running, make_catalog) -> None:
    await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        no_agent = await admin.post("/agents/nobody/keys")
        no_key = await admin.delete("/agents/bot/keys/hub_nosuchk")
        bad_overlap = await admin.post("/agents/bot/keys/hub_nosuchk/rotate", json={"overlap_s": -1})
        naive = await admin.post("/agents/bot/keys", json={"expires_at": "2030-01-01T00:00:00"})
    assert no_agent.status_code == 404
    assert no_key.status_code == 404
    assert bad_overlap.status_code == 422
    assert bad_overlap.json()["error"]["errors"][0]["loc"] == "overlap_s"
    assert naive.status_code == 422


async def test_a_key_made_with_an_expiry_past_reads_expired_and_is_refused(
    admin, running, make_catalog, mcp_status
) -> None:
    await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        made = await admin.post("/agents/bot/keys", json={"expires_at": "2001-01-01T00:00:00Z"})
        status = await mcp_status(running, "assistant", made.json()["key"])
    assert made.status_code == 201
    assert made.json()["state"] == "expired"
    assert status == 401
