"""A fake Ollama API: POST /api/chat (one JSON object, or NDJSON lines when streaming) and GET /api/tags.

A streamed answer is one line per token with `done: false`, then a last line with `done: true`,
`done_reason`, `prompt_eval_count` and `eval_count` (Ollama's token counts). Errors are
`{"error": "<message>"}`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers.llm.faults import FakeState, answer_tokens, count_words


def routes(state: FakeState) -> list[Route]:
    async def chat(request: Request) -> Response:
        body = await request.json()
        state.record("/api/chat", body, dict(request.headers))
        fault = state.fault_for(str(body.get("model", "")))
        if fault is not None:
            await anyio.sleep(fault.delay_s)
            headers = {"retry-after": str(fault.retry_after_s)} if fault.retry_after_s is not None else {}
            return JSONResponse({"error": fault.message}, status_code=fault.status, headers=headers)
        await state.before_answer(str(body.get("model", "")))
        if body.get("stream", True):
            return StreamingResponse(_stream(state, body), media_type="application/x-ndjson")
        text = "".join(answer_tokens(state, body.get("messages", [])))
        return JSONResponse({**_line(body, text, done=True), **_final(body, len(text.split()))})

    async def tags(request: Request) -> Response:
        return JSONResponse({"models": [{"name": "fake-llama", "model": "fake-llama"}]})

    return [Route("/api/chat", chat, methods=["POST"]), Route("/api/tags", tags, methods=["GET"])]


def _line(body: dict[str, Any], text: str, done: bool) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {"model": body["model"], "created_at": now, "message": {"role": "assistant", "content": text}, "done": done}


def _final(body: dict[str, Any], eval_count: int) -> dict[str, Any]:
    prompt = count_words(body.get("messages", []))
    return {"done_reason": "stop", "prompt_eval_count": prompt, "eval_count": eval_count, "total_duration": 1000}


async def _stream(state: FakeState, body: dict[str, Any]) -> AsyncIterator[str]:
    state.stream_started.set()
    sent = 0
    try:
        for piece in answer_tokens(state, body.get("messages", [])):
            await anyio.sleep(state.token_delay_s)
            yield json.dumps(_line(body, piece, done=False)) + "\n"
            sent += 1
        yield json.dumps({**_line(body, "", done=True), **_final(body, sent)}) + "\n"
        state.completed += 1
    except BaseException:
        state.cancelled += 1
        state.stream_cancelled.set()
        raise
