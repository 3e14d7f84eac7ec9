"""The lean tools/call path answers exactly as the SDK client path does, in both protocol eras.

One echo upstream (Streamable HTTP, SSE answers) is configured twice: `lean` with the lean path (the
default) and `sdk` with `lean_calls: false`. A twin hub does this at 2026-07-28 (`protocol: auto`) and
another in the handshake era (`protocol: legacy`: 2025, sessions with `Mcp-Session-Id`). An agent of
the same era makes the same calls through both and must see the same answers, and the upstream must
receive the same request headers (but for the HTTP library's own User-Agent, which also shows that
each path really was taken, and the session id, which is each upstream session's own).
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.session import _clamp_inbound_ttl  # private, `mcp` is pinned
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    SERVER_INFO_META_KEY,
    CallToolRequest,
    ElicitResult,
    JSONRPCResponse,
    TextContent,
    jsonrpc_message_adapter,
)
from mcp_types.methods import validate_server_result
from pydantic import ValidationError

from connectors.mcp.lean_calls import LeanCalls, parse_message, request_data
from connectors.mcp.lean_handshake import check_call_result

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[2] / "servers" / "echo.py"
EVERYTHING = Path(__file__).resolve().parents[3] / "examples" / "servers" / "everything.py"
KEY = "hub_lean_calls_key_00000000000000000000000"
TIMEOUT = 30.0
CALL_TIMEOUT_S = 2.0
PATHS = ("lean", "sdk")
# The hub's `protocol` toward the upstream, and the agent transport of the same era.
ERAS = {"2026-07-28": "http-2026", "legacy": "http-legacy"}
# Headers that differ per request or per HTTP library, not per MCP client path.
LIBRARY_HEADERS = {"host", "content-length", "user-agent", "accept-encoding", "connection"}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Twin:
    running: Any  # conftest.RunningHub
    era: str  # the hub's `protocol` toward the upstream
    agent: str  # the agent's transport, of the same era


def twin_config(url: str, era: str) -> dict[str, Any]:
    protocol = "auto" if era == "2026-07-28" else era  # 2026-07-28 as most configurations reach it
    upstream = {"kind": "streamable-http", "url": url, "call_timeout_s": CALL_TIMEOUT_S, "protocol": protocol}
    return {
        "upstreams": [{"name": "lean", **upstream}, {"name": "sdk", **upstream, "lean_calls": False}],
        "virtual_servers": [{"name": path, "include": [{"upstream": path}]} for path in PATHS],
        "agents": [{"name": "agent", "keys": [{"key": KEY}], "servers": [{"server": path} for path in PATHS]}],
    }


@pytest.fixture(scope="module", params=list(ERAS))
async def twin(request, start_upstream, run_hub, make_hub_config) -> AsyncIterator[Twin]:
    era = request.param
    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url, era))) as running,
    ):
        yield Twin(running, era, ERAS[era])


def neutral(error: MCPError, path: str) -> tuple[object, ...]:
    """An agent's error with the upstream's name made path-neutral."""
    return ("error", error.code, error.message.replace(repr(path), "'X'"), error.error.data)


async def answer(twin: Twin, open_agent, path: str, tool: str, arguments: dict[str, Any], **client_args) -> Any:
    """What the agent sees: the result or the error, with the names that differ by path made neutral."""
    with anyio.fail_after(TIMEOUT):
        async with open_agent(twin.agent, twin.running, path, KEY, **client_args) as client:
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as exc:
                return neutral(exc, path)
    dumped = result.model_dump(by_alias=True, exclude_none=True)
    stamp = dumped.get("_meta", {}).get(SERVER_INFO_META_KEY)
    if stamp is not None:  # 2026-07-28: the virtual server's own, named after the path
        assert stamp["name"] == f"hub/{path}"
        stamp["name"] = "hub/X"
    return ("result", dumped)


def text_of(outcome: Any) -> str:
    assert outcome[0] == "result", outcome
    return str(outcome[1]["content"][0]["text"])


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("echo", {"text": "hello"}),
        ("fail", {"message": "boom"}),
        ("echo", {}),
        ("echo", {"text": 5}),
        ("no_such_tool", {}),
        ("regional", {"region": "eu-west"}),
    ],
    ids=["success", "tool-error", "missing-argument", "invalid-argument", "unknown-tool", "x-mcp-header"],
)
async def test_both_paths_answer_alike(twin, open_agent, tool: str, arguments: dict[str, Any]) -> None:
    lean = await answer(twin, open_agent, "lean", tool, arguments)
    sdk = await answer(twin, open_agent, "sdk", tool, arguments)
    assert lean == sdk


async def test_x_mcp_header_arguments_reach_the_upstream_as_headers_at_2026(twin, open_agent) -> None:
    lean = await answer(twin, open_agent, "lean", "regional", {"region": "eu-west"})
    # The header mirror is a 2026-07-28 feature: the SDK sends none in the handshake era, nor does the lean path.
    assert text_of(lean) == {"2026-07-28": "eu-west eu-west", "legacy": "eu-west None"}[twin.era]


async def test_the_upstream_receives_the_same_request_headers(twin, open_agent) -> None:
    seen = {path: json.loads(text_of(await answer(twin, open_agent, path, "headers", {}))) for path in PATHS}
    assert seen["lean"]["user-agent"] == "hub-lean-calls"
    assert "httpx" in seen["sdk"]["user-agent"]
    ignored = LIBRARY_HEADERS | {"mcp-session-id"}
    lean, sdk = ({k: v for k, v in seen[p].items() if k not in ignored} for p in PATHS)
    assert lean == sdk
    if twin.era == "2026-07-28":
        assert lean["mcp-method"] == "tools/call"
        assert lean["mcp-name"] == "headers"
        assert lean["mcp-protocol-version"] == "2026-07-28"
        assert "mcp-session-id" not in seen["lean"]
    else:
        assert lean["mcp-protocol-version"] == seen["sdk"]["mcp-protocol-version"] != "2026-07-28"
        assert "mcp-method" not in lean


@pytest.mark.parametrize("twin", ["legacy"], indirect=True)
async def test_a_handshake_era_lean_call_carries_its_sdk_sessions_id(twin, open_agent) -> None:
    """On the `lean` upstream, a call with progress takes the SDK path: both must name one session."""
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    with anyio.fail_after(TIMEOUT):
        async with open_agent(twin.agent, twin.running, "lean", KEY) as client:
            lean = await client.call_tool("headers", {})
            sdk = await client.call_tool("headers", {}, progress_callback=on_progress)
    lean_headers, sdk_headers = (json.loads(r.content[0].text) for r in (lean, sdk))  # type: ignore[union-attr]
    assert lean_headers["user-agent"] == "hub-lean-calls"
    assert "httpx" in sdk_headers["user-agent"]
    assert lean_headers["mcp-session-id"] == sdk_headers["mcp-session-id"] != ""


async def test_upstream_log_messages_reach_the_agent_alike(twin, open_agent) -> None:
    logs: dict[str, list[str]] = {}
    for path in PATHS:
        received: list[str] = []

        async def on_log(params, received=received) -> None:
            received.append(str(params.data))

        result = await answer(
            twin, open_agent, path, "chatty", {"text": "hi"}, logging_callback=on_log, log_level="debug"
        )
        assert text_of(result) == "hi"
        logs[path] = received
    assert logs["lean"] == logs["sdk"] == ["echoing hi"]


async def test_a_deadline_cancels_the_upstream_call_alike(twin, open_agent) -> None:
    for path in PATHS:
        key = f"deadline-{twin.era}-{path}"
        timed_out = await answer(twin, open_agent, path, "block", {"key": key})
        confirmed = await answer(twin, open_agent, path, "await_cancelled", {"key": key})
        assert timed_out == ("error", -32004, "upstream 'X' did not answer in time", timed_out[3])
        # The upstream's handler was cancelled: by the closed POST at 2026-07-28, by notifications/cancelled in 2025.
        assert text_of(confirmed) == "cancelled"


@pytest.mark.parametrize("twin", ["legacy"], indirect=True)
async def test_an_elicitation_during_a_lean_call_is_answered_by_the_agent_alike(twin, open_agent) -> None:
    asked: dict[str, list[str]] = {}
    for path in PATHS:
        questions: list[str] = []

        async def on_elicit(context, params, questions=questions) -> ElicitResult:
            questions.append(params.message)
            return ElicitResult(action="accept", content={"answer": f"forty-two via {len(questions)}"})

        result = await answer(
            twin, open_agent, path, "ask", {"question": "the answer?"}, elicitation_callback=on_elicit
        )
        assert text_of(result) == "accept forty-two via 1"
        asked[path] = questions
    assert asked["lean"] == asked["sdk"] == ["the answer?"]


@pytest.mark.parametrize("twin", ["legacy"], indirect=True)
async def test_an_elicitation_the_agent_refuses_fails_the_call_alike(twin, open_agent) -> None:
    async def refuse(context, params) -> ElicitResult:
        raise RuntimeError("no user here")

    lean, sdk = [
        await answer(twin, open_agent, path, "ask", {"question": "the answer?"}, elicitation_callback=refuse)
        for path in PATHS
    ]
    assert lean == sdk
    # The hub's error answer went back to the upstream, whose elicit() raised it as the call's error.
    assert lean == ("error", INTERNAL_ERROR, "elicitation/create failed at the agent: no user here", None)


@pytest.mark.parametrize("era", list(ERAS))
async def test_a_dead_upstream_fails_alike(era, start_upstream, run_hub, make_hub_config, open_agent) -> None:
    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url, era))) as running,
    ):
        twin = Twin(running, era, ERAS[era])
        pid = int(text_of(await answer(twin, open_agent, "lean", "pid", {})))
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        lean = await answer(twin, open_agent, "lean", "echo", {"text": "down"})
        sdk = await answer(twin, open_agent, "sdk", "echo", {"text": "down"})
    assert lean[0] == sdk[0] == "error"
    assert lean[1] == sdk[1]
    assert lean[2] == sdk[2]


async def test_lean_and_sdk_requests_share_one_session_without_id_clashes(
    start_upstream, run_hub, make_hub_config, open_agent
) -> None:
    """Lean calls and SDK-path calls (with progress) in flight at once on one handshake-era session.

    The upstream keys a session's in-flight requests by `str(id)`; the SDK numbers its requests from 1
    on a fresh session, so lean ids taken from the same numbers would meet (a lost or swapped answer).
    The rendezvous returns only once every call is in flight together, so they all overlap.
    """
    parties = 8  # per path; a fresh session's SDK ids stay below this after the handshake and catalog
    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url, "legacy"))) as running,
    ):
        twin = Twin(running, "legacy", ERAS["legacy"])
        answers: dict[str, str] = {}
        progressed: set[str] = set()

        async def call(client, text: str, with_progress: bool) -> None:
            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progressed.add(text)

            result = await client.call_tool(
                "rendezvous",
                {"text": text, "group": "ids", "parties": 2 * parties},
                progress_callback=on_progress if with_progress else None,
            )
            assert isinstance(result.content[0], TextContent)
            answers[text] = result.content[0].text

        with anyio.fail_after(TIMEOUT):
            async with (
                open_agent(twin.agent, running, "lean", KEY) as lean_agent,
                open_agent(twin.agent, running, "lean", KEY) as sdk_agent,
                anyio.create_task_group() as tg,
            ):
                for n in range(parties):
                    tg.start_soon(call, lean_agent, f"lean-{n}", False)
                    tg.start_soon(call, sdk_agent, f"sdk-{n}", True)
    expected = {f"{path}-{n}" for path in PATHS for n in range(parties)}
    assert answers == {text: text for text in expected}
    assert progressed == {f"sdk-{n}" for n in range(parties)}  # the calls with progress took the SDK path


async def test_a_session_the_upstream_forgot_is_replaced_alike(
    start_upstream, run_hub, make_hub_config, open_agent
) -> None:
    """An upstream restarted on the same port answers the old session id with 404; the hub starts a new session.

    Streamable HTTP says a client MUST then start a new session. Whichever request meets the 404
    first (an agent's call, on either path, or the SDK client's own GET stream) ends the session, so
    the first call fails one of two ways: with the upstream's own 404 error, or, when the hub already
    noticed, as an upstream being restarted. After the reconnect calls are answered again.
    """
    async with (
        start_upstream(ECHO, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url, "legacy"))) as running,
    ):
        twin = Twin(running, "legacy", ERAS["legacy"])
        pid = int(text_of(await answer(twin, open_agent, "lean", "pid", {})))
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        port = url.rsplit(":", 1)[1].split("/")[0]
        async with start_upstream(ECHO, "--transport", "streamable-http", "--port", port) as again:
            assert again == url
            first = [await answer(twin, open_agent, path, "echo", {"text": "again"}) for path in PATHS]
            with anyio.fail_after(TIMEOUT):
                for path in PATHS:  # bounded: the supervisor reconnects after 0.5 s
                    while (later := await answer(twin, open_agent, path, "echo", {"text": "again"}))[0] != "result":
                        assert later[0] == "error"
                        await anyio.sleep(0.2)
                    assert text_of(later) == "again"
            restarts = {path: running.hub.upstreams[path].health.restarts for path in PATHS}
    for outcome in first:
        assert outcome[0] == "error"
        assert outcome[1:3] in (
            (INVALID_REQUEST, "Session not found"),
            (-32009, "upstream 'X' is not available right now; try again shortly"),
            (-32009, "upstream 'X' closed the connection; it is being restarted"),
            (-32004, "upstream 'X' did not answer in time"),
        ), outcome
    assert restarts["lean"] >= 1  # a new session: the supervisor reconnected
    assert restarts["sdk"] >= 1


@pytest.mark.parametrize("twin", ["2026-07-28"], indirect=True)
async def test_a_2025_agent_on_an_auto_upstream_takes_the_lean_path_on_the_handshake_session(twin, open_agent) -> None:
    """`protocol: auto` also opens a handshake-era session for 2025-era agents; it has a lean path too."""
    legacy_agent = Twin(twin.running, "legacy", ERAS["legacy"])
    seen = {path: json.loads(text_of(await answer(legacy_agent, open_agent, path, "headers", {}))) for path in PATHS}
    assert seen["lean"]["user-agent"] == "hub-lean-calls"
    assert "httpx" in seen["sdk"]["user-agent"]
    assert seen["lean"]["mcp-session-id"]
    assert seen["sdk"]["mcp-session-id"]
    assert seen["lean"]["mcp-protocol-version"] == seen["sdk"]["mcp-protocol-version"] != "2026-07-28"
    ignored = LIBRARY_HEADERS | {"mcp-session-id"}
    lean, sdk = ({k: v for k, v in seen[p].items() if k not in ignored} for p in PATHS)
    assert lean == sdk


@pytest.mark.parametrize("era", list(ERAS))
async def test_a_call_whose_stream_the_upstream_ends_early_is_resumed_alike(
    era, start_upstream, run_hub, make_hub_config, open_agent, monkeypatch
) -> None:
    """SEP-1699 polling: the upstream ends the call's SSE stream after its priming event, then answers.

    The everything server's `test_reconnection` does that where the SDK offers it (a 2025-11-25
    session with an event store); the client resumes with `Last-Event-ID`. Neither the call nor the
    upstream may suffer: before the lean path resumed, the call failed and its upstream was restarted.
    """
    resumed: list[str | None] = []
    original = LeanCalls._resume

    async def counting(self: LeanCalls, headers: dict[str, str], cursor: Any) -> Any:
        resumed.append(cursor.event_id)
        return await original(self, headers, cursor)

    monkeypatch.setattr(LeanCalls, "_resume", counting)
    async with (
        start_upstream(EVERYTHING, "--transport", "streamable-http") as url,
        run_hub(make_hub_config(**twin_config(url, era))) as running,
    ):
        twin = Twin(running, era, ERAS[era])
        outcomes = {path: await answer(twin, open_agent, path, "test_reconnection", {}) for path in PATHS}
        health = {path: running.hub.upstreams[path].health for path in PATHS}
        states = {path: (health[path].state, health[path].restarts) for path in PATHS}
    assert outcomes["lean"] == outcomes["sdk"]
    assert text_of(outcomes["lean"]) == "Reconnection test completed"
    assert states == {path: ("ready", 0) for path in PATHS}
    if era == "legacy":  # at 2026-07-28 the SDK's server has no stream to end: the call just answers
        assert len(resumed) == 1
        assert resumed[0]


async def test_a_call_whose_stream_is_cut_short_fails_alone_alike(twin, open_agent) -> None:
    """An SSE answer that ends with no response and no event id to resume from (a proxy cutting it).

    Only that call fails, naming its upstream: the upstream's session is fine, so it is not
    restarted (which would fail every other call in flight on it), and the next call goes through.
    """
    before = {path: twin.running.hub.upstreams[path].health.restarts for path in PATHS}
    cut = {path: await answer(twin, open_agent, path, "cut", {}) for path in PATHS}
    after = {path: await answer(twin, open_agent, path, "echo", {"text": "still here"}) for path in PATHS}
    restarts = {path: twin.running.hub.upstreams[path].health.restarts for path in PATHS}
    assert cut["lean"][:3] == cut["sdk"][:3] == ("error", -32009, "upstream 'X': SSE stream ended without a response")
    assert [text_of(after[path]) for path in PATHS] == ["still here", "still here"]
    assert restarts == before


def read_as_the_sdk_does(data: bytes | str) -> tuple[str, str]:
    """The SDK adapter's reading of an answer: a result, another message, or a parse error (as text: NaN, true vs 1)."""
    try:
        message = jsonrpc_message_adapter.validate_json(data, by_name=False)
    except ValidationError:
        return ("error", f"{PARSE_ERROR} Failed")
    if isinstance(message, JSONRPCResponse):
        return ("result", repr(dict(message.result)))
    return ("message", repr(message))


