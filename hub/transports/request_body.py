"""Check a POSTed Streamable HTTP body is one JSON-RPC message before the SDK sees it.

Both protocol eras of Streamable HTTP (2025-06-18 and later) carry exactly one JSON-RPC message per
POST: a batch, or well-formed JSON that is no JSON-RPC message, is an Invalid Request (-32600), and
text that is no JSON a Parse error (-32700), answered with HTTP 400 and no library text. Size and
pace are bounded before this, by `http_limits`; the body is replayed to the SDK unchanged.
"""

from __future__ import annotations

import json
from collections import deque

import mcp_types as types
from pydantic import ValidationError
from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from hub.errors import INVALID_REQUEST, PARSE_ERROR


async def read_message_body(receive: Receive) -> Receive | JSONResponse:
    """Read and check the body: a `receive` that replays it, or the response that refuses it."""
    body = bytearray()
    replay: deque[Message] = deque()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            replay.append(message)  # the client went away; the SDK sees that too
            break
        body.extend(message.get("body", b""))
        if not message.get("more_body", False):
            break
    refusal = _refusal(bytes(body))
    if refusal is not None:
        return refusal
    replay.appendleft({"type": "http.request", "body": bytes(body), "more_body": False})

    async def replayed() -> Message:
        return replay.popleft() if replay else await receive()

    return replayed


def _refusal(body: bytes) -> JSONResponse | None:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return _error(PARSE_ERROR, "Parse error: the body is not valid JSON")
    if isinstance(decoded, list):
        return _error(INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported")
    try:
        message = types.jsonrpc_message_adapter.validate_python(decoded, by_name=False)
    except ValidationError:
        message = None
    # A member "id" makes it a request or a response (JSON-RPC 2.0 §4.1), never a notification.
    if message is None or (isinstance(message, types.JSONRPCNotification) and "id" in decoded):
        return _error(INVALID_REQUEST, "Invalid Request: the body must be one JSON-RPC 2.0 message object")
    return None


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}, 400)
