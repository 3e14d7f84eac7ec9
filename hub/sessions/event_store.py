"""Resumable Streamable HTTP streams: a bounded event log that belongs to one session.

Each 2025-era session gets its own store, so a Last-Event-ID can only ever replay events of the
session it is presented on (the SDK has already checked that the session belongs to the caller).
Event ids carry a random per-session tag, so they are useless on any other session even if leaked.
"""

from __future__ import annotations

import secrets
from collections import deque

from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp_types import JSONRPCMessage


class SessionEventStore(EventStore):
    def __init__(self, max_events: int = 1000) -> None:
        self._tag = secrets.token_hex(8)
        self._next = 0
        self._events: deque[tuple[int, StreamId, JSONRPCMessage | None]] = deque(maxlen=max_events)

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        seq = self._next
        self._next += 1
        self._events.append((seq, stream_id, message))
        return f"{self._tag}-{seq}"

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        tag, _, seq_text = last_event_id.rpartition("-")
        if tag != self._tag or not seq_text.isdigit():
            return None
        after = int(seq_text)
        stream = next((s for seq, s, _ in self._events if seq == after), None)
        if stream is None:
            return None  # unknown, or too old: already dropped from the bounded log
        for seq, s, message in list(self._events):
            if seq > after and s == stream and message is not None:
                await send_callback(EventMessage(message, f"{self._tag}-{seq}"))
        return stream