def read_lean(data: bytes | str) -> tuple[str, str]:
    try:
        message = parse_message(data, "Failed")
    except MCPError as exc:
        return ("error", f"{exc.code} {exc.message.split(':')[0]}")
    if isinstance(message, dict):
        return ("result", repr(message))
    if isinstance(message, JSONRPCResponse):  # one the adapter read after all (an extra member, say)
        return ("result", repr(dict(message.result)))
    return ("message", repr(message))


ANSWERS = [
    b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}],"isError":false}}',
    b'{"jsonrpc":"2.0","id":"a-7","result":{}}',
    b'{"result":{"x":[1,2.5,null,"\\u00e9"]},"id":3,"jsonrpc":"2.0"}',
    b'{"jsonrpc":"2.0","id":1,"result":{"x":NaN,"y":Infinity,"z":1e400}}',
    b'{"jsonrpc":"2.0","id":1,"result":{"x":123456789012345678901234567890}}',
    b'{"jsonrpc":"2.0","id":1,"result":{"x":1,"x":2}}',
    b'{"jsonrpc":"2.0","id":1,"result":{"x":"\\ud800"}}',
    b'{"jsonrpc":"2.0","id":1,"result":{"x":"\xff"}}',
    b'{"jsonrpc":"2.0","id":1,"result":{}} trailing',
    b'\xef\xbb\xbf{"jsonrpc":"2.0","id":1,"result":{}}',
    b"",
    b'{"jsonrpc":"2.0","id":true,"result":{}}',
    b'{"jsonrpc":"2.0","id":1.0,"result":{}}',
    b'{"jsonrpc":"2.0","id":null,"result":{}}',
    b'{"jsonrpc":"1.0","id":1,"result":{}}',
    b'{"jsonrpc":"2.0","id":1,"result":[]}',
    b'{"jsonrpc":"2.0","id":1,"result":{},"extra":1}',
    b'{"jsonrpc":"2.0","id":1,"result":{},"method":"ping"}',
    b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}',
    b'{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}',
    b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}',
    b'[{"jsonrpc":"2.0","id":1,"result":{}}]',
]


