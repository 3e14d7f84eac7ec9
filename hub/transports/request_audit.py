"""An audit record for every request an agent makes, including those no handler of ours answered.

The pipeline records what it handles (forwarded calls, lists), success or failure. Everything else
an agent sends — the handshake, pings, and requests the SDK refuses before any handler runs
(invalid params, unknown methods, a routing header that disagrees with the body, an unknown
session) — is recorded here, at the edge, from the answer that went back: the handlers mark the
request's ASGI scope when the pipeline took it, and a POSTed request left unmarked gets its record
from the status and JSON-RPC body the agent received.

Not covered: the legacy SSE transport, whose POSTs are answered `202 Accepted` before the message is
handled (the answer travels on the SSE stream); refused ones there go unrecorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from starlette.types import Message, Scope, Send

from hub.core.principal import Principal
from hub.governance.audit import AuditEntry
from hub.governance.audit.mcp_requests import answer_entry

AUDITED_SCOPE_KEY = "hub.audited"  # set by a handler whose request the pipeline records
_MAX_CAPTURED = 65536  # an answer is only read for its outcome; a larger one is an ordinary result


def mark_audited(scope: Scope) -> None:
    scope[AUDITED_SCOPE_KEY] = True


def request_audited(scope: Scope) -> bool:
    return bool(scope.get(AUDITED_SCOPE_KEY))


class AnswerRecorder:
    """Wraps one POSTed request's `send`, keeping what the answer needs for its audit entry."""

    def __init__(self, scope: Scope, principal: Principal, server: str, message: Mapping[str, Any], send: Send) -> None:
        self._scope = scope
        self._principal = principal
        self._server = server
        self._message = message
        self._send = send
        self._started = time.perf_counter()
        self._status = 0
        self._streamed = False
        self._body = bytearray()

    async def send(self, message: Message) -> None:
        if request_audited(self._scope):  # the pipeline has it: nothing to keep
            await self._send(message)
            return
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._streamed = any(
                k.lower() == b"content-type" and v.startswith(b"text/event-stream") for k, v in message["headers"]
            )
        elif message["type"] == "http.response.body" and len(self._body) < _MAX_CAPTURED:
            self._body += message.get("body", b"")[: _MAX_CAPTURED - len(self._body)]
        await self._send(message)

    def entry(self) -> AuditEntry:
        params = self._message.get("params")
        return answer_entry(
            self._principal,
            self._server,
            str(self._message.get("method")),
            params if isinstance(params, Mapping) else None,
            self._started,
            status=self._status,
            reply=_reply(bytes(self._body), self._streamed),
        )


def body_entry(principal: Principal, server: str, started: float, status: int, body: bytes) -> AuditEntry:
    """A POST whose body was refused before it was read as a message (not JSON, not one JSON-RPC message)."""
    return answer_entry(principal, server, "http/POST", None, started, status=status, reply=_reply(body, False))


def _reply(body: bytes, streamed: bool) -> Mapping[str, Any] | None:
    """The JSON-RPC reply in an answer: the JSON body, or the last message event of an SSE stream."""
    if streamed:
        data = [line[5:].strip() for line in body.splitlines() if line.startswith(b"data:")]
        body = data[-1] if data else b""
    try:
        reply = json.loads(body)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None
