"""A REST upstream's `auth:` block is the vault's: an OAuth client-credentials token reaches a real guarded service."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest

from connectors.rest.connector import RestConnector
from hub.config.model import RestUpstreamConfig
from hub.core.connector import CallContext
from hub.core.principal import Principal
from hub.errors import HubError, UpstreamUnavailableError
from hub.governance.vault.http_auth import http_auth
from tests.conftest import TEST_SERVERS

pytestmark = pytest.mark.anyio

GUARDED = TEST_SERVERS / "guarded.py"
TIMEOUT = 20.0


async def call_whoami(base: str, secret: str) -> dict[str, Any] | HubError:
    """The tool's result, or the HubError the call raised."""
    config = RestUpstreamConfig.model_validate(
        {
            "name": "guarded",
            "kind": "rest",
            "base_url": base,
            "tools": [{"name": "whoami", "method": "GET", "path": "/whoami"}],
            "auth": {
                "type": "oauth2",
                "token_url": f"{base}/token",
                "client_id": "hub-client",
                "client_secret": secret,
            },
            "retries": 0,
        }
    )
    connector = RestConnector(config, auth=http_auth(config.auth, config.name, 5.0))
    ctx = CallContext(Principal("a", None, {}), "vs", deadline=anyio.current_time() + TIMEOUT)
    async with anyio.create_task_group() as tg:
        tg.start_soon(connector.run)
        with anyio.fail_after(TIMEOUT):
            await connector.ensure_started()
            try:
                result: dict[str, Any] | HubError = await connector.request(
                    "tools/call", {"name": "whoami", "arguments": {}}, ctx
                )
            except HubError as exc:
                result = exc
        tg.cancel_scope.cancel()
    return result


async def test_an_oauth_token_is_fetched_and_sent_and_a_wrong_secret_is_refused(
    start_upstream: Callable[..., AbstractAsyncContextManager[str]],
) -> None:
    secret = f"client-{uuid.uuid4().hex}"
    expected = hashlib.sha256(secret.encode()).hexdigest()
    args = ("--mode", "oauth", "--digest", expected, "--client-id", "hub-client")
    async with start_upstream(GUARDED, *args) as url:
        base = url.removesuffix("/mcp")
        granted = await call_whoami(base, secret)
        refused = await call_whoami(base, "not-the-secret")
    assert isinstance(granted, dict)
    assert granted.get("isError") is not True, granted
    assert isinstance(refused, UpstreamUnavailableError)
    assert "could not get an access token" in str(refused)
    assert secret not in str(granted) + str(refused)