@pytest.mark.parametrize("body", ANSWERS)
def test_an_answer_is_read_as_the_sdk_reads_it(body: bytes) -> None:
    expected = read_as_the_sdk_does(body)
    assert read_lean(body) == expected
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return
    assert read_lean(text) == expected  # an SSE event's data


def test_a_plain_result_skips_the_adapter() -> None:
    """The point of `parse_message`: a plain result is read without the SDK's four-way message trial."""
    result = parse_message(ANSWERS[0], "Failed")
    assert result == {"content": [{"type": "text", "text": "hi"}], "isError": False}


def the_sdk_request(params: dict[str, Any]) -> dict[str, Any]:
    request = CallToolRequest.model_validate({"method": "tools/call", "params": params})
    return request.model_dump(by_alias=True, mode="json", exclude_none=True)


def agent_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params as the hub's pipeline holds them: the agent's, validated and dumped by the SDK's model."""
    return the_sdk_request(params)["params"]


@pytest.mark.parametrize(
    "params",
    [
        {"name": "echo", "arguments": {"text": "hi", "none": None, "list": [None, 1]}},
        {"name": "echo"},
        {"name": "echo", "arguments": {}, "_meta": {"trace": {"id": 1, "gone": None}}},
        {"name": "echo", "task": {"ttl": 1000}},
        {"name": "echo", "inputResponses": {"a": {"action": "accept", "content": {}}}, "requestState": "s"},
    ],
    ids=["arguments", "name-only", "meta", "task", "input-responses"],
)
def test_the_hubs_params_are_sent_as_the_sdk_dumps_them(params: dict[str, Any]) -> None:
    held = agent_params(params)
    data = request_data(held)
    assert data == the_sdk_request(held)
    assert data["params"].get("arguments") is held.get("arguments")  # taken as they are, not dumped again
    data["params"].setdefault("_meta", {})["stamped"] = True  # what the SDK's stamp does to them
    assert "stamped" not in held.get("_meta", {})


