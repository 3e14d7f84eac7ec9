"""The edge's lean tools/call path answers exactly as the SDK's modern transport does.

Two hubs front the same echo upstream: `lean` with the lean path (the default) and `sdk` with
`server.lean_tool_calls: false`. Every request is sent to both as raw HTTP, and the answers (status,
content type, Retry-After, body) must be equal byte for byte. A spy on the lean path counts which
requests it answered, so each case also shows which path the `lean` hub really took.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import _streamable_http_modern
from mcp.server.connection import Connection
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.inbound import InboundModernRoute
from mcp_types import TextContent

from hub.transports import lean_tool_calls
from hub.transports.lean_tool_calls import LeanToolCalls

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[2] / "servers" / "echo.py"
KEY = "hub_lean_edge_key_000000000000000000000000"
LIMITED_KEY = "hub_lean_edge_limited_key_0000000000000000"
TIMEOUT = 30.0
MODERN = "2026-07-28"
ENVELOPE = {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}
HUBS = ("lean", "sdk")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Twins:
    urls: dict[str, str]
    served: list[str]  # the tool name of every call the lean path answered itself


@pytest.fixture(scope="module")
def lean_spy() -> Iterator[list[str]]:
    served: list[str] = []
    original = LeanToolCalls.serve

    async def spying(self: LeanToolCalls, server: Any, message: Any, *args: Any) -> bool:
        taken = await original(self, server, message, *args)
        if taken:
            served.append(message["params"]["name"])
        return taken

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LeanToolCalls, "serve", spying)
        yield served


@pytest.fixture(scope="module")
async def twins(start_upstream, run_hub, make_hub_config, lean_spy) -> AsyncIterator[Twins]:
    def config(url: str, lean: bool) -> Any:
        return make_hub_config(
            server={"lean_tool_calls": lean},
            upstreams=[{"name": "echo", "kind": "streamable-http", "url": url, "call_timeout_s": 5}],
            virtual_servers=[{"name": "echo", "include": [{"upstream": "echo"}]}],
            agents=[
                {"name": "agent", "keys": [{"key": KEY}], "servers": [{"server": "echo", "tools": ["*"]}]},
                {"name": "narrow", "keys": [{"key": LIMITED_KEY}], "servers": [{"server": "echo", "tools": ["echo"]}]},
            ],
            limits=[{"name": "narrow-echo", "agents": ["narrow"], "tools": ["echo"], "requests_per_minute": 1}],
        )

    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(config(url, lean=True)) as lean,
        run_hub(config(url, lean=False)) as sdk,
    ):
        yield Twins({"lean": lean.server_url("echo"), "sdk": sdk.server_url("echo")}, lean_spy)


def call(tool: str, arguments: Any = None, *, meta: Any = ENVELOPE, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"name": tool, "_meta": meta}
    if arguments is not None:
        params["arguments"] = arguments
    return {"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": params, **extra}


def headers(tool: str, key: str = KEY, **more: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
        **more,
    }


async def answers(twins: Twins, body: Any, request_headers: dict[str, str]) -> dict[str, tuple[Any, ...]]:
    """Each hub's answer: status, content type, Retry-After presence, and the body."""
    out = {}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        for name in HUBS:
            with anyio.fail_after(TIMEOUT):
                response = await http.post(twins.urls[name], content=json.dumps(body), headers=request_headers)
            out[name] = (
                response.status_code,
                response.headers.get("content-type"),
                "retry-after" in response.headers,
                response.content,
            )
    return out


