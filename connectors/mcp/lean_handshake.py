"""What the lean tools/call path borrows from a handshake-era (2025) session: the SDK client's own session.

A handshake-era Streamable HTTP session is the SDK client's: the upstream gave it an
`Mcp-Session-Id` at `initialize` and routes the session's messages by request id. A lean call joins
that session instead of opening one, so it takes from the SDK client everything that is the
session's and leaves the rest to it:

- the session id as the SDK transport sends it (`SessionIdTap`, see connectors/mcp/transport.py);
  the negotiated `MCP-Protocol-Version` comes with the session's stamp, as for 2026-07-28;
- request ids the SDK never mints: the SDK numbers its requests 1, 2, 3 ..., and the SDK server keys
  a session's in-flight requests by `str(id)`, so a lean "3" would meet the SDK's 3. Lean ids are
  `hub-lean-<n>`, which no integer id ever reads as;
- server-to-client requests (elicitation, sampling, roots) that arrive on the lean POST's SSE stream,
  and a `notifications/cancelled` naming one of them, go to the SDK session's own dispatcher, as the
  SDK transport hands them over: the same callbacks answer, with the same checks and error answers,
  and the SDK transport POSTs the answer on the same session;
- a lean call abandoned by cancellation (the deadline, the agent) sends `notifications/cancelled`
  through that dispatcher, with the reason and the time bound the SDK uses (the 2025 wire's
  cancellation signal; closing the POST is not one there);
- the result checks of `ClientSession.send_request` at the negotiated version, including dropping
  the fields only later revisions define.

The SDK helpers used here are private (`mcp` is pinned); each use says so.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import logging
from functools import cache, partial
from typing import Any

import mcp_types as types
from mcp import Client
from mcp.client.session import _clamp_inbound_ttl, _later_revision_fields  # private, `mcp` is pinned
from mcp.client.streamable_http import MCP_SESSION_ID
from mcp.shared.exceptions import MCPError
from mcp.shared.jsonrpc_dispatcher import _ABANDON_WRITE_TIMEOUT, JSONRPCDispatcher  # private, `mcp` is pinned
from mcp.shared.message import SessionMessage
from mcp_types import methods as _methods
from pydantic import TypeAdapter

from connectors.mcp.transport import SessionIdTap

log = logging.getLogger(__name__)

_ID_PREFIX = "hub-lean-"


def check_call_result(version: str, raw: dict[str, Any]) -> None:
    """What `ClientSession.send_request` checks of a tools/call result at `version`: `ttlMs`, then its shape.

    A negative `ttlMs` becomes 0, as the SDK floors it. The SDK's check (`validate_server_result`)
    validates the result, then dumps it and drops the dump; this runs only the validation, with the
    SDK's own validator for the version's result (`_adapter`, private, `mcp` is pinned). Raises
    ValidationError as that check does; a version whose table lacks tools/call is not checked, as
    there.
    """
    _clamp_inbound_ttl(raw)
    validator = _call_result_validator(version)
    if validator is not None:
        validator.validate_python(raw, by_name=False)


@cache
def _call_result_validator(version: str) -> TypeAdapter[Any] | None:
    """The SDK's validator of a tools/call result at `version`, found once per version, not on every call."""
    surface = _methods.SERVER_RESULTS.get(("tools/call", version))
    return None if surface is None else _methods._adapter(surface)


class HandshakeSession:
    """One SDK client's handshake-era session, as the lean path uses it."""

    def __init__(self, client: Client, session_id: SessionIdTap) -> None:
        self._client = client
        self._session_id = session_id
        self._version = client.protocol_version or "2025-11-25"  # the SDK's own fallback in send_request
        self._ids = itertools.count(1)

    def next_id(self) -> str:
        return f"{_ID_PREFIX}{next(self._ids)}"

    @property
    def session_id(self) -> str | None:
        return self._session_id.value

    def session_gone(self) -> None:
        """The upstream answered the session's id with 404 (see SessionIdTap)."""
        self._session_id.gone()

    def headers(self) -> dict[str, str]:
        """The session's header, as the SDK transport's `_prepare_headers` adds it (none if stateless)."""
        return {MCP_SESSION_ID: self._session_id.value} if self._session_id.value else {}

    async def deliver(self, message: types.JSONRPCRequest | types.JSONRPCNotification) -> None:
        """Hand a message from the upstream to the SDK session's dispatcher, as its read loop would.

        A request is answered in the dispatcher's task group, in the calling agent's context (the SDK
        transport passes the sender's context the same way).
        """
        dispatcher = self._dispatcher()
        session = self._client.session
        await dispatcher._dispatch(  # private: the read loop's one routing step
            SessionMessage(message), session._on_request, session._on_notify, contextvars.copy_context()
        )

    async def abandon(self, request_id: str) -> None:
        """Tell the upstream a lean request was cancelled, as the SDK dispatcher does for its own."""
        with contextlib.suppress(MCPError):
            dispatcher = self._dispatcher()
            await dispatcher._final_write(  # private: the SDK's shielded, bounded abandon write
                partial(
                    dispatcher.notify,
                    "notifications/cancelled",
                    {"requestId": request_id, "reason": "caller cancelled"},
                ),
                shield=True,
                timeout=_ABANDON_WRITE_TIMEOUT,
                describe=f"courtesy cancel for caller-cancelled request {request_id!r}",
            )

    def checked(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The result as `ClientSession.send_request` checks and trims it for tools/call."""
        check_call_result(self._version, raw)
        foreign = _later_revision_fields("tools/call", self._version)
        if not foreign.isdisjoint(raw):
            raw = {key: value for key, value in raw.items() if key not in foreign}
        return raw

    def _dispatcher(self) -> JSONRPCDispatcher[Any]:
        dispatcher = self._client.session._dispatcher  # private: the session's JSON-RPC dispatcher
        if not isinstance(dispatcher, JSONRPCDispatcher) or dispatcher._closed or dispatcher._tg is None:
            raise MCPError(code=types.CONNECTION_CLOSED, message="Connection closed")  # as its waiters get it
        return dispatcher
