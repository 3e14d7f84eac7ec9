"""A stream stays open only while its credential would still open it: revoking the key, or the grant, ends it.

Each long-lived stream kind is opened with raw HTTP (to see the stream itself end): the handshake
era's standalone GET stream, the legacy SSE transport's stream, and a 2026-07-28
`subscriptions/listen`. Then the admin API takes the key or the grant away, and the stream must
end, cleanly, within a bound; reconnecting is refused.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import httpx2
import pytest

from hub.auth.api_keys import key_id

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
CUT_WITHIN_S = 5.0  # the catalog sync (0.25 s) plus one stream check (0.5 s), with room for a loaded machine
MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
HANDSHAKE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
OpenStream = Callable[[httpx2.AsyncClient, str, str], AbstractAsyncContextManager[httpx2.Response]]


def auth(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **more}


@asynccontextmanager
async def handshake_get_stream(http: httpx2.AsyncClient, url: str, key: str) -> AsyncIterator[httpx2.Response]:
    opened = await http.post(url, json=HANDSHAKE, headers=auth(key, Accept="application/json, text/event-stream"))
    assert opened.status_code == 200, opened.text
    session = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    ready = await http.post(
        url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=auth(key, **session)
    )
    assert ready.is_success
    async with http.stream("GET", url, headers=auth(key, Accept="text/event-stream", **session)) as stream:
        assert stream.status_code == 200
        yield stream


@asynccontextmanager
async def legacy_sse_stream(http: httpx2.AsyncClient, url: str, key: str) -> AsyncIterator[httpx2.Response]:
    async with http.stream("GET", url.removesuffix("/mcp") + "/sse", headers=auth(key)) as stream:
        assert stream.status_code == 200
        yield stream


@asynccontextmanager
async def listen_stream(http: httpx2.AsyncClient, url: str, key: str) -> AsyncIterator[httpx2.Response]:
    body = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "subscriptions/listen",
        "params": {"_meta": ENVELOPE, "notifications": {"toolsListChanged": True}},
    }
    headers = auth(
        key,
        Accept="application/json, text/event-stream",
        **{"Content-Type": "application/json", "MCP-Protocol-Version": MODERN, "Mcp-Method": "subscriptions/listen"},
    )
    async with http.stream("POST", url, content=json.dumps(body), headers=headers) as stream:
        assert stream.status_code == 200, await stream.aread()
        yield stream


async def read_to_end(stream: httpx2.Response) -> None:
    """Read until the server ends the response; a clean end, not a broken connection."""
    async for _ in stream.aiter_bytes():
        pass


@pytest.mark.parametrize("open_stream", [handshake_get_stream, legacy_sse_stream, listen_stream])
@pytest.mark.parametrize("withdraw", ["revoke-key", "drop-grant"])
async def test_a_stream_ends_when_its_credential_or_grant_is_withdrawn(
    admin: httpx2.AsyncClient,
    running: object,
    make_catalog: Callable[..., Awaitable[str]],
    mcp_status: Callable[..., Awaitable[int]],
    open_stream: OpenStream,
    withdraw: str,
) -> None:
    key = await make_catalog(admin, running)
    url = running.server_url("assistant")  # type: ignore[attr-defined]
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(TIMEOUT)) as http:
        with anyio.fail_after(TIMEOUT):
            async with open_stream(http, url, key) as stream:
                await anyio.sleep(1.5)  # several stream checks pass while the key is good
                assert not stream.is_closed
                if withdraw == "revoke-key":
                    changed = await admin.delete(f"/agents/bot/keys/{key_id(key)}")
                else:
                    changed = await admin.put("/agents/bot", json={"name": "bot", "servers": []})
                assert changed.is_success, changed.text
                with anyio.fail_after(CUT_WITHIN_S):
                    await read_to_end(stream)
    assert await mcp_status(running, "assistant", key) in (401, 404)


async def test_a_stream_of_an_agent_still_admitted_stays_open(
    admin: httpx2.AsyncClient, running: object, make_catalog: Callable[..., Awaitable[str]]
) -> None:
    key = await make_catalog(admin, running)
    other = await admin.post("/agents/bot/keys")
    assert other.status_code == 201
    url = running.server_url("assistant")  # type: ignore[attr-defined]
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(TIMEOUT)) as http:
        with anyio.fail_after(TIMEOUT):
            async with legacy_sse_stream(http, url, key) as stream:
                revoked = await admin.delete(f"/agents/bot/keys/{key_id(other.json()['key'])}")
                assert revoked.status_code == 204
                with anyio.move_on_after(2.0) as waited:  # four checks, none of which may end it
                    await read_to_end(stream)
                assert waited.cancelled_caught
