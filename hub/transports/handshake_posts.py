"""A handshake-era request's SSE answer, written in the POST's own task.

For every request POSTed to an open 2025-era session, the SDK's `StreamableHTTPServerTransport`
(mcp 2.3.0) answers on an sse-starlette `EventSourceResponse` (3.7.0): a task group of five tasks
(the stream, a ping timer, a shutdown watcher, a disconnect watcher and the transport's
`_run_sse_writer`) inside a second task group, a zero-buffer memory stream between the writer and
the response, a cancel scope per chunk sent and a lock. That machinery is a third of the hub's work
per handshake-era call; what it decides is simple.

`LeanPostTransport` answers the same requests with one watcher task beside the POST's own. Only
the SSE window is replaced; everything else is the SDK's: its checks run first, in its order (any
request they would refuse goes to the SDK's code, which answers it as before), the priming event,
the per-request stream the session's `message_router` fills (and stores in the event log, so
Last-Event-ID replays are unchanged), the session message with its `close_sse_stream` callbacks,
the event encoding (`_create_event_data`, `ensure_bytes`), the idle-expiry accounting around it
(`handle_request`) and the cleanup. Like the SDK's response, the stream ends after the request's
response, when the request stream is closed (`close_sse_stream`, session end), when the client goes
away (the call goes on; its answer is stored for a resuming client) or when the server's shutdown
ends open streams (`AppStatus.should_exit`, checked as often as sse-starlette's watcher does; it is
how hub/serve.py ends them, having turned sse-starlette's own watch of uvicorn's exit flag off); it
sends sse-starlette's ping comment every 15 s. Initialize, notifications, responses, GET and DELETE
stay with the SDK.

A request whose response is the first thing routed to it, within `json_within_s` of its dispatch
(`server.handshake_json_within_s`, 0.25 s by default), is answered as one JSON body instead, as the
SDK's JSON-response mode writes it. The spec lets a server answer any request either way; the
difference is the connection: a client reads a JSON body to its end and keeps the connection, where
the SDK client closes an SSE answer as soon as it has the response, before the chunked stream's end,
and so opens a new TCP connection for every call (which cost the hub about 40 % of its CPU per
handshake-era call, see docs/performance.md). The priming event is still stored before dispatch, so
a request that is slower, or that streams progress, logs or server requests before its response,
gets the SSE answer above, primed and resumable, exactly as before; only a client that loses its
connection within the window has no event id to resume from, and its call is not cancelled.

`server.lean_handshake_posts: false` keeps the SDK's answer for every request;
tests/hub/transports/test_handshake_posts.py compares both, byte for byte.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Final

import anyio
import pydantic_core
from anyio.streams.memory import MemoryObjectReceiveStream
from mcp.server.streamable_http import (
    MCP_SESSION_ID_HEADER,
    REQUEST_STREAM_BUFFER_SIZE,
    EventMessage,
    SSEEvent,
    StreamableHTTPServerTransport,
    check_accept_headers,
)
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp.shared.message import SessionMessage
from mcp_types import DEFAULT_NEGOTIATED_VERSION, JSONRPCError, JSONRPCRequest, JSONRPCResponse, jsonrpc_message_adapter
from pydantic import ValidationError
from sse_starlette.event import ServerSentEvent, ensure_bytes
from sse_starlette.sse import AppStatus
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PING_S: float = 15.0  # sse-starlette's DEFAULT_PING_INTERVAL
EXIT_POLL_S: Final = 0.5  # sse-starlette's shutdown watcher polls this often
_SEP: Final = "\r\n"  # sse-starlette's DEFAULT_SEPARATOR


class LeanPostTransport(StreamableHTTPServerTransport):
    """A session's transport whose requests' SSE answers need no per-POST task group of five."""

    def __init__(self, *args: Any, json_within_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.json_within_s = json_within_s

    async def _handle_post_request(self, scope: Scope, request: Request, receive: Receive, send: Send) -> None:
        admitted = await self._admitted(request)
        if admitted is None:
            await super()._handle_post_request(scope, request, receive, send)
            return
        message, protocol_version = admitted
        request_id = str(message.id)
        try:
            priming = await self._mint_priming_event(request_id, protocol_version)
        except Exception:  # the event store failed: the SDK's code answers that (500), as it always has
            await super()._handle_post_request(scope, request, receive, send)
            return
        session_message = self._create_session_message(message, request, request_id, protocol_version)
        await self._answer(request_id, session_message, priming, scope, receive, send)

    async def _admitted(self, request: Request) -> tuple[JSONRPCRequest, str] | None:
        """The request and its protocol version if every SDK check before its SSE answer passes, else None."""
        if self.is_json_response_enabled or self._read_stream_writer is None or not self.mcp_session_id:
            return None
        has_json, has_sse = check_accept_headers(request)
        if not (has_json and has_sse) or not self._check_content_type(request):
            return None
        try:  # the SDK's own two steps, so exactly what it accepts is accepted
            message = jsonrpc_message_adapter.validate_python(
                pydantic_core.from_json(await request.body()), by_name=False
            )
        except (ValueError, ValidationError):
            return None
        if not isinstance(message, JSONRPCRequest) or message.method == "initialize":
            return None
        if request.headers.get(MCP_SESSION_ID_HEADER) != self.mcp_session_id:
            return None
        return message, request.headers.get(MCP_PROTOCOL_VERSION_HEADER, DEFAULT_NEGOTIATED_VERSION)

    async def _answer(
        self,
        request_id: str,
        message: SessionMessage,
        priming: SSEEvent | None,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Dispatch `message` and answer with what the session routes to `request_id`, up to its response."""
        writer, session_id = self._read_stream_writer, self.mcp_session_id
        assert writer is not None  # checked by _admitted
        assert session_id is not None
        events_in, events = anyio.create_memory_object_stream[EventMessage](REQUEST_STREAM_BUFFER_SIZE)
        self._request_streams[request_id] = (events_in, events)
        stream = _SseStream(send, session_id)
        try:
            await writer.send(message)  # before the watcher: a client gone already does not undo the call
            first = await self._first_event(events)
            if first is not None and isinstance(first.message, JSONRPCResponse | JSONRPCError):
                await self._create_json_response(first.message)(scope, receive, send)
                return
            async with anyio.create_task_group() as tg:
                tg.start_soon(stream.watch, receive, tg.cancel_scope)
                await stream.start()
                if priming is not None:
                    await stream.event(priming)
                if first is not None:
                    await stream.event(self._create_event_data(first))
                await self._relay(events, stream)
                await stream.end()
                tg.cancel_scope.cancel()  # the watcher's work is over
        except Exception:
            log.exception("handshake_post.sse_failed")
        finally:
            await self._clean_up_memory_streams(request_id)

    async def _first_event(self, events: MemoryObjectReceiveStream[EventMessage]) -> EventMessage | None:
        """What the session routes to the request first, if it comes within `json_within_s`."""
        if self.json_within_s <= 0:
            return None
        with anyio.move_on_after(self.json_within_s):
            try:
                return await events.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):  # the SSE answer's relay ends at once
                pass
        return None

    async def _relay(self, events: MemoryObjectReceiveStream[EventMessage], stream: _SseStream) -> None:
        """The SDK's `_run_sse_writer`: every event for the request, up to and including its response."""
        try:
            async for event_message in events:
                await stream.event(self._create_event_data(event_message))
                if isinstance(event_message.message, JSONRPCResponse | JSONRPCError):
                    break
        except anyio.ClosedResourceError:  # close_sse_stream() or the session's end: the stream ends
            pass


