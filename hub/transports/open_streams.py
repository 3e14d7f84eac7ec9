"""Long-lived agent streams end when their credential stops being good enough to open them.

Every agent request is authenticated when it arrives, so a revoked key, an expired token or a
withdrawn grant is refused from the next request on. A stream, though, is one request that can
stay open for hours: the handshake era's standalone GET stream, the legacy SSE transport's stream
and a 2026-07-28 `subscriptions/listen` would keep delivering notifications to a caller the hub
no longer admits. This registry keeps each such stream's request beside the cancel scope serving
it and, every `interval_s`, checks it again exactly as a new request would be checked (the same
authentication and the same grant check); a stream that fails is cut, and its caller, reconnecting,
gets the same refusal a new request gets. Calls in flight are not cut: they were admitted when
they started and end on their own.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from starlette.requests import Request
from starlette.types import Message, Receive, Send

from hub.core.principal import Principal
from hub.errors import HubError

log = logging.getLogger(__name__)

Readmit = Callable[[Request, str], Awaitable[Principal]]
"""Authenticate `request` again and check it may still open virtual server `server`; raises HubError."""


CUT_GRACE_S = 2.0  # a stream told its client left, that has not ended within this, is cancelled


@dataclass(eq=False, slots=True)
class _Stream:
    request: Request
    server: str
    agent: str
    cut: anyio.Event


class OpenStreams:
    def __init__(self, readmit: Readmit, interval_s: float) -> None:
        self._readmit = readmit
        self._interval_s = interval_s
        self._open: set[_Stream] = set()

    def __len__(self) -> int:
        return len(self._open)

    @asynccontextmanager
    async def watch(
        self, request: Request, server: str, principal: Principal, receive: Receive, send: Send
    ) -> AsyncIterator[tuple[Receive, Send]]:
        """Serve a stream with the yielded `receive` and `send`; it is cut if the request stops being admitted.

        A cut reads, to the code serving the stream, as its client going away (the way the SDK's
        transports end a stream and release what it holds); one that does not end at that within
        CUT_GRACE_S is cancelled. The response is then ended properly (its last chunk sent), so the
        client sees its stream close rather than a broken connection.
        """
        stream = _Stream(request, server, principal.agent, anyio.Event())
        response = _ResponseState(send)
        self._open.add(stream)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_cancel_after_cut, stream.cut, tg.cancel_scope)
                yield _until_cut(receive, stream.cut), response.send
                tg.cancel_scope.cancel()
        finally:
            self._open.discard(stream)
        if stream.cut.is_set() and response.open:
            with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def run(self) -> None:
        """Check every open stream once per interval, until cancelled."""
        while True:
            await anyio.sleep(self._interval_s)
            await self.check()

    async def check(self) -> None:
        for stream in list(self._open):
            try:
                await self._readmit(stream.request, stream.server)
            except HubError as exc:
                log.info(
                    "mcp.stream_closed",
                    extra={"agent": stream.agent, "server": stream.server, "reason": exc.message},
                )
                self._open.discard(stream)
                stream.cut.set()


async def _cancel_after_cut(cut: anyio.Event, scope: anyio.CancelScope) -> None:
    await cut.wait()
    await anyio.sleep(CUT_GRACE_S)
    scope.cancel()


def _until_cut(receive: Receive, cut: anyio.Event) -> Receive:
    """`receive`, which answers `http.disconnect` once the stream is cut."""

    async def receiving() -> Message:
        if cut.is_set():
            return {"type": "http.disconnect"}
        message: Message = {"type": "http.disconnect"}
        async with anyio.create_task_group() as tg:

            async def client() -> None:
                nonlocal message
                message = await receive()
                tg.cancel_scope.cancel()

            tg.start_soon(client)
            await cut.wait()
            tg.cancel_scope.cancel()
        return message

    return receiving


class _ResponseState:
    """Follows what a stream has sent: begun, and not yet ended."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.open = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.open = True
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.open = False
        await self._send(message)