@pytest.mark.parametrize(
    ("body", "request_headers", "lean"),
    [
        (call("echo", {"text": "hello"}), headers("echo"), True),
        (call("echo", {"text": "hello"}, meta={**ENVELOPE, "trace": "kept"}), headers("echo"), True),
        (call("fail", {"message": "boom"}), headers("fail"), True),
        (call("no_such_tool", {}), headers("no_such_tool"), True),
        (call("echo", {}), headers("echo"), True),
        (call("echo", {"text": 5}), headers("echo"), True),
        (call("echo", [1, 2]), headers("echo"), True),  # the kernel refuses it, in either path
        (call("headers", {}), headers("headers", LIMITED_KEY), True),  # not granted: reads as unknown
        (call("regional", {"region": "eu-west"}), headers("regional", **{"Mcp-Param-Region": "eu-west"}), True),
        (call("regional", {"region": "eu-west"}), headers("regional", **{"Mcp-Param-Region": "us-east"}), False),
        (call("regional", {"region": "eu-west"}), headers("regional"), False),  # the mirrored header is missing
        (call("echo", {"text": "hi"}), headers("fail"), False),  # Mcp-Name disagrees with the body
        (call("echo", {"text": "hi"}, meta={}), headers("echo"), False),  # no envelope
        (call("echo", {"text": "hi"}, meta=None), headers("echo"), False),
        (call("echo", {"text": "hi"}, extra="member"), headers("echo"), False),
        (call("echo", {"text": "hi"}), headers("echo", Accept="application/json"), False),
        (call("echo", {"text": "hi"}), headers("echo", **{"Content-Type": "text/plain"}), False),
        (call("echo", {"text": "hi"}), headers("echo", Origin="http://evil.example"), False),
        (call("echo", {"text": "hi"}, meta={**ENVELOPE, "progressToken": 1}), headers("echo"), False),
        ({**call("echo", {"text": "hi"}), "params": {"_meta": ENVELOPE}}, headers("echo"), False),
    ],
    ids=[
        "success",
        "extra-meta",
        "tool-error",
        "unknown-tool",
        "missing-argument",
        "invalid-argument",
        "arguments-not-an-object",
        "tool-not-granted",
        "param-header-agrees",
        "param-header-disagrees",
        "param-header-missing",
        "name-header-disagrees",
        "no-envelope",
        "meta-null",
        "extra-envelope-member",
        "accept-json-only",
        "wrong-content-type",
        "foreign-origin",
        "progress-asked",
        "no-name",
    ],
)
async def test_both_paths_answer_alike(twins: Twins, body: Any, request_headers: dict[str, str], lean: bool) -> None:
    before = len(twins.served)
    got = await answers(twins, body, request_headers)
    assert got["lean"] == got["sdk"]
    assert (len(twins.served) > before) is lean


async def test_a_refused_call_is_429_with_retry_after_alike(twins: Twins) -> None:
    request = call("echo", {"text": "hi"})
    first = await answers(twins, request, headers("echo", LIMITED_KEY))
    second = await answers(twins, request, headers("echo", LIMITED_KEY))
    assert first["lean"][0] == first["sdk"][0] == 200
    assert second["lean"][:3] == second["sdk"][:3] == (429, "application/json", True)
    errors = [json.loads(second[name][3])["error"] for name in HUBS]
    for error in errors:  # the time left differs by the moments between the two requests
        assert 0 < error["data"].pop("retry_after_s") <= 60
        error["message"] = error["message"].split("; retry in")[0]
    assert errors[0] == errors[1]
    assert errors[0]["code"] == -32007


async def test_an_sdk_client_gets_the_same_results(twins: Twins) -> None:
    results = {}
    for name in HUBS:
        with anyio.fail_after(TIMEOUT):
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=TIMEOUT) as http,
                _client(twins.urls[name], http) as client,
            ):
                results[name] = (await client.call_tool("echo", {"text": "sdk"})).model_dump(by_alias=True)
    assert results["lean"] == results["sdk"]
    assert results["lean"]["structuredContent"] == {"result": "sdk"}


async def test_calls_that_ask_for_logs_go_the_sdk_way_and_get_them(twins: Twins) -> None:
    served = len(twins.served)
    received: list[str] = []

    async def on_log(params: Any) -> None:
        received.append(str(params.data))

    with anyio.fail_after(TIMEOUT):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=TIMEOUT) as http,
            _client(twins.urls["lean"], http, logging_callback=on_log, log_level="debug") as client,
        ):
            result = await client.call_tool("chatty", {"text": "hi"})
    assert isinstance(result.content[0], TextContent)
    assert result.content[0].text == "hi"
    assert received == ["echoing hi"]
    assert len(twins.served) == served


