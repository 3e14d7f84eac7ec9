"""The LLM edge's wire shapes: request checks with field paths, and the one exception → response mapping.

OpenAI-style errors are `{"error": {"message", "type", "code", "param"}}`; Anthropic-style are
`{"type": "error", "error": {"type", "message"}}`. Both keep the hub's status and Retry-After.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

from hub.core.llm import Api
from hub.errors import HubError, InvalidParamsError
from hub.transports.http_errors import error_response

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def llm_error_response(exc: BaseException, api: Api) -> JSONResponse:
    base = error_response(exc)
    kind, message = _describe(exc, base.status_code)
    if api == "messages":
        body: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    else:
        code = exc.rpc_code if isinstance(exc, HubError) else -32603
        body = {"error": {"message": message, "type": kind, "code": code, "param": None}}
    headers = {k: v for k, v in base.headers.items() if k.lower() in ("retry-after", "www-authenticate", "allow")}
    return JSONResponse(body, status_code=base.status_code, headers=headers)


def stream_error_event(exc: BaseException, api: Api) -> bytes:
    """The error as one SSE event, for a failure after the stream's first bytes were sent."""
    response = llm_error_response(exc, api)
    data = bytes(response.body)
    if api == "messages":
        return b"event: error\ndata: " + data + b"\n\n"
    return b"data: " + data + b"\n\n"


def _describe(exc: BaseException, status: int) -> tuple[str, str]:
    kind = _TYPES.get(status, "overloaded_error" if status == 529 else "api_error")
    if isinstance(exc, HubError):
        return kind, exc.message
    return kind, json.loads(bytes(error_response(exc).body))["error"]["message"]


def parse_body(raw: bytes, api: Api) -> dict[str, Any]:
    """The request body as a JSON object with the fields `api` needs, or InvalidParamsError naming the field."""
    try:
        body = json.loads(raw) if raw else None
    except ValueError as exc:
        raise InvalidParamsError("the request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise InvalidParamsError("the request body must be a JSON object")
    _require(body, "model", str, "a model name (GET /v1/models lists them)")
    if api == "embeddings":
        if not isinstance(body.get("input"), str | list) or not body["input"]:
            raise InvalidParamsError("input: required, a string or a non-empty array", param="input")
    else:
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            raise InvalidParamsError("messages: required, a non-empty array", param="messages")
        for i, message in enumerate(body["messages"]):
            if not isinstance(message, dict) or not isinstance(message.get("role"), str):
                raise InvalidParamsError(f"messages[{i}]: an object with a 'role'", param=f"messages[{i}]")
    if api == "messages":
        _require(body, "max_tokens", int, "the most tokens to generate (an integer)")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidParamsError("stream: true or false", param="stream")
    return body


def _require(body: Mapping[str, Any], field: str, kind: type, what: str) -> None:
    value = body.get(field)
    if not isinstance(value, kind) or isinstance(value, bool) or value == "":
        raise InvalidParamsError(f"{field}: required, {what}", param=field)


def request_tags(headers: Mapping[str, str], body: Mapping[str, Any]) -> tuple[str, ...]:
    """Routing tags from the `x-hub-tags` header (comma-separated) and the body's `metadata.tags`."""
    tags = [t.strip() for t in headers.get("x-hub-tags", "").split(",") if t.strip()]
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("tags"), list):
        tags += [str(t) for t in metadata["tags"]]
    return tuple(tags)
