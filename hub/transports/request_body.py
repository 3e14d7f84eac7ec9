"""Check a POSTed Streamable HTTP body is one JSON-RPC message before the SDK sees it.

Both protocol eras of Streamable HTTP (2025-06-18 and later) carry exactly one JSON-RPC message per
POST: a batch, or well-formed JSON that is no JSON-RPC message, is an Invalid Request (-32600), and
text that is no JSON a Parse error (-32700), answered with HTTP 400 and no library text. Size and
pace are bounded before this, by `http_limits`; the body is replayed to the SDK unchanged.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import Message, Receive

from hub.errors import INVALID_REQUEST, PARSE_ERROR


@dataclass(frozen=True, slots=True)
class MessageBody:
    message: dict[str, Any]  # the decoded JSON-RPC message
    receive: Receive  # replays the body, then goes on receiving


async def read_message_body(receive: Receive) -> MessageBody | JSONResponse:
    """Read and check the body: the message and a `receive` that replays it, or the response that refuses it."""
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
    decoded = _decoded(bytes(body))
    if isinstance(decoded, JSONResponse):
        return decoded
    replay.appendleft({"type": "http.request", "body": bytes(body), "more_body": False})

    async def replayed() -> Message:
        return replay.popleft() if replay else await receive()

    return MessageBody(decoded, replayed)


def _decoded(body: bytes) -> dict[str, Any] | JSONResponse:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return _error(PARSE_ERROR, "Parse error: the body is not valid JSON")
    if isinstance(decoded, list):
        return _error(INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported")
    if not isinstance(decoded, dict) or not _is_message(decoded):
        return _error(INVALID_REQUEST, "Invalid Request: the body must be one JSON-RPC 2.0 message object")
    return decoded


def _is_message(value: object) -> bool:
    """The JSON-RPC 2.0 envelope (§4, §5), checked structurally: the SDK validates the rest once, itself."""
    if not isinstance(value, dict) or value.get("jsonrpc") != "2.0":
        return False
    has_id = "id" in value
    if has_id and (isinstance(value["id"], bool) or not isinstance(value["id"], str | int)):
        return False  # MCP ids are strings or integers, never null
    if "method" in value:  # a request (with an id) or a notification (without one)
        params = value.get("params", {})
        return isinstance(value["method"], str) and isinstance(params, dict | list) and not _is_response(value)
    return has_id and _is_response(value) and (("result" in value) != ("error" in value))


def _is_response(value: dict[str, object]) -> bool:
    return "result" in value or "error" in value


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {"code": code, "message": message}}, 400)
