"""tools/call to a Streamable HTTP upstream as one plain JSON-RPC POST: the lean path.

The SDK client (`ClientSession` over httpx2) stays the reference path and carries everything else.
For the hub's hottest request it is costly: a task and a streaming response per POST, httpx2's pool
bookkeeping, a request model dumped and a result validated on the way (about 1 ms of the hub's CPU
per call, see docs/performance.md). This path sends the very request the SDK would, over a
keep-alive pool of its own (connectors/mcp/http1.py):

- the body is the SDK's: the request model's wire dump (`request_data`), stamped by the session's
  own per-request stamp (at 2026-07-28: `_meta` protocol version, client info and capabilities, log
  level), with the W3C trace context injected like the dispatcher does;
- the headers are the SDK transport's: `Accept`, `Content-Type`, `MCP-Protocol-Version` (and at
  2026-07-28 `Mcp-Method`, `Mcp-Name` and the `Mcp-Param-*` mirrors of `x-mcp-header` arguments: the
  stamp again; in the handshake era `Mcp-Session-Id`), over the upstream's configured headers, signed
  by the same `auth:` flow (an httpx2 `Auth`, driven here by hand: its credential, and its one retry
  with a new token on a 401);
- the answer is read like the SDK transport reads it: a JSON body or an SSE stream (whose log and
  list-changed notifications reach the same callbacks the SDK client has), parsed as the SDK's
  JSON-RPC adapter parses it (`parse_message`), validated by the same result check; HTTP and
  JSON-RPC failures become the same `MCPError`s, so `upstream_failures` maps both paths to the
  same HubErrors.

Taken only when it cannot differ: the agent asked for no progress. At 2026-07-28 (stateless HTTP, no
session id, no server-to-client requests) a call stands alone; cancellation and deadlines close the
POST, which is that era's cancellation signal and what the SDK transport does. In the handshake era
(2025) a call joins the SDK client's session, and connectors/mcp/lean_handshake.py says what it
takes from it: the session id, an id space of its own, the dispatcher that answers the upstream's
requests for input, and `notifications/cancelled` on cancellation. A redirect (the upstream ran
nothing) goes back to the SDK path, which has the redirect rules. An SSE stream that ends before its
answer, after an event id (an upstream polling its clients, SEP-1699), is resumed as the SDK
transport resumes it: after the stream's `retry` (or 1 s), a GET with `Last-Event-ID`, again while
resumed streams end early, giving up after two failed attempts in a row; a call that never gets its
answer fails alone, with the SDK's message (`CALL_STREAM_ENDED` in connectors/mcp/errors.py), and
does not take its upstream down. The HTTP client is an asyncio protocol, and needs the asyncio loop,
which the hub runs on (see STYLE.md, "Async with anyio").
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import mcp_types as types
import pydantic_core
import yarl
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import (
    DEFAULT_MAX_SSE_EVENT_SIZE,
    DEFAULT_RECONNECTION_DELAY_MS,
    MAX_RECONNECTION_ATTEMPTS,
)
from mcp.shared.dispatcher import CallOptions
from mcp.shared.exceptions import MCPError
from mcp_types import methods as _methods
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from opentelemetry.propagate import inject
from pydantic import ValidationError

from connectors.keepalive import UPSTREAM_KEEPALIVE_S
from connectors.mcp.http1 import Http1Client, HttpConnectionError, Response
from connectors.mcp.lean_handshake import HandshakeSession, check_call_result
from connectors.mcp.transport import SessionIdTap
from hub.config.model import StreamableHttpUpstreamConfig
from hub.core import json_text

log = logging.getLogger(__name__)

LogFn = Callable[[types.LoggingMessageNotificationParams], Awaitable[None]]
MessageFn = Callable[[IncomingMessage], Awaitable[None]]
_ACCEPT = "application/json, text/event-stream"
_CLOSE_TIMEOUT_S = 2.0
_USER_AGENT = "hub-lean-calls"  # tells an upstream's logs which path a request took
_REQUEST_TEXT = json_text.encoder(ensure_ascii=False, allow_nan=False)  # as the SDK transport writes a body
_RESULT_KEYS = frozenset(("jsonrpc", "id", "result"))
# tools/call's params as the SDK's model dumps them: its fields' wire names (`_meta`, `inputResponses`, ...).
_CALL_PARAMS = frozenset(field.alias or name for name, field in types.CallToolRequestParams.model_fields.items())


def lean_path_applies(config: object, client: Client) -> bool:
    """Whether `client`'s upstream gets the lean path: Streamable HTTP, enabled, and connected."""
    return (
        isinstance(config, StreamableHttpUpstreamConfig) and config.lean_calls and client.protocol_version is not None
    )


