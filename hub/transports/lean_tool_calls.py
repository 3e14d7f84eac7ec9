"""A 2026-07-28 tools/call answered in the request's own task: the agent edge's lean path.

The SDK's modern transport (`StreamableHTTPSessionManager` → `handle_modern_request`) serves any
2026-07-28 POST. Around its kernel it re-reads the body, validates the envelope into pydantic
models, and runs the handler as a sibling task beside a disconnect watcher, with a memory stream
for notifications and a window that decides between a JSON and an SSE answer. For a `tools/call`
that asked for no progress and opted in to no log messages, nothing can ever go on that stream: the
answer is one JSON body, and that machinery decides nothing. It is not more instructions per call,
but under concurrency its sibling tasks and cancel scopes cost the hub about a sixth of its CPU per
call (docs/performance.md, measured with and without this path).

This path serves exactly those calls. It runs the SDK's own checks — Content-Type, Host and Origin
(`TransportSecurityMiddleware`), Accept (`check_accept_headers`), duplicated routing headers, the
modern classification ladder, the `Mcp-Param-*` comparison — and hands every request that any of
them refuses back to the SDK transport, which answers it exactly as before. A request that passes
goes through the SDK's kernel (`ServerRunner.on_request`, as `serve_one` runs it: params
validation, middleware and its OpenTelemetry span, result serialisation and `serverInfo` stamp)
and its errors through the SDK's mapping (`modern_error_data`, `ERROR_CODE_HTTP_STATUS`). What
differs is only the transport around it: the handler runs in this task, a disconnect cancels it,
and a call still silent after the SDK's keepalive interval commits to an SSE answer with pings, as
the SDK does.

Watching for the disconnect (and for the keepalive) takes a task. Most calls are over long before
either matters, and a task group per call cost about 50 µs of CPU (measured against a timer), so
the watcher is started only for a call still running after `WATCH_AFTER_S`, in the endpoints' task
group (`attach`): a client that goes away sooner cancels its call at that point.

`server.lean_tool_calls: false` sends every request through the SDK transport;
tests/hub/transports/test_lean_tool_calls.py compares both answers, byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
from anyio.abc import TaskGroup
from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner, modern_error_data
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import NoBackChannelError
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_PARAM_HEADER_PREFIX,
    InboundModernRoute,
    _annotated_positions,  # private, `mcp` is pinned
    classify_inbound_request,
    find_duplicated_routing_header,
    find_invalid_x_mcp_header,
    validate_mcp_param_headers,
)
from mcp.shared.message import MessageMetadata, ServerMessageMetadata
from mcp.shared.transport_context import TransportContext
from mcp_types import LOG_LEVEL_META_KEY, RequestId
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from hub.core import json_text
from hub.transports.mcp_server import VirtualMcpServer

_ENVELOPE_KEYS: Final = frozenset(("jsonrpc", "id", "method", "params"))
_PARAM_HEADER_PREFIX: Final = MCP_PARAM_HEADER_PREFIX.lower()
KEEPALIVE_S: float = 15.0  # the SDK's `_SSE_PING_INTERVAL`: silence longer than this commits to SSE
_DECLARED_MAX = 4096  # tools whose header declarations are remembered; beyond, the memory starts over
_ENVELOPES_MAX = 256  # client envelopes whose typed form is remembered; beyond, the memory starts over
_JSON_TEXT = json_text.encoder()
WATCH_AFTER_S = 0.25  # a call still running after this gets a task watching for disconnects (and keepalives)
_SSE_HEADERS: Final = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache, no-transform"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]
_PING: Final = b": ping\r\n\r\n"


@dataclass
class _QuietExchange:
    """The dispatch context of a call whose answer carries no notification (no progress, no logs).

    2026-07-28 gives the server no back-channel; notifications could only ride the response, and
    this call asked for none.
    """

    transport: TransportContext
    request_id: RequestId
    message_metadata: MessageMetadata
    can_send_request: bool = field(default=False, init=False)
    _cancel_requested: anyio.Event | None = field(default=None, init=False)

    @property
    def cancel_requested(self) -> anyio.Event:
        """Never set (2026-07-28 cancels by closing the stream, which cancels the call itself); made on first use."""
        if self._cancel_requested is None:
            self._cancel_requested = anyio.Event()
        return self._cancel_requested

    async def send_raw_request(
        self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None
    ) -> dict[str, Any]:
        raise NoBackChannelError(method)

    async def notify(self, method: str, params: Mapping[str, Any] | None, opts: CallOptions | None = None) -> None:
        return None

    async def progress(self, progress: float, total: float | None = None, message: str | None = None) -> None:
        return None


def lean_request(message: Mapping[str, Any]) -> bool:
    """Whether a decoded 2026-07-28 POST body is a tools/call whose answer can carry no notification."""
    if message.keys() - _ENVELOPE_KEYS or message.get("method") != "tools/call" or "id" not in message:
        return False
    params = message.get("params")
    meta = params.get("_meta") if isinstance(params, dict) else None
    return isinstance(meta, dict) and "progressToken" not in meta and LOG_LEVEL_META_KEY not in meta


class LeanToolCalls:
    """Answers eligible 2026-07-28 tools/call POSTs; `serve` returns False to leave one to the SDK."""

    def __init__(self, security: TransportSecuritySettings) -> None:
        self._security = TransportSecurityMiddleware(security)
        self._tg: TaskGroup | None = None
        self._declared: dict[tuple[str, str], tuple[Mapping[str, Any], bool]] = {}
        self._envelopes: dict[tuple[str, str, str], Connection] = {}

    def attach(self, tg: TaskGroup | None) -> None:
        """The task group that runs the watchers of long calls (the endpoints' own); None when it ends."""
        self._tg = tg

    async def serve(
        self, server: VirtualMcpServer, message: Mapping[str, Any], scope: Scope, receive: Receive, send: Send
    ) -> bool:
        request = Request(scope, receive)
        route = await self._admitted(server, message, request)
        if route is None:
            return False
        request_id: RequestId = message["id"]
        exchange = _QuietExchange(
            transport=TransportContext(kind="streamable-http", can_send_request=False, headers=request.headers),
            request_id=request_id,
            message_metadata=ServerMessageMetadata(request_context=request),
        )
        connection = self._connection(route)
        answer = _Answer(send)
        reply: dict[str, Any] | None = None
        with anyio.CancelScope() as call:
            watcher = _Watcher(self._tg, answer, receive, call)
            try:
                result = await _served(server, exchange, message["params"], connection)
                reply = {"jsonrpc": "2.0", "id": request_id, "result": result}
            except Exception as exc:
                error = modern_error_data(exc).model_dump(mode="json", by_alias=True, exclude_none=True)
                reply = {"jsonrpc": "2.0", "id": request_id, "error": error}
            finally:
                await watcher.stop()
        if reply is not None:  # None: the client went away and the call was cancelled
            await answer.finish(reply)
        return True

    async def _admitted(
        self, server: VirtualMcpServer, message: Mapping[str, Any], request: Request
    ) -> InboundModernRoute | None:
        """The route of a request every SDK check lets through; None leaves the request to the SDK."""
        if await self._security.validate_request(request, is_post=True) is not None:
            return None
        has_json, has_sse = check_accept_headers(request)
        if not (has_json and has_sse):
            return None
        items = request.headers.items()
        if find_duplicated_routing_header(items) is not None:
            return None
        # `dict(request.headers)` as one pass: the first of a repeated header wins, as it does there.
        route = classify_inbound_request(message, headers=dict(reversed(items)))
        if not isinstance(route, InboundModernRoute) or self._param_headers_refused(server, message, request):
            return None
        return route

    def _connection(self, route: InboundModernRoute) -> Connection:
        """`Connection.from_envelope` for this request, its typed client facts remembered per envelope.

        `from_envelope` validates the client info and capabilities into pydantic models on every
        request, and a client sends the same ones every time: three validators a call, each cold in
        the CPU's caches by the next call (docs/performance.md). The connection itself stays per
        request (its state and exit stack are the request's); only the models are shared, and nothing
        writes to them.
        """
        version, info, capabilities = route.protocol_version, route.client_info, route.client_capabilities
        try:
            key = (version, _JSON_TEXT(info), _JSON_TEXT(capabilities))  # as text: true, 1 and 1.0 stay apart
        except (TypeError, ValueError, RecursionError):  # not JSON: nothing to remember it by
            return Connection.from_envelope(version, info, capabilities)
        known = self._envelopes.get(key)
        if known is None:
            if len(self._envelopes) >= _ENVELOPES_MAX:
                self._envelopes.clear()
            known = self._envelopes[key] = Connection.from_envelope(version, info, capabilities)
        # What `from_envelope` does with its typed facts: a ready connection without a back-channel.
        connection = Connection(known.outbound, protocol_version=version, client_params=known.client_params)
        connection.client_capabilities = known.client_capabilities
        connection.initialized.set()
        return connection

    def _param_headers_refused(self, server: VirtualMcpServer, message: Mapping[str, Any], request: Request) -> bool:
        """The SDK's `Mcp-Param-*` check of a tools/call, with the virtual server's schema lookup."""
        params = message["params"]
        name, arguments = params.get("name"), params.get("arguments")
        if not isinstance(name, str) or (arguments is not None and not isinstance(arguments, Mapping)):
            return False  # the kernel refuses these params itself
        arguments = arguments or {}
        if not arguments and not any(header.startswith(_PARAM_HEADER_PREFIX) for header in request.headers):
            return False
        schema = server.header_checked_schema(name)
        if schema is None or not self._declares_headers((server.name, name), schema):
            return False
        return validate_mcp_param_headers(schema, arguments, request.headers) is not None

    def _declares_headers(self, tool: tuple[str, str], schema: Mapping[str, Any]) -> bool:
        """Whether the SDK's check can refuse anything for `schema`, remembered while the schema stays the same.

        `validate_mcp_param_headers` compares only the properties a valid schema annotates with
        `x-mcp-header`; for a schema with none (most tools) it always passes, after walking the
        whole schema twice on every call.
        """
        known = self._declared.get(tool)
        if known is not None and known[0] is schema:
            return known[1]
        if len(self._declared) > _DECLARED_MAX:
            self._declared.clear()
        declares = find_invalid_x_mcp_header(schema) is None and next(_annotated_positions(schema), None) is not None
        self._declared[tool] = (schema, declares)
        return declares


async def _served(
    server: VirtualMcpServer, exchange: _QuietExchange, params: Mapping[str, Any], connection: Connection
) -> dict[str, Any]:
    """The SDK's `serve_one`, but for how it closes the call's connection.

    `serve_one` unwinds `connection.exit_stack` inside a shielded, bounded cancel scope, for cleanup
    callbacks a handler may have put there. The hub's handlers put none there, and an empty stack
    closes without ever waiting, so no cancellation can cut it short. The scope cost about 20 µs a
    call in a warm loop (docs/performance.md).
    """
    try:
        return await ServerRunner(server.server, connection, {}).on_request(exchange, "tools/call", params)
    finally:
        await connection.exit_stack.aclose()


class _Watcher:
    """Started `WATCH_AFTER_S` into a call (by a timer, not a task): the task that watches a long call."""

    def __init__(self, tg: TaskGroup | None, answer: _Answer, receive: Receive, call: anyio.CancelScope) -> None:
        self._tg, self._answer, self._receive, self._call = tg, answer, receive, call
        self._scope: anyio.CancelScope | None = None
        self._done: asyncio.Event | None = None  # asyncio's: made in the timer's callback, which runs in no task
        self._stopped = False
        loop = asyncio.get_running_loop()
        self._keepalive_at = loop.time() + KEEPALIVE_S
        self._timer = loop.call_later(WATCH_AFTER_S, self._start) if tg is not None else None

    def _start(self) -> None:
        assert self._tg is not None
        self._done = asyncio.Event()
        self._tg.start_soon(self._watch)

    async def _watch(self) -> None:
        assert self._done is not None
        try:
            if self._stopped:
                return
            with anyio.CancelScope() as self._scope:
                silence_s = self._keepalive_at - asyncio.get_running_loop().time()
                await self._answer.keep_alive(self._receive, self._call, silence_s)
        finally:
            self._done.set()

    async def stop(self) -> None:
        """End the watch (or its timer) and wait until the watcher has stopped writing."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
        if self._done is not None:  # started (anyio's cancel() formats the task's repr: only when needed)
            if self._scope is not None:
                self._scope.cancel()
            with anyio.CancelScope(shield=True):
                await self._done.wait()


class _Answer:
    """Writes the reply: JSON at the SDK's status for its error code, or SSE once keepalives began."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.streaming = False  # committed to text/event-stream

    async def keep_alive(self, receive: Receive, call: anyio.CancelScope, silence_s: float) -> None:
        """Cancel the call when the client goes away; ping an SSE stream through silences of `KEEPALIVE_S`.

        `silence_s`: how long the call has left before its first ping (it may have run a while already).
        """
        while True:
            with anyio.move_on_after(silence_s) as silence:
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    call.cancel()
                    return
            if silence.cancelled_caught:
                if not self.streaming:
                    await self._send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
                    self.streaming = True
                await self._send({"type": "http.response.body", "body": _PING, "more_body": True})
            silence_s = KEEPALIVE_S

    async def finish(self, reply: dict[str, Any]) -> None:
        body = _JSON_TEXT(reply)
        if self.streaming:
            event = f"event: message\r\ndata: {body}\r\n\r\n".encode()
            await self._send({"type": "http.response.body", "body": event, "more_body": False})
            return
        error = reply.get("error")
        status = ERROR_CODE_HTTP_STATUS.get(error["code"], 200) if error is not None else 200
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body.encode())).encode())]
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body.encode(), "more_body": False})
