"""A stored answer sent again as a stream: the server-sent events a provider would have sent for it.

When `streaming` is on, a streaming request may be answered from the cache; the answer was stored
whole, so it goes out as the smallest valid stream of its API: OpenAI chat-completion chunks
ending in `data: [DONE]`, or Anthropic's message_start ... message_stop events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal


def replay_events(api: Literal["chat", "messages"], response: Mapping[str, Any]) -> list[bytes]:
    return _anthropic(response) if api == "messages" else _openai(response)


def _openai(response: Mapping[str, Any]) -> list[bytes]:
    base = {k: response.get(k) for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    events = []
    for choice in response.get("choices", []):
        message = choice.get("message", {})
        delta = {"role": message.get("role", "assistant"), "content": message.get("content") or ""}
        events.append(base | {"choices": [{"index": choice.get("index", 0), "delta": delta, "finish_reason": None}]})
        end = {"index": choice.get("index", 0), "delta": {}, "finish_reason": choice.get("finish_reason", "stop")}
        events.append(base | {"choices": [end]})
    if "usage" in response:
        events.append(base | {"choices": [], "usage": response["usage"]})
    return [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _anthropic(response: Mapping[str, Any]) -> list[bytes]:
    blocks = response.get("content", [])
    start = dict(response) | {"content": [], "stop_reason": None, "stop_sequence": None}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for i, block in enumerate(blocks):
        text = {"type": "text_delta", "text": block.get("text", "")}
        empty = {"type": "text", "text": ""}
        events += [
            ("content_block_start", {"type": "content_block_start", "index": i, "content_block": empty}),
            ("content_block_delta", {"type": "content_block_delta", "index": i, "delta": text}),
            ("content_block_stop", {"type": "content_block_stop", "index": i}),
        ]  # fmt: skip
    delta = {"stop_reason": response.get("stop_reason"), "stop_sequence": response.get("stop_sequence")}
    usage = {"output_tokens": response.get("usage", {}).get("output_tokens", 0)}
    events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
    events.append(("message_stop", {"type": "message_stop"}))
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
