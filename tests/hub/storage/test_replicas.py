"""Two hub processes on one PostgreSQL database: an admin change on one is in force on the other within a second.

Once by polling alone (the default interval), once by Redis notices with polling all but off.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from redis.exceptions import RedisError

from hub.auth.api_keys import key_id
from hub.governance.vault.cipher import generate_key

NOTES = Path(__file__).resolve().parents[3] / "examples" / "servers" / "notes.py"
KEY = "hub_bot_replica_key_00000000000000000000"
ADMIN = {"Authorization": "Bearer replica-admin-token"}
BOUND_S = 1.0  # the bound: a revocation is in force on every replica within one second
REDIS = "redis://127.0.0.1:6379/0"
MCP = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def write_config(tmp_path: Path, storage: dict[str, Any]) -> Path:
    config = {
        "server": {"admin_token": "replica-admin-token"},
        "storage": storage,
        "vault": {"key": generate_key()},  # every replica of one database needs the same vault key
        "upstreams": [{"name": "notes", "kind": "stdio", "command": sys.executable, "args": [str(NOTES)]}],
        "virtual_servers": [{"name": "desk", "include": [{"upstream": "notes"}]}],
        "agents": [{"name": "bot", "keys": [{"key": KEY}], "servers": [{"server": "desk"}]}],
    }
    path = tmp_path / "hub.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


def rpc(method: str, id_: int, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


INIT = rpc("initialize", 0, protocolVersion="2025-06-18", capabilities={}, clientInfo={"name": "t", "version": "1"})


def open_session(http: httpx2.Client, url: str, key: str) -> dict[str, str]:
    """Initialize a 2025-era session as the agent holding `key`; the headers its later requests carry."""
    headers = {**MCP, "Authorization": f"Bearer {key}"}
    opened = http.post(url, json=INIT, headers=headers)
    assert opened.status_code == 200, opened.text
    session = {**headers, "mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
    return session


def first_status_within(bound_s: float, request: Any, wanted: int) -> int:
    """Repeat `request()` until it answers `wanted` or `bound_s` has passed; the last status."""
    deadline = time.monotonic() + bound_s
    status = request().status_code
    while status != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        status = request().status_code
    return status


def require_redis() -> None:
    client = redis.Redis.from_url(REDIS, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (OSError, RedisError) as exc:
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis at {REDIS} is required (HUB_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS} is unreachable ({exc}); set HUB_REQUIRE_SERVICES=1 to fail instead")
    finally:
        client.close()


@pytest.mark.parametrize("notices", ["polling", "redis"])
def test_a_key_revoked_on_one_replica_is_refused_by_the_other(tmp_path, postgres_url, serve_process, notices) -> None:
    storage: dict[str, Any] = {"url": postgres_url}
    if notices == "redis":
        require_redis()
        storage |= {"redis_url": REDIS, "sync_interval_s": 60}  # only a notice can make the bound
    config = write_config(tmp_path, storage)
    serve = ("-m", "hub.cli", "serve", "--config", str(config), "--port", "0")
    with (
        serve_process(*serve, ready=True) as a,
        serve_process(*serve, ready=True) as b,
        httpx2.Client(timeout=10) as http,
    ):
        desk_b = f"{b}/servers/desk/mcp"
        session = open_session(http, desk_b, KEY)
        before = http.post(desk_b, json=rpc("tools/list", 1), headers=session)

        made = http.post(f"{a}/admin/agents/bot/keys", headers=ADMIN, json={})
        new_key = made.json()["key"]
        new_on_b = first_status_within(
            BOUND_S,
            lambda: http.post(desk_b, json=INIT, headers={**MCP, "Authorization": f"Bearer {new_key}"}),
            200,
        )

        revoked = http.delete(f"{a}/admin/agents/bot/keys/{key_id(KEY)}", headers=ADMIN)
        in_session = first_status_within(
            BOUND_S, lambda: http.post(desk_b, json=rpc("tools/list", 3), headers=session), 401
        )
        refused = http.post(desk_b, json=rpc("tools/list", 4), headers=session)

    assert before.status_code == 200
    assert "get_note" in before.text
    assert made.status_code == 201
    assert new_on_b == 200
    assert revoked.status_code == 204
    assert in_session == 401  # the open session's next request, on the other replica, within the bound
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]
