"""The admin token: required on every admin route; without one configured the admin API is off."""

from __future__ import annotations

import anyio
import pytest

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_requests_without_the_admin_token_are_refused(running, admin_client) -> None:
    with anyio.fail_after(TIMEOUT):
        async with admin_client(running, token=None) as anonymous:
            missing = await anonymous.get("/upstreams")
            unknown_path = await anonymous.get("/nothing-here")
        async with admin_client(running, token="wrong") as wrong:
            refused = await wrong.post("/upstreams", json={})
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "server.admin_token" in missing.json()["error"]["message"]
    assert unknown_path.status_code == 401
    assert refused.status_code == 401


async def test_an_agent_key_is_not_an_admin_token(admin, running, make_catalog, admin_client) -> None:
    key = await make_catalog(admin, running)
    with anyio.fail_after(TIMEOUT):
        async with admin_client(running, token=key) as agent:
            response = await agent.get("/agents")
    assert response.status_code == 401


async def test_without_an_admin_token_configured_the_admin_api_is_off(run_hub, make_hub_config, admin_client) -> None:
    with anyio.fail_after(TIMEOUT):
        async with run_hub(make_hub_config()) as running, admin_client(running) as http:
            response = await http.get("/upstreams")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        "the admin API is disabled: set server.admin_token (or server.admins) in the config file to enable it"
    )


async def test_unknown_admin_routes_answer_404_in_json(admin) -> None:
    with anyio.fail_after(TIMEOUT):
        response = await admin.get("/nothing-here")
    assert response.status_code == 404
    assert "/admin/openapi.json" in response.json()["error"]["message"]


async def test_a_viewer_may_read_but_not_change(run_hub, make_hub_config, admin_client, notes_upstream) -> None:
    config = make_hub_config(
        server={
            "admins": [
                {"name": "ops", "token": "ops-token-for-tests", "role": "admin"},
                {"name": "audit", "token": "viewer-token-for-tests", "role": "viewer"},
            ]
        }
    )
    with anyio.fail_after(TIMEOUT):
        async with run_hub(config) as running:
            async with admin_client(running, token="viewer-token-for-tests") as viewer:
                read = await viewer.get("/upstreams")
                write = await viewer.post("/upstreams", json=notes_upstream())
            async with admin_client(running, token="ops-token-for-tests") as ops:
                made = await ops.post("/upstreams", json=notes_upstream())
    assert read.status_code == 200
    assert write.status_code == 403
    assert "'viewer', which may only read" in write.json()["error"]["message"]
    assert made.status_code == 201


async def test_a_method_a_route_does_not_serve_answers_405_in_json(admin) -> None:
    with anyio.fail_after(TIMEOUT):
        response = await admin.patch("/upstreams")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert response.json()["error"]["message"] == "PATCH is not served here; use GET, POST"
