"""A fake Anthropic Messages API: POST /v1/messages, JSON and the SSE event sequence, tools.

A stream is message_start, content_block_start, ping, content_block_delta..., content_block_stop,
message_delta (stop_reason, output usage), message_stop, each as `event: <type>` + `data: <json>`.
Errors are `{"type": "error", "error": {"type", "message"}}`; 429s carry `retry-after`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers.llm.faults import FakeState, answer_tokens, count_words, last_user_text

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def routes(state: FakeState) -> list[Route]:
    async def messages(request: Request) -> Response:
        body = await request.json()
        state.record("/v1/messages", body, dict(request.headers))
        if "x-api-key" not in request.headers or "anthropic-version" not in request.headers:
            error = {"type": "authentication_error", "message": "x-api-key and anthropic-version are required"}
            return JSONResponse({"type": "error", "error": error}, status_code=401)
        fault = state.fault_for(str(body.get("model", "")))
        if fault is not None:
            await anyio.sleep(fault.delay_s)
            headers = {"retry-after": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
            error = {"type": _ERROR_TYPES.get(fault.status, "api_error"), "message": fault.message}
            return JSONResponse({"type": "error", "error": error}, status_code=fault.status, headers=headers)
        await state.before_answer(str(body.get("model", "")))
        if body.get("stream"):
            return StreamingResponse(_stream(state, body), media_type="text/event-stream")
        return JSONResponse(_message(state, body))

    return [Route("/v1/messages", messages, methods=["POST"])]


def _tool_use(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    if not tools or (body.get("tool_choice") or {}).get("type") == "none":
        return None
    text = last_user_text(body.get("messages", []))
    return {
        "type": "tool_use",
        "id": f"toolu_{uuid.uuid4().hex[:12]}",
        "name": tools[0]["name"],
        "input": {"text": text},
    }


def _input_tokens(body: dict[str, Any]) -> int:
    return count_words(body.get("messages", []), body.get("system"))


def _message(state: FakeState, body: dict[str, Any]) -> dict[str, Any]:
    tool = _tool_use(body)
    text = "".join(answer_tokens(state, body.get("messages", [])))
    content = [tool] if tool else [{"type": "text", "text": text}]
    return {
        "id": f"msg_{uuid.uuid4().hex[:16]}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": _input_tokens(body), "output_tokens": 1 if tool else len(text.split())},
    }


def _event(kind: str, data: dict[str, Any]) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"


async def _stream(state: FakeState, body: dict[str, Any]) -> AsyncIterator[str]:
    state.stream_started.set()
    message = _message(state, body)
    start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
    try:
        yield _event("message_start", {"message": start})
        tool = _tool_use(body)
        if tool is not None:
            yield _event("content_block_start", {"index": 0, "content_block": {**tool, "input": {}}})
            partial = {"type": "input_json_delta", "partial_json": json.dumps(tool["input"])}
            yield _event("content_block_delta", {"index": 0, "delta": partial})
            sent = 1
        else:
            yield _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}})
            yield _event("ping", {})
            sent = 0
            for piece in answer_tokens(state, body.get("messages", [])):
                await anyio.sleep(state.token_delay_s)
                yield _event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}})
                sent += 1
        yield _event("content_block_stop", {"index": 0})
        delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
        yield _event("message_delta", {"delta": delta, "usage": {"output_tokens": sent}})
        yield _event("message_stop", {})
        state.completed += 1
    except BaseException:
        state.cancelled += 1
        state.stream_cancelled.set()
        raise
