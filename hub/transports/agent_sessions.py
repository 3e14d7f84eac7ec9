"""Per-agent accounting of handshake-era Streamable HTTP sessions, for `limits.max_sessions_per_agent`.

A session counts from the response that hands out its `Mcp-Session-Id` until the SDK's session
manager forgets it (DELETE, idle timeout, crash); requests still opening a session hold a slot too.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field

from starlette.types import Message, Send

from hub.errors import LimitExceededError

_SESSION_HEADER = b"mcp-session-id"


@dataclass
class _Agent:
    sessions: dict[str, Container[str]] = field(default_factory=dict)  # session id -> its manager's live ids
    opening: int = 0


class AgentSessions:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._agents: dict[str, _Agent] = {}

    def admit(self, agent: str, live: Container[str], send: Send) -> tuple[Send, Callable[[], None]]:
        """Hold a slot for a request that opens a session, or raise LimitExceededError.

        Returns the `send` to answer through (it records the session id handed out) and a callback
        to run once the request is answered.
        """
        record = self._agents.setdefault(agent, _Agent())
        record.sessions = {sid: ids for sid, ids in record.sessions.items() if sid in ids}
        if len(record.sessions) + record.opening >= self._limit:
            raise LimitExceededError(
                f"agent {agent!r} has {self._limit} open sessions, the most it may have;"
                " end one (HTTP DELETE) or let it expire"
            )
        record.opening += 1
        holding = True

        def release() -> None:
            nonlocal holding
            if holding:
                holding = False
                record.opening -= 1

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                for name, value in message.get("headers", ()):
                    if name.lower() == _SESSION_HEADER and message["status"] < 400:
                        record.sessions[value.decode("latin-1")] = live
                release()  # answered: the slot is now the session's, or free again
            await send(message)

        return recording_send, release
