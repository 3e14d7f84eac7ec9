"""Bounds every HTTP client lives within: header count and size, body size, and how slowly it may send.

A client that sends too many headers gets 431, too large a body 413, a body that trickles in
slower than the limit 408; a client that never finishes its request headers is disconnected.
None of them can hold a worker, a session or another client hostage.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol


class RequestLimitsMiddleware:
    def __init__(
        self, app: ASGIApp, max_body_bytes: int, max_header_count: int, max_header_bytes: int, body_timeout_s: float
    ) -> None:
        self._app = app
        self._max_body = max_body_bytes
        self._max_headers = max_header_count
        self._max_header_bytes = max_header_bytes
        self._timeout = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if len(scope["headers"]) > self._max_headers:
            await _reject(send, 431, f"too many request headers (limit {self._max_headers})")
            return
        if sum(len(k) + len(v) for k, v in scope["headers"]) > self._max_header_bytes:
            await _reject(send, 431, f"request headers larger than {self._max_header_bytes} bytes")
            return
        declared = _content_length(scope)
        if declared is not None and declared > self._max_body:
            await _reject(send, 413, f"request body larger than {self._max_body} bytes")
            return
        body = bytearray()
        more = scope["method"] in ("POST", "PUT", "PATCH", "DELETE")
        with anyio.move_on_after(self._timeout) as waiting:
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > self._max_body:
                    await _reject(send, 413, f"request body larger than {self._max_body} bytes")
                    return
        if waiting.cancelled_caught:
            await _reject(send, 408, f"request body not received within {self._timeout:g}s")
            return
        await self._app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # afterwards: the client's disconnect, when it comes

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, status: int, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def slow_header_guard(timeout_s: float) -> type[asyncio.Protocol]:
    """A uvicorn HTTP protocol that disconnects a client whose request headers take longer than `timeout_s`.

    Built on uvicorn's httptools protocol where httptools is installed (the faster parser), else on h11.
    """
    base: Any = H11Protocol
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

        base = HttpToolsProtocol
    except ImportError:  # httptools is optional; h11 always comes with uvicorn
        pass

    class GuardedProtocol(base):  # type: ignore[misc]  # the base is chosen at run time
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
                self._arm()  # the first bytes of a (next) request: its headers are now on the clock
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # headers complete: the request is being served

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            self._header_timer = None
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

    return GuardedProtocol
