"""An HTTP response as an MCP CallToolResult (wire dict).

JSON comes back as structured content (an object; anything else is wrapped as `{"result": ...}`)
and as its text. Text comes back as text. 4xx/5xx answers are tool errors (`isError: true`) that
carry the status and a trimmed body. Bodies over the size bound, and binary bodies, are cut short
with a note saying so.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

ERROR_BODY_CHARS = 2000


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    reason: str
    content_type: str
    body: bytes
    truncated: bool  # the body was longer than the bound; `body` is its start


def to_result(reply: Reply, pointer: str = "") -> dict[str, Any]:
    media = reply.content_type.split(";")[0].strip().lower()
    if reply.status >= 400:
        return _error(reply, media)
    if not reply.body:
        return _text(f"HTTP {reply.status} {reply.reason}: no content")
    if _is_json(media) and not reply.truncated:
        try:
            value = json.loads(reply.body)
        except ValueError:
            return _text(_decoded(reply), is_error=True, note=f"the upstream sent invalid JSON (HTTP {reply.status})")
        return _json(select(value, pointer))
    if _is_text(media) or _is_json(media):
        note = f"truncated at {len(reply.body)} bytes" if reply.truncated else ""
        return _text(_decoded(reply), note=note)
    return _binary(reply, media)


def select(value: Any, pointer: str) -> Any:
    """The part of `value` a JSON pointer (RFC 6901) names: the whole value for "", None where it leads nowhere."""
    for token in pointer.split("/")[1:] if pointer else []:
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return None
    return value


def _json(value: Any) -> dict[str, Any]:
    structured = value if isinstance(value, dict) else {"result": value}
    text = json.dumps(value, ensure_ascii=False)
    return {"content": [{"type": "text", "text": text}], "structuredContent": structured, "isError": False}


def _error(reply: Reply, media: str) -> dict[str, Any]:
    body = (
        _decoded(reply) if (_is_text(media) or _is_json(media)) else f"<{len(reply.body)} bytes of {media or 'data'}>"
    )
    if len(body) > ERROR_BODY_CHARS:
        body = body[:ERROR_BODY_CHARS] + " ...(trimmed)"
    text = f"HTTP {reply.status} {reply.reason}" + (f": {body}" if body.strip() else "")
    return {"content": [{"type": "text", "text": text}], "isError": True}


def _binary(reply: Reply, media: str) -> dict[str, Any]:
    kind = media.split("/")[0]
    if kind in ("image", "audio") and not reply.truncated:
        data = base64.b64encode(reply.body).decode("ascii")
        return {"content": [{"type": kind, "data": data, "mimeType": media}], "isError": False}
    size = f"more than {len(reply.body)}" if reply.truncated else str(len(reply.body))
    return _text(f"[binary response: {media or 'unknown type'}, {size} bytes; not shown]")


def _text(text: str, *, is_error: bool = False, note: str = "") -> dict[str, Any]:
    if note:
        text = f"{text}\n[{note}]" if text else f"[{note}]"
    return {"content": [{"type": "text", "text": text}], "isError": is_error}


def _decoded(reply: Reply) -> str:
    return reply.body.decode("utf-8", errors="replace")


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _is_text(media: str) -> bool:
    return media.startswith("text/") or media in ("application/xml", "application/javascript") or media.endswith("+xml")
