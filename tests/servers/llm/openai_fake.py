"""A fake OpenAI API: /v1/chat/completions (JSON and SSE, tools, JSON mode), /v1/embeddings, /v1/models.

Shapes follow the OpenAI API reference: a stream is `data: <chunk>` lines ending with
`data: [DONE]`, and with `stream_options.include_usage` a last chunk with empty `choices` and the
usage. Errors are `{"error": {"message", "type", "code"}}`; 429s carry `retry-after`.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers.llm.faults import FakeState, answer_tokens, count_words, last_user_text

EMBEDDING_DIMENSIONS = 8


def routes(state: FakeState) -> list[Route]:
    async def chat(request: Request) -> Response:
        body = await request.json()
        state.record("/v1/chat/completions", body, dict(request.headers))
        failure = await _fault(state, body)
        if failure is not None:
            return failure
        await state.before_answer(str(body.get("model", "")))
        if body.get("stream"):
            return StreamingResponse(_stream(state, body), media_type="text/event-stream")
        return JSONResponse(_completion(state, body))

    async def embeddings(request: Request) -> Response:
        body = await request.json()
        state.record("/v1/embeddings", body, dict(request.headers))
        failure = await _fault(state, body)
        if failure is not None:
            return failure
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for i, text in enumerate(inputs):
            vector = [float((len(str(text)) + k) % 7) for k in range(EMBEDDING_DIMENSIONS)]
            if body.get("encoding_format") == "base64":
                encoded: object = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": i, "embedding": encoded})
        tokens = sum(len(str(t).split()) for t in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def models(request: Request) -> Response:
        names = ["fake-gpt", "fake-gpt-mini", "fake-embed"]
        listed = [{"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in names]
        return JSONResponse({"object": "list", "data": listed})

    return [
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
    ]


async def _fault(state: FakeState, body: dict[str, Any]) -> Response | None:
    fault = state.fault_for(str(body.get("model", "")))
    if fault is None:
        return None
    await anyio.sleep(fault.delay_s)
    kind = {429: "rate_limit_exceeded", 401: "invalid_api_key", 400: "invalid_request_error"}.get(fault.status)
    headers = {"retry-after": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
    error = {"message": fault.message, "type": kind or "server_error", "code": kind or "server_error"}
    return JSONResponse({"error": error}, status_code=fault.status, headers=headers)


def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
    prompt = count_words(body.get("messages", []))
    return {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": prompt + completion_tokens}


def _tool_call(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    if not tools or body.get("tool_choice") == "none":
        return None
    name = tools[0]["function"]["name"]
    arguments = json.dumps({"text": last_user_text(body.get("messages", []))})
    return {
        "id": f"call_{uuid.uuid4().hex[:12]}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def _content(state: FakeState, body: dict[str, Any]) -> str:
    text = "".join(answer_tokens(state, body.get("messages", [])))
    if (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
        return json.dumps({"echo": last_user_text(body.get("messages", []))})
    return text


def _completion(state: FakeState, body: dict[str, Any]) -> dict[str, Any]:
    call = _tool_call(body)
    message: dict[str, Any] = {"role": "assistant", "content": None if call else _content(state, body)}
    if call:
        message["tool_calls"] = [call]
    completion_tokens = 1 if call else len(str(message["content"]).split())
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop", "logprobs": None}
        ],
        "usage": _usage(body, completion_tokens),
    }


async def _stream(state: FakeState, body: dict[str, Any]) -> AsyncIterator[str]:
    ident, created = f"chatcmpl-{uuid.uuid4().hex[:16]}", int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        payload = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": body["model"]}
        return f"data: {json.dumps({**payload, 'choices': [choice], **extra})}\n\n"

    state.stream_started.set()
    sent = 0
    try:
        yield chunk({"role": "assistant", "content": ""})
        call = _tool_call(body)
        if call is not None:
            first = {"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
            yield chunk({"tool_calls": [{**first, "function": {**first["function"], "arguments": ""}}]})
            yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]})
            sent, finish = 1, "tool_calls"
        else:
            pieces = answer_tokens(state, body.get("messages", []))
            if (body.get("response_format") or {}).get("type") in ("json_object", "json_schema"):
                pieces = [_content(state, body)]
            for piece in pieces:
                await anyio.sleep(state.token_delay_s)
                yield chunk({"content": piece})
                sent += 1
            finish = "stop"
        yield chunk({}, finish)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage_chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": body["model"]}
            yield f"data: {json.dumps({**usage_chunk, 'choices': [], 'usage': _usage(body, sent)})}\n\n"
        yield "data: [DONE]\n\n"
        state.completed += 1
    except BaseException:
        state.cancelled += 1
        state.stream_cancelled.set()
        raise