class LeanCalls:
    """One pooled HTTP client per connected upstream session; `call` sends one tools/call."""

    def __init__(
        self,
        config: StreamableHttpUpstreamConfig,
        client: Client,
        on_log: LogFn,
        on_message: MessageFn,
        auth: httpx2.Auth | None = None,
        session_id: SessionIdTap | None = None,
    ) -> None:
        self._url = yarl.URL(config.url)
        self._auth = auth  # the upstream's `auth:` credential, the same object the SDK path's httpx2 client uses
        self._client = client
        self._version = client.protocol_version
        self._stamp: Callable[[dict[str, Any], CallOptions], None] = (
            client.session._stamp
        )  # the SDK's own per-request stamp (mcp is pinned)
        self._on_log = on_log
        self._on_message = on_message
        self._ids = itertools.count(1)
        # In the handshake era, the SDK client's session, which the lean calls join.
        self._handshake = (
            HandshakeSession(client, session_id or SessionIdTap())
            if client.protocol_version not in MODERN_PROTOCOL_VERSIONS
            else None
        )
        self._http = Http1Client(
            self._url,
            headers={"user-agent": _USER_AGENT, **{k: v.get_secret_value() for k, v in config.headers.items()}},
            connect_timeout_s=config.connect_timeout_s,
            read_timeout_s=max(config.call_timeout_s, 300.0),
            keepalive_s=UPSTREAM_KEEPALIVE_S,
        )

    async def aclose(self) -> None:
        with anyio.move_on_after(
            _CLOSE_TIMEOUT_S, shield=True
        ):  # runs while the connection is torn down by cancellation
            await self._http.aclose()

    async def call(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The upstream's result (raw wire dict) for a tools/call with these wire params, or None when
        the upstream redirected: use the SDK path.

        Raises MCPError exactly where the SDK client would, TimeoutError on a read timeout, and
        ValidationError for a result the negotiated version does not allow.
        """
        request_id: int | str = next(self._ids) if self._handshake is None else self._handshake.next_id()
        body, headers = self._build(params, request_id)
        try:
            response = await self._send("POST", body, headers)
        except HttpConnectionError as exc:  # the SDK transport's task dies and its session closes
            raise MCPError(code=types.CONNECTION_CLOSED, message="Connection closed") from exc
        except anyio.get_cancelled_exc_class():
            await self._abandon(request_id)
            raise
        try:
            raw = await self._answer(response, headers)
        except HttpConnectionError as exc:
            response.close()
            raise MCPError(code=types.CONNECTION_CLOSED, message="Connection closed") from exc
        except anyio.get_cancelled_exc_class():
            await self._abandon(request_id)
            response.close()
            raise
        except BaseException:
            response.close()  # never reuse a connection whose answer was not read to the end
            raise
        response.release()
        if raw is None:
            return None
        return self._checked(raw) if self._handshake is None else self._handshake.checked(raw)

    async def _abandon(self, request_id: int | str) -> None:
        """A cancelled call: in the handshake era, say so (at 2026-07-28 the closed POST says it)."""
        if self._handshake is not None and isinstance(request_id, str):
            await self._handshake.abandon(request_id)

    async def _send(self, method: str, body: bytes, headers: dict[str, str]) -> Response:
        """Send one request, signed by the upstream's `auth` flow when it has one (which may retry once on a 401)."""
        if self._auth is None:
            return await self._http.request(method, self._url, headers, body)
        unsigned = httpx2.Request(method, str(self._url), headers=headers, content=body)
        before = dict(unsigned.headers)
        flow = self._auth.async_auth_flow(unsigned)
        try:
            signed = await flow.__anext__()
            while True:
                added = {k: v for k, v in signed.headers.items() if before.get(k) != v}
                response = await self._http.request(method, yarl.URL(str(signed.url)), {**headers, **added}, body)
                try:
                    signed = await flow.asend(httpx2.Response(response.status, request=signed))
                except StopAsyncIteration:
                    return response
                response.close()  # the flow sends the request again (a 401 and a new token)
        finally:
            await flow.aclose()

    def _build(self, params: Mapping[str, Any], request_id: int | str) -> tuple[bytes, dict[str, str]]:
        """Body and headers as `ClientSession.send_request`, the dispatcher and the transport make them."""
        data = request_data(params)
        opts: CallOptions = {}
        self._stamp(data, opts)
        params = dict(data.get("params") or {})
        meta = dict(params.get("_meta") or {})
        inject(meta)
        if meta:
            params["_meta"] = meta
        else:
            params.pop("_meta", None)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": data["method"]}
        if params:
            message["params"] = params
        session = self._handshake.headers() if self._handshake is not None else {}
        headers = {"accept": _ACCEPT, "content-type": "application/json", **session, **opts.get("headers", {})}
        body = _REQUEST_TEXT(message).encode()
        return body, headers

    async def _answer(self, response: Response, headers: dict[str, str]) -> dict[str, Any] | None:
        status = response.status
        if status == 202:
            raise MCPError(code=types.INVALID_REQUEST, message="server answered a request with 202 Accepted")
        if 300 <= status < 400 and "location" in response.headers:
            return None
        content_type = response.headers.get("content-type", "").lower()
        if status >= 400:
            handshake = self._handshake
            session_id = handshake.session_id if handshake is not None else None
            if handshake is not None and session_id is not None and status == 404:
                handshake.session_gone()
            raise await _http_failure(response, content_type, session_id)
        if content_type.startswith("application/json"):
            message = parse_message(await response.read(), "Failed to parse JSON response")
        elif content_type.startswith("text/event-stream"):
            message = await self._from_events(response, headers)
        else:
            raise MCPError(code=types.INVALID_REQUEST, message=f"Unexpected content type: {content_type}")
        return _outcome(message)

    async def _from_events(self, response: Response, headers: dict[str, str]) -> Answer:
        """The answer on an SSE stream, resumed with `Last-Event-ID` as the SDK transport resumes it."""
        cursor = _Cursor()
        message = await self._read_events(response, cursor)
        failures = 0
        while message is None:
            if cursor.event_id is None:
                raise MCPError(code=types.CONNECTION_CLOSED, message="SSE stream ended without a response")
            if failures >= MAX_RECONNECTION_ATTEMPTS:
                raise MCPError(
                    code=types.CONNECTION_CLOSED, message="SSE stream ended and reconnection attempts were exhausted"
                )
            await anyio.sleep(
                (cursor.retry_ms if cursor.retry_ms is not None else DEFAULT_RECONNECTION_DELAY_MS) / 1000
            )
            try:
                message = await self._resume(headers, cursor)
                failures = 0  # a stream was resumed: if it ends early again, the attempts start over
            except _NotResumedError:
                failures += 1
        return message

    async def _resume(self, headers: dict[str, str], cursor: _Cursor) -> Answer | None:
        """One GET with `Last-Event-ID`: the answer, or None when this stream too ended before it."""
        assert cursor.event_id is not None
        resumed = {k: v for k, v in headers.items() if k != "content-type"} | {"last-event-id": cursor.event_id}
        try:
            response = await self._send("GET", b"", resumed)
        except HttpConnectionError as exc:
            raise _NotResumedError from exc
        try:
            content_type = response.headers.get("content-type", "").lower()
            if response.status != 200 or not content_type.startswith("text/event-stream"):
                raise _NotResumedError
            return await self._read_events(response, cursor)
        finally:
            response.release()

    async def _read_events(self, response: Response, cursor: _Cursor) -> Answer | None:
        """Read an SSE stream with httpx2's parser (the SDK transport's) up to the answer, relaying
        notifications on the way; None if the stream ended first (`cursor` then says where)."""
        events = httpx2.EventSource(_as_httpx_response(response, self._url), max_event_size=DEFAULT_MAX_SSE_EVENT_SIZE)
        try:
            async for sse in events:
                if sse.id:
                    cursor.event_id = sse.id
                if sse.retry is not None:
                    cursor.retry_ms = sse.retry
                if sse.event != "message" or not sse.data:
                    continue  # priming events and unknown event types, as the SDK transport skips them
                message = parse_message(sse.data, "Failed to parse SSE message")
                if isinstance(message, dict | types.JSONRPCResponse | types.JSONRPCError):
                    return message
                await self._from_upstream(message)
        except httpx2.SSEError as exc:
            raise MCPError(code=types.CONNECTION_CLOSED, message=f"SSE stream failed: {exc}") from exc
        except HttpConnectionError:
            if cursor.event_id is None:
                raise  # nothing to resume from: the connection failed, as the SDK transport reports it
        return None

    async def _from_upstream(self, message: types.JSONRPCRequest | types.JSONRPCNotification) -> None:
        """A request or notification the upstream sent on the call's stream, before its answer."""
        if self._handshake is not None and (
            isinstance(message, types.JSONRPCRequest) or message.method == "notifications/cancelled"
        ):
            await self._handshake.deliver(message)  # the SDK session answers, or cancels its answer
        elif isinstance(message, types.JSONRPCNotification):
            await self._notify(message.method, message.params)
        else:  # 2026-07-28 has no server-to-client requests over HTTP (input_required replaces them)
            log.warning("upstream.request_ignored", extra={"method": message.method})

    async def _notify(self, method: str, params: Mapping[str, Any] | None) -> None:
        """As `ClientSession._on_notify`: validate, the logging callback, then the message handler."""
        if method in ("notifications/progress", "notifications/cancelled"):
            return  # no progress was asked for; a cancel names no request of ours
        try:
            notification = _methods.parse_server_notification(method, self._version, params)
        except KeyError:
            log.debug("upstream.notification_dropped", extra={"method": method})
            return
        except ValidationError:
            log.warning("upstream.notification_invalid", extra={"method": method})
            return
        try:
            if isinstance(notification, types.LoggingMessageNotification):
                await self._on_log(notification.params)
            await self._on_message(notification)  # type: ignore[arg-type]  # a server notification, as the SDK tees
        except Exception:
            log.exception("upstream.notification_failed", extra={"method": method})

    def _checked(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The result checks `ClientSession.send_request` makes (at the newest revision nothing is dropped)."""
        check_call_result(self._version, raw)
        return raw


@dataclass
class _Cursor:
    """Where an SSE answer got to: its last event id and the reconnection delay it asked for."""

    event_id: str | None = None
    retry_ms: int | None = None


class _NotResumedError(Exception):
    """A resuming GET was refused or could not connect: one failed attempt."""


Answer = dict[str, Any] | types.JSONRPCMessage
"""An upstream's message as `parse_message` gives it: a plain result response as its result."""


def request_data(params: Mapping[str, Any]) -> dict[str, Any]:
    """A tools/call as the SDK client dumps its request model before stamping it.

    The hub's params are already that dump: the agent edge validated them into the same model and
    dumped them the same way, and the pipeline only renames the tool. Params that hold anything
    else (a field the model lacks, a null, a name that is not a string) are validated and dumped
    by the model, as the SDK path does.
    """
    if params.keys() <= _CALL_PARAMS and isinstance(params.get("name"), str) and None not in params.values():
        meta = params.get("_meta")
        copied = {**params, "_meta": dict(meta)} if isinstance(meta, Mapping) else dict(params)
        return {"method": "tools/call", "params": copied}  # copied: the stamp writes into params and `_meta`
    request = types.CallToolRequest.model_validate({"method": "tools/call", "params": dict(params)})
    return request.model_dump(by_alias=True, mode="json", exclude_none=True)


def parse_message(data: bytes | str, failure: str) -> Answer:
    """One JSON-RPC message from the upstream, as the SDK's adapter reads it; a plain result as its result dict.

    Most answers are a plain result. Read by the same JSON parser (pydantic-core's) with the checks
    the adapter makes of a result response, they skip the adapter's trial of all four message
    shapes. Anything else, a parse error included, goes to the adapter, which reads or refuses it
    as before (`failure` starts its PARSE_ERROR message).
    """
    try:
        parsed = pydantic_core.from_json(data, allow_inf_nan=True)  # NaN and Infinity: as the adapter takes them
    except ValueError:
        parsed = None
    if (
        type(parsed) is dict
        and parsed.keys() == _RESULT_KEYS
        and parsed["jsonrpc"] == "2.0"
        and type(parsed["id"]) in (int, str)  # RequestId: a strict int (no bool, no float) or a string
        and type(parsed["result"]) is dict
    ):
        return parsed["result"]
    try:
        return types.jsonrpc_message_adapter.validate_json(data, by_name=False)
    except ValidationError as exc:
        raise MCPError(code=types.PARSE_ERROR, message=f"{failure}: {exc}") from exc


def _outcome(message: Answer) -> dict[str, Any]:
    if isinstance(message, dict):
        return message
    if isinstance(message, types.JSONRPCError):
        raise MCPError(code=message.error.code, message=message.error.message, data=message.error.data)
    if isinstance(message, types.JSONRPCResponse):
        return dict(message.result)
    raise MCPError(code=types.INVALID_REQUEST, message="upstream answered a request with a request or notification")


async def _http_failure(response: Response, content_type: str, session_id: str | None) -> MCPError:
    """The error the SDK transport reports for a non-2xx answer: the JSON-RPC error in the body, else by status."""
    if content_type.startswith("application/json"):
        try:
            parsed = types.jsonrpc_message_adapter.validate_json(await response.read(), by_name=False)
        except ValidationError:
            parsed = None
        if isinstance(parsed, types.JSONRPCError):
            return MCPError(code=parsed.error.code, message=parsed.error.message, data=parsed.error.data)
    if response.status == 404:  # the SDK's reading: with a session id the session is gone, else no such method
        if session_id is not None:
            return MCPError(code=types.INVALID_REQUEST, message="Session terminated")
        return MCPError(code=types.METHOD_NOT_FOUND, message="Not Found")
    return MCPError(code=types.INTERNAL_ERROR, message="Server returned an error response")


class _Body(httpx2.AsyncByteStream):
    def __init__(self, response: Response) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.chunks():
            yield chunk


def _as_httpx_response(response: Response, url: yarl.URL) -> httpx2.Response:
    """The streaming body behind httpx2's Response, so httpx2's SSE parser reads it."""
    return httpx2.Response(
        response.status,
        headers=list(response.headers.items()),
        stream=_Body(response),
        request=httpx2.Request("POST", str(url)),
    )
