"""A handshake-era request's SSE answer written in the POST's own task reads exactly as the SDK's.

Two hubs front the same echo upstream: `lean` with `LeanPostTransport` (the default) and `sdk` with
`server.lean_handshake_posts: false`. A 2025-era session is opened on each, every request is sent to
both as raw HTTP, and the answers (status, headers, body) must be equal byte for byte once the
values that differ by design are made neutral: the session id and the per-session tag of event ids.
A spy counts the requests the lean path answered, so each case also shows which path was taken.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import ElicitResult, TextContent

from hub.transports import handshake_posts
from hub.transports.handshake_posts import LeanPostTransport

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[2] / "servers" / "echo.py"
KEY = "hub_handshake_posts_key_00000000000000000000"
TIMEOUT = 30.0
VERSION = "2025-11-25"  # primed (resumable) streams
HUBS = ("lean", "sdk")
_EVENT_ID = re.compile(rb"^id: [0-9a-f]{16}-", re.MULTILINE)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Twins:
    urls: dict[str, str]
    sessions: dict[str, str]
    answered: list[str]  # the method of every request the lean path answered itself


@pytest.fixture(scope="module")
def lean_spy() -> Iterator[list[str]]:
    answered: list[str] = []
    original = LeanPostTransport._answer

    async def spying(self: LeanPostTransport, request_id: str, message: Any, *args: Any) -> None:
        answered.append(message.message.method)
        await original(self, request_id, message, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LeanPostTransport, "_answer", spying)
        yield answered


@pytest.fixture(scope="module")
async def twins(start_upstream, run_hub, make_hub_config, lean_spy) -> AsyncIterator[Twins]:
    def config(url: str, lean: bool) -> Any:
        return make_hub_config(
            server={"lean_handshake_posts": lean},
            upstreams=[{"name": "echo", "kind": "streamable-http", "url": url, "call_timeout_s": 5}],
            virtual_servers=[{"name": "echo", "include": [{"upstream": "echo"}]}],
            agents=[{"name": "agent", "keys": [{"key": KEY}], "servers": [{"server": "echo", "tools": ["*"]}]}],
        )

    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(config(url, lean=True)) as lean,
        run_hub(config(url, lean=False)) as sdk,
        httpx2.AsyncClient(timeout=TIMEOUT) as http,
    ):
        urls = {"lean": lean.server_url("echo"), "sdk": sdk.server_url("echo")}
        sessions = {name: await _open_session(http, urls[name]) for name in HUBS}
        yield Twins(urls, sessions, lean_spy)


def headers(session: str | None = None, **more: str) -> dict[str, str]:
    out = {
        "Authorization": f"Bearer {KEY}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": VERSION,
        **more,
    }
    if session is not None:
        out["Mcp-Session-Id"] = session
    return out


async def _open_session(http: httpx2.AsyncClient, url: str) -> str:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }
    with anyio.fail_after(TIMEOUT):
        opened = await http.post(url, json=init, headers=headers())
        assert opened.status_code == 200
        session = opened.headers["mcp-session-id"]
        done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(url, json=done, headers=headers(session))).status_code == 202
    return session


def call(tool: str, arguments: Any, request_id: int | str = 11) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


async def answers(twins: Twins, body: bytes, **more: str) -> dict[str, tuple[Any, ...]]:
    """Each hub's answer on its own session: status, headers and body, with by-design differences neutral."""
    out = {}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        for name in HUBS:
            session = twins.sessions[name]
            with anyio.fail_after(TIMEOUT):
                response = await http.post(twins.urls[name], content=body, headers=headers(session, **more))
            neutral = [(k, "<session>" if v == session else v) for k, v in response.headers.items() if k != "date"]
            out[name] = (response.status_code, neutral, _EVENT_ID.sub(b"id: <tag>-", response.content))
    return out