class _SseStream:
    """One POST's text/event-stream answer, as sse-starlette's `EventSourceResponse` writes it."""

    def __init__(self, send: Send, session_id: str) -> None:
        self._send = send
        self._headers = [
            (b"cache-control", b"no-cache, no-transform"),
            (b"connection", b"keep-alive"),
            (b"content-type", b"text/event-stream"),
            (b"mcp-session-id", session_id.encode("latin-1")),
            (b"x-accel-buffering", b"no"),
        ]
        self._active = True

    async def start(self) -> None:
        await self._send({"type": "http.response.start", "status": 200, "headers": self._headers})

    async def event(self, data: SSEEvent) -> None:
        await self._send({"type": "http.response.body", "body": ensure_bytes(data, _SEP), "more_body": True})

    async def end(self) -> None:
        self._active = False
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def watch(self, receive: Receive, answer: anyio.CancelScope) -> None:
        """End the answer when the client goes away or the server ends open streams; ping meanwhile."""
        next_ping = anyio.current_time() + PING_S
        while not AppStatus.should_exit:
            with anyio.move_on_after(min(EXIT_POLL_S, next_ping - anyio.current_time())):
                message: Message = await receive()
                if message["type"] == "http.disconnect":
                    break
            if self._active and anyio.current_time() >= next_ping:
                next_ping += PING_S
                comment = ServerSentEvent(comment=f"ping - {datetime.now(UTC)}", sep=_SEP)
                await self._send({"type": "http.response.body", "body": ensure_bytes(comment, _SEP), "more_body": True})
        self._active = False
        answer.cancel()