async def test_a_client_that_goes_away_cancels_the_upstream_call(twins: Twins) -> None:
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        with pytest.raises(httpx2.ReadTimeout):
            await http.post(
                twins.urls["lean"],
                json=call("block", {"key": "edge-gone"}),
                headers=headers("block"),
                timeout=httpx2.Timeout(TIMEOUT, read=0.5),
            )
        with anyio.fail_after(TIMEOUT):
            confirmed = await http.post(
                twins.urls["lean"],
                json=call("await_cancelled", {"key": "edge-gone"}),
                headers=headers("await_cancelled"),
            )
    assert json.loads(confirmed.content)["result"]["content"][0]["text"] == "cancelled"
    assert twins.served[-2:] == ["block", "await_cancelled"]


async def test_a_long_silent_call_commits_to_sse_with_pings_alike(
    twins: Twins, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lean_tool_calls, "KEEPALIVE_S", 0.2)
    monkeypatch.setattr(_streamable_http_modern, "_SSE_PING_INTERVAL", 0.2)
    served = len(twins.served)
    streams = {}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        for name in HUBS:
            with anyio.fail_after(TIMEOUT):
                response = await http.post(
                    twins.urls[name], json=call("slow", {"seconds": 1.0}), headers=headers("slow")
                )
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream"
            streams[name] = response.text
    assert len(twins.served) == served + 1
    for text in streams.values():
        assert text.startswith(": ping\r\n\r\n")
    data = {name: [line for line in text.split("\r\n") if line.startswith("data: ")] for name, text in streams.items()}
    assert data["lean"] == data["sdk"]
    assert len(data["lean"]) == 1
    assert json.loads(data["lean"][0].removeprefix("data: "))["result"]["content"][0]["text"] == "slept"


def _client(url: str, http: httpx2.AsyncClient, **client_args: Any) -> Client:
    return Client(streamable_http_client(url, http_client=http), mode=MODERN, **client_args)


def facts(connection: Any) -> tuple[Any, ...]:
    """What a handler can learn from a request's connection about its client."""
    params, capabilities = connection.client_params, connection.client_capabilities
    return (
        connection.protocol_version,
        None if params is None else params.model_dump_json(by_alias=True),  # JSON: true and 1 differ
        None if capabilities is None else capabilities.model_dump_json(by_alias=True),
        connection.initialized.is_set(),
        type(connection.outbound),
        connection.session_id,
        connection.state,
    )


@pytest.mark.parametrize(
    ("info", "capabilities"),
    [
        ({"name": "client", "version": "1.0"}, {}),
        (None, {"sampling": {}}),
        ({"name": "client"}, {}),  # no version: not client info, so no client params either
        ("not-an-object", {"elicitation": {"form": {}}}),
        ({"name": "client", "version": "1.0"}, "not-an-object"),
        ({"name": "client", "version": "1.0", "title": "A client"}, {"experimental": {"x": {"flag": True}}}),
    ],
    ids=["full", "no-info", "info-without-version", "info-not-an-object", "capabilities-not-an-object", "extras"],
)
def test_a_remembered_envelope_gives_what_from_envelope_gives(info: Any, capabilities: Any) -> None:
    lean = LeanToolCalls(TransportSecuritySettings())
    route = InboundModernRoute(MODERN, info, capabilities)
    expected = facts(Connection.from_envelope(MODERN, info, capabilities))
    first, second = lean._connection(route), lean._connection(route)
    assert facts(first) == facts(second) == expected
    assert first is not second  # per request, as before
    assert first.state is not second.state
    assert first.client_params is second.client_params  # the typed facts are remembered


def test_envelopes_that_differ_only_in_json_types_are_told_apart() -> None:
    lean = LeanToolCalls(TransportSecuritySettings())
    for flag in (True, 1, 1.0, "1", None):
        capabilities = {"experimental": {"x": {"flag": flag}}}
        connection = lean._connection(InboundModernRoute(MODERN, {"name": "c", "version": "1"}, capabilities))
        assert facts(connection) == facts(Connection.from_envelope(MODERN, {"name": "c", "version": "1"}, capabilities))