@pytest.mark.parametrize(
    "params",
    [
        {"name": "echo", "unknown": 1},
        {"name": "echo", "_meta": None},
        {"name": "echo", "arguments": None},
    ],
    ids=["unknown-field", "null-meta", "null-arguments"],
)
def test_other_params_are_dumped_by_the_sdks_model(params: dict[str, Any]) -> None:
    assert request_data(params) == the_sdk_request(params)


def test_params_the_sdks_model_refuses_are_refused_alike() -> None:
    with pytest.raises(ValidationError):
        request_data({"name": 5})


def check_as_the_sdk_does(version: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """`ClientSession.send_request`'s check of a result: the floor on `ttlMs`, then the version's validation."""
    _clamp_inbound_ttl(raw)
    try:
        validate_server_result("tools/call", version, raw)
    except KeyError:
        pass
    except ValidationError:
        return ("refused", raw)
    return ("taken", raw)


def check_lean(version: str, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    try:
        check_call_result(version, raw)
    except ValidationError:
        return ("refused", raw)
    return ("taken", raw)


CALL_RESULTS = [
    {"content": [{"type": "text", "text": "hi"}]},
    {"content": [{"type": "text", "text": "hi"}], "isError": True, "structuredContent": {"a": 1}},
    {"content": [{"type": "text", "text": "hi"}], "ttlMs": -5, "resultType": "complete"},
    {"content": [{"type": "text", "text": "hi"}], "ttlMs": True},
    {"content": [{"type": "text", "text": "hi"}], "unknown": [1, 2]},
    {"content": [{"type": "image", "data": "aGk=", "mimeType": "image/png"}]},
    {"content": [{"type": "text"}]},
    {"content": "hi"},
    {"content": [{"type": "text", "text": "hi"}], "isError": "yes"},
    {},
    {"resultType": "input_required", "inputRequests": {}},
]


@pytest.mark.parametrize("version", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"])
@pytest.mark.parametrize("result", CALL_RESULTS, ids=[f"result-{i}" for i in range(len(CALL_RESULTS))])
def test_a_result_is_checked_as_the_sdk_client_checks_it(version: str, result: dict[str, Any]) -> None:
    """Validation alone, with the SDK's validator, takes and refuses exactly what the SDK's check does."""
    expected = check_as_the_sdk_does(version, json.loads(json.dumps(result)))
    assert check_lean(version, json.loads(json.dumps(result))) == expected


def test_both_outcomes_occur_among_the_checked_results() -> None:
    outcomes = {check_lean("2026-07-28", json.loads(json.dumps(result)))[0] for result in CALL_RESULTS}
    assert outcomes == {"taken", "refused"}
