"""Bad protocol input gets the spec's answer, in both Streamable HTTP eras, and leaves other sessions alone.

Every case is sent as a raw HTTP request while an SDK session of the same agent is open; the open
session is used again afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
}


@pytest.fixture
async def bystander(catalog_hub, keys, open_agent) -> AsyncIterator[object]:
    """An open handshake-era SDK session that must not notice anything."""
    with anyio.fail_after(TIMEOUT):
        async with open_agent("http-legacy", catalog_hub, "echo", keys.alice) as client:
            assert (await client.call_tool("echo", {"text": "before"})).content
            yield client
            result = await client.call_tool("echo", {"text": "after"})
    assert result.structured_content == {"result": "after"}


@pytest.fixture
async def raw(catalog_hub, keys) -> AsyncIterator[httpx2.AsyncClient]:
    headers = {
        "Authorization": f"Bearer {keys.alice}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
    }
    async with httpx2.AsyncClient(base_url=catalog_hub.server_url("echo"), headers=headers, timeout=TIMEOUT) as http:
        yield http


@pytest.fixture(params=["2025-06-18", MODERN])
async def era_headers(request, raw) -> dict[str, str]:
    """Headers for a request in an open 2025-era session, or for a 2026-07-28 request."""
    if request.param == MODERN:
        return {"mcp-protocol-version": MODERN, "mcp-method": "tools/list"}
    opened = await raw.post("", json=INITIALIZE)
    assert opened.status_code == 200
    headers = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
    assert (
        await raw.post("", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    ).is_success
    return headers


def _error(response: httpx2.Response) -> dict[str, object]:
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["id"] is None
    return body["error"]


async def test_malformed_json_is_a_parse_error(bystander, raw, era_headers) -> None:
    with anyio.fail_after(TIMEOUT):
        response = await raw.post("", content=b'{"jsonrpc": "2.0", "id": 1, "method": ', headers=era_headers)
    assert response.status_code == 400
    assert _error(response)["code"] == -32700


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world"},
        {"jsonrpc": "1.0", "id": 1, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": {"not": "an id"}, "method": "tools/list"},
        "just a string",
        42,
    ],
)
async def test_invalid_json_rpc_is_an_invalid_request(bystander, raw, era_headers, body) -> None:
    with anyio.fail_after(TIMEOUT):
        response = await raw.post("", json=body, headers=era_headers)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == -32600
    assert "validation error" not in str(error["message"]).lower()  # no library text


async def test_a_batch_is_an_invalid_request(bystander, raw, era_headers) -> None:
    request = {"jsonrpc": "2.0", "id": 7, "method": "tools/list", "params": {"_meta": ENVELOPE}}
    with anyio.fail_after(TIMEOUT):
        response = await raw.post("", json=[request, {**request, "id": 8}], headers=era_headers)
    assert response.status_code == 400
    assert _error(response)["code"] == -32600
    assert "batch" in str(_error(response)["message"])


async def test_a_body_above_the_limit_is_refused(catalog_hub, bystander, raw, era_headers) -> None:
    limit = catalog_hub.hub.config.server.limits.max_body_bytes
    arguments = {"text": "x" * (limit + 1)}
    request = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo", "arguments": arguments}}
    with anyio.fail_after(TIMEOUT):
        response = await raw.post("", json=request, headers=era_headers)
    assert response.status_code == 413


async def test_an_unknown_session_is_not_found(bystander, raw) -> None:
    headers = {"mcp-session-id": "f" * 32, "mcp-protocol-version": "2025-06-18"}
    with anyio.fail_after(TIMEOUT):
        response = await raw.post("", json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == -32600


async def test_an_ended_session_is_not_found(bystander, raw) -> None:
    with anyio.fail_after(TIMEOUT):
        opened = await raw.post("", json=INITIALIZE)
        headers = {"mcp-session-id": opened.headers["mcp-session-id"], "mcp-protocol-version": "2025-06-18"}
        ended = await raw.delete("", headers=headers)
        response = await raw.post("", json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=headers)
    assert ended.is_success
    assert response.status_code == 404


@pytest.mark.parametrize("version", ["1999-01-01", "2099-12-31", "banana"])
async def test_an_unsupported_protocol_version_header_is_a_bad_request(bystander, raw, version) -> None:
    envelope = {**ENVELOPE, "io.modelcontextprotocol/protocolVersion": version}
    with anyio.fail_after(TIMEOUT):
        response = await raw.post(
            "",
            json={"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": envelope}},
            headers={"mcp-protocol-version": version, "mcp-method": "tools/list"},
        )
    assert response.status_code == 400
    assert response.json()["error"]["code"] in (-32022, -32600, -32602)


@pytest.mark.parametrize(
    "foreign",
    [
        {"Host": "evil.example"},
        {"Host": "evil.example:80"},
        {"Origin": "http://evil.example"},
        {"Origin": "https://127.0.0.1.evil.example"},
    ],
)
@pytest.mark.parametrize(("path", "method"), [("mcp", "POST"), ("sse", "GET"), ("messages/", "POST")])
async def test_foreign_host_or_origin_is_forbidden(catalog_hub, keys, bystander, foreign, path, method) -> None:
    headers = {"Authorization": f"Bearer {keys.alice}", "Accept": "application/json, text/event-stream", **foreign}
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient() as http:
            response = await http.request(
                method, catalog_hub.server_url("echo", path), json=INITIALIZE, headers=headers
            )
            unauthenticated = await http.request(
                method, catalog_hub.server_url("echo", path), json=INITIALIZE, headers={**foreign}
            )
    assert response.status_code == unauthenticated.status_code == 403  # checked before the key is
    assert "WWW-Authenticate" not in unauthenticated.headers


async def test_local_origin_is_allowed(bystander, raw) -> None:
    with anyio.fail_after(TIMEOUT):
        response = await raw.post("", json=INITIALIZE, headers={"Origin": "http://localhost:6274"})
        await raw.delete("", headers={"mcp-session-id": response.headers["mcp-session-id"]})
    assert response.status_code == 200
