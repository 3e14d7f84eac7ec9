"""A handshake-era request's SSE answer written in the POST's own task reads exactly as the SDK's.

Three hubs front the same echo upstream: `lean` with `LeanPostTransport` always answering in SSE
(`server.handshake_json_within_s: 0`), `sdk` with `server.lean_handshake_posts: false`, and `json`
answering a request whose response comes first and within `JSON_WITHIN_S` as one JSON body. A
2025-era session is opened on each, every request is sent to each as raw HTTP, and the answers of
`lean` and `sdk` (status, headers, body) must be equal byte for byte once the values that differ by
design are made neutral: the session id and the per-session tag of event ids. `json` must carry the
same JSON-RPC message. A spy counts the requests the lean path answered, so each case also shows
which path was taken.
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
from tests.raw_sessions import open_session, session_headers

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[2] / "servers" / "echo.py"
KEY = "hub_handshake_posts_key_00000000000000000000"
TIMEOUT = 30.0
HUBS = ("lean", "sdk", "json")
JSON_WITHIN_S = 1.5  # the `json` hub's window: the echo upstream's `fail` alone takes 0.3 s (it logs a traceback)
SLOW_S = 2.0  # a call slower than that window
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
    def config(url: str, **server: Any) -> Any:
        return make_hub_config(
            server=server,
            upstreams=[{"name": "echo", "kind": "streamable-http", "url": url, "call_timeout_s": 5}],
            virtual_servers=[{"name": "echo", "include": [{"upstream": "echo"}]}],
            agents=[{"name": "agent", "keys": [{"key": KEY}], "servers": [{"server": "echo", "tools": ["*"]}]}],
        )

    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(config(url, handshake_json_within_s=0)) as lean,
        run_hub(config(url, lean_handshake_posts=False)) as sdk,
        run_hub(config(url, handshake_json_within_s=JSON_WITHIN_S)) as fast,
        httpx2.AsyncClient(timeout=TIMEOUT) as http,
    ):
        urls = {"lean": lean.server_url("echo"), "sdk": sdk.server_url("echo"), "json": fast.server_url("echo")}
        sessions = {name: await _open_session(http, urls[name]) for name in HUBS}
        yield Twins(urls, sessions, lean_spy)


def headers(session: str | None = None, **more: str) -> dict[str, str]:
    return session_headers(KEY, session, **more)


async def _open_session(http: httpx2.AsyncClient, url: str) -> str:
    with anyio.fail_after(TIMEOUT):
        return await open_session(http, url, KEY)


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
    if not lean:  # the SDK's code answers: the JSON window does not apply
        assert got["json"] == got["sdk"]
        return
    status, fields, content = got["json"]
    assert status == got["sdk"][0] == 200
    assert ("content-type", "application/json") in fields
    assert ("mcp-session-id", "<session>") in fields
    assert json.loads(content) == sse_messages(got["sdk"][2])[-1]


def sse_messages(body: bytes) -> list[Any]:
    """The JSON-RPC messages of an SSE answer, in order (the priming event's empty data is no message)."""
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith(b"data: ") and line[6:]]


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
    got = await answers(twins, json.dumps(call("slow", {"seconds": SLOW_S})).encode())
    pings = {name: re.findall(rb": ping - [^\r]*\r\n\r\n", got[name][2]) for name in HUBS}
    assert pings["lean"]  # the SDK's response pings every 15 s: this call is too short to see one there
    bodies = {name: re.sub(rb": ping - [^\r]*\r\n\r\n", b"", got[name][2]) for name in HUBS}
    assert bodies["lean"] == bodies["sdk"] == bodies["json"]  # slower than the JSON window: primed SSE
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
    assert seen["lean"] == seen["sdk"] == seen["json"]
    assert seen["lean"] == [
        "progress holding",
        "log echoing hi",
        "asked the answer?",
        "held",
        "hi",
        "accept forty-two",
    ]


@pytest.mark.parametrize(("hub", "connections"), [("lean", 4), ("json", 1)])
async def test_json_answers_keep_the_sdk_clients_connection(twins: Twins, hub: str, connections: int) -> None:
    """The SDK client drops an SSE answer's connection once it has the response; a JSON answer's it keeps."""
    streams: list[object] = []  # held, so no two connections share an id()

    async def on_response(response: httpx2.Response) -> None:
        if response.request.method == "POST" and b'"tools/call"' in response.request.content:
            streams.append(response.extensions["network_stream"])

    auth = {"Authorization": f"Bearer {KEY}"}
    with anyio.fail_after(TIMEOUT):
        async with (
            httpx2.AsyncClient(headers=auth, timeout=TIMEOUT, event_hooks={"response": [on_response]}) as http,
            Client(streamable_http_client(twins.urls[hub], http_client=http), mode="legacy") as client,
        ):
            texts = [(await client.call_tool("echo", {"text": str(n)})).content for n in range(4)]
    assert [c[0].text for c in texts if isinstance(c[0], TextContent)] == ["0", "1", "2", "3"]
    assert len(streams) == 4
    assert len({id(stream) for stream in streams}) == connections


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
            request = call("slow", {"seconds": SLOW_S}, 21)
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
    assert twins.answered[answered:] == ([] if hub == "sdk" else ["tools/call"])
