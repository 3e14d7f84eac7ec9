"""HTTP 429 with Retry-After for a 2026-07-28 POST that a rate limit refused.

A 2026-07-28 POST carries one request and, when its handler ends without streaming, is answered
with a plain JSON body at the HTTP status the SDK maps the JSON-RPC error code to. Our code for a
refused call (-32007) is not in the SDK's table, so it would go out as 200. `limit_status` wraps
the response's `send`: a JSON body that is exactly a -32007 error goes out as 429 with a
`Retry-After` header, the JSON-RPC error unchanged as its body. Any other response (a result, a
stream that already began with status 200) passes through untouched.
"""

from __future__ import annotations

import json

from starlette.types import Message, Send

from hub.errors import LIMIT_EXCEEDED
from hub.transports.http_errors import retry_after_header

_MARK = f'"code":{LIMIT_EXCEEDED}'.encode()  # the SDK writes compact JSON


def limit_status(send: Send) -> Send:
    held: Message | None = None

    async def sending(message: Message) -> None:
        nonlocal held
        if message["type"] == "http.response.start" and message["status"] == 200 and _is_json(message):
            held = message  # wait for the body: it decides the status
            return
        if held is not None and message["type"] == "http.response.body":
            start, held = held, None
            await send(_refused(start, message) if not message.get("more_body", False) else start)
        await send(message)

    return sending


def _is_json(start: Message) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"application/json") for k, v in start["headers"])


def _refused(start: Message, body: Message) -> Message:
    """`start` turned into a 429 when `body` is a JSON-RPC error for a refused call; else `start`."""
    raw = body.get("body", b"")
    if _MARK not in raw:
        return start
    try:
        error = json.loads(raw).get("error")
    except (ValueError, AttributeError):
        return start
    if not isinstance(error, dict) or error.get("code") != LIMIT_EXCEEDED:
        return start
    data = error.get("data")
    retry = data.get("retry_after_s") if isinstance(data, dict) else None
    headers = list(start["headers"])
    if isinstance(retry, int | float):
        headers.append((b"retry-after", retry_after_header(float(retry)).encode()))
    return {**start, "status": 429, "headers": headers}
