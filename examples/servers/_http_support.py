"""HTTP plumbing shared by the example servers that listen on a port.

Two small pieces that the SDK leaves to the application:

* `InMemoryEventStore` - the `EventStore` that makes Streamable HTTP streams resumable
  (SEP-1699): a client that lost a POST's SSE stream reconnects with `Last-Event-ID`
  and gets the events it missed replayed.
* `serve_http` - runs a Starlette app under uvicorn and, once the socket accepts
  connections, prints one `LISTENING <url>` line on stdout. Binding `--port 0` picks a
  free port, and that line is how a test (or a hub) discovers which.
"""

from __future__ import annotations

import itertools
import socket
from collections import deque

import uvicorn
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage
from starlette.types import ASGIApp

__all__ = ["InMemoryEventStore", "serve_http"]


class InMemoryEventStore(EventStore):
    """Keeps the most recent events of every stream in memory, oldest dropped first."""

    def __init__(self, max_events: int = 10_000) -> None:
        self._events: deque[tuple[int, StreamId, JSONRPCMessage | None]] = deque(maxlen=max_events)
        self._ids = itertools.count(1)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = next(self._ids)
        self._events.append((event_id, stream_id, message))
        return str(event_id)

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        try:
            after = int(last_event_id)
        except ValueError:
            return None
        stream_id = next((stream for event_id, stream, _ in self._events if event_id == after), None)
        if stream_id is None:
            return None
        # Snapshot first: the callback awaits, and new events may be appended meanwhile.
        for event_id, stream, message in list(self._events):
            # A `None` message is a priming event: it only marks a position, there is nothing to resend.
            if stream == stream_id and event_id > after and message is not None:
                await send_callback(EventMessage(message, str(event_id)))
        return stream_id


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the `LISTENING` line as soon as its socket is open."""

    def __init__(self, config: uvicorn.Config, path: str) -> None:
        super().__init__(config)
        self._path = path

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"LISTENING http://{_url_host(host)}:{port}{self._path}", flush=True)


async def serve_http(app: ASGIApp, *, host: str, port: int, path: str) -> None:
    """Serve `app` until interrupted, printing `LISTENING http://host:port<path>` once it accepts connections."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    await _AnnouncingServer(config, path).serve()