@pytest.mark.parametrize(
    ("body", "more", "lean"),
    [
        (call("echo", {"text": "hello"}), {}, True),
        (call("echo", {"text": "hello"}, "text-id"), {}, True),
        (call("fail", {"message": "boom"}), {}, True),
        (call("no_such_tool", {}), {}, True),
        (call("echo", {}), {}, True),
        (call("echo", {"text": 5}), {}, True),
        ({"jsonrpc": "2.0", "id": 12, "method": "tools/list"}, {}, True),
        ({"jsonrpc": "2.0", "id": 13, "method": "ping"}, {}, True),
        ({"jsonrpc": "2.0", "id": 14, "method": "no/such/method"}, {}, True),
        ({"jsonrpc": "2.0", "id": 15, "method": "tools/call", "params": "not an object"}, {}, False),
        ({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}}, {}, False),
        (call("echo", {"text": "hi"}), {"Accept": "application/json"}, False),
        (call("echo", {"text": "hi"}), {"Content-Type": "text/plain"}, False),
        (call("echo", {"text": "hi"}), {"Origin": "http://evil.example"}, False),
        (call("echo", {"text": "hi"}), {"MCP-Protocol-Version": "2025-06-18"}, True),  # no priming event
    ],
    ids=[
        "success",
        "string-id",
        "tool-error",
        "unknown-tool",
        "missing-argument",
        "invalid-argument",
        "tools-list",
        "ping",
        "unknown-method",
        "params-not-an-object",
        "notification",
        "accept-json-only",
        "wrong-content-type",
        "foreign-origin",
        "unprimed-version",
    ],
)
async def test_both_paths_answer_alike(twins: Twins, body: Any, more: dict[str, str], lean: bool) -> None:
    before = len(twins.answered)
    got = await answers(twins, json.dumps(body).encode(), **more)
    assert got["lean"] == got["sdk"]
    assert (len(twins.answered) > before) is lean


async def test_an_unknown_session_is_refused_alike(twins: Twins) -> None:
    got = {}
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        for name in HUBS:
            with anyio.fail_after(TIMEOUT):
                response = await http.post(twins.urls[name], json=call("echo", {"text": "hi"}), headers=headers("nope"))
            got[name] = (response.status_code, response.content)
    assert got["lean"] == got["sdk"]
    assert got["lean"][0] == 404


async def test_a_long_silent_call_is_pinged_alike(twins: Twins, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handshake_posts, "PING_S", 0.2)
    got = await answers(twins, json.dumps(call("slow", {"seconds": 1.0})).encode())
    pings = {name: re.findall(rb": ping - [^\r]*\r\n\r\n", got[name][2]) for name in HUBS}
    assert pings["lean"]  # the SDK's response pings every 15 s: this call is too short to see one there
    bodies = {name: re.sub(rb": ping - [^\r]*\r\n\r\n", b"", got[name][2]) for name in HUBS}
    assert bodies["lean"] == bodies["sdk"]
    assert b"slept" in bodies["lean"]


async def test_progress_logs_and_elicitation_reach_an_sdk_client_alike(twins: Twins) -> None:
    seen: dict[str, list[str]] = {}
    for name in HUBS:
        events: list[str] = []

        async def on_progress(progress: float, total: float | None, message: str | None, events=events) -> None:
            events.append(f"progress {message}")

        async def on_log(params: Any, events=events) -> None:
            events.append(f"log {params.data}")

        async def on_elicit(context: Any, params: Any, events=events) -> ElicitResult:
            events.append(f"asked {params.message}")
            return ElicitResult(action="accept", content={"answer": "forty-two"})

        with anyio.fail_after(TIMEOUT):
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=TIMEOUT) as http,
                Client(
                    streamable_http_client(twins.urls[name], http_client=http),
                    mode="legacy",
                    logging_callback=on_log,
                    log_level="debug",
                    elicitation_callback=on_elicit,
                ) as client,
            ):
                results = [
                    await client.call_tool("hold", {"seconds": 0.01}, progress_callback=on_progress),
                    await client.call_tool("chatty", {"text": "hi"}),
                    await client.call_tool("ask", {"question": "the answer?"}),
                ]
        events += [c.text for r in results for c in r.content if isinstance(c, TextContent)]
        seen[name] = events
    assert seen["lean"] == seen["sdk"]
    assert seen["lean"] == [
        "progress holding",
        "log echoing hi",
        "asked the answer?",
        "held",
        "hi",
        "accept forty-two",
    ]


@pytest.mark.parametrize("hub", HUBS)
async def test_a_client_that_goes_away_resumes_its_answer_alike(twins: Twins, hub: str) -> None:
    """The client drops the stream after its priming event and resumes at once, while the call goes on.

    The POST's answer must have let go of the request's stream by then (as the SDK's does on the
    disconnect): the resumed GET takes it over and gets the answer when it comes. Runs last: the
    two sessions' event logs differ afterwards.
    """
    answered = len(twins.answered)
    url, session = twins.urls[hub], twins.sessions[hub]
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        with anyio.fail_after(TIMEOUT):
            request = call("slow", {"seconds": 1.0}, 21)
            async with http.stream("POST", url, json=request, headers=headers(session)) as r:
                async for line in r.aiter_lines():
                    if line.startswith("id: "):
                        cursor = line.removeprefix("id: ")
                        break
            async with http.stream("GET", url, headers=headers(session, **{"Last-Event-ID": cursor})) as resumed:
                assert resumed.status_code == 200
                async for line in resumed.aiter_lines():
                    if line.startswith("data: ") and '"id":21' in line:
                        break
    assert "slept" in line
    assert twins.answered[answered:] == (["tools/call"] if hub == "lean" else [])
