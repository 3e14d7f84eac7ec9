"""Streamed answers as wire bytes, passed on chunk by chunk, with usage and cost known at the end.

OpenAI chat: litellm's chunks become `data: <json>` events and `data: [DONE]`; the usage chunk is
always requested upstream and passed on only when the agent asked for it. Anthropic messages:
litellm yields the SSE bytes of Anthropic's event sequence; usage is read from message_start and
message_delta as they pass. A stream cut short keeps the usage seen so far.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from hub.core.llm import Usage

Pricer = Callable[[str, Usage], float]


class OpenAiSseStream:
    def __init__(self, wrapper: Any, model: str, include_usage: bool, pricer: Pricer) -> None:
        self._wrapper = wrapper
        self._model = model
        self._include_usage = include_usage
        self._pricer = pricer
        self.deployment = _model_id(wrapper)
        self.usage = Usage()
        self.cost = 0.0
        self.completion_chunks = 0  # content chunks seen: the completion estimate if no usage comes

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._wrapper:
            data = chunk.model_dump(exclude_none=True)
            data["model"] = self._model
            usage = data.get("usage")
            if usage:
                self.usage = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
                self.cost = self._pricer(self.deployment, self.usage)
                if not self._include_usage:
                    data.pop("usage")
                    if not data.get("choices"):
                        continue
            if data.get("choices"):
                self.completion_chunks += 1
            data.setdefault("choices", [])
            yield b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"

    async def aclose(self) -> None:
        await self._wrapper.aclose()


class AnthropicSseStream:
    def __init__(self, events: Any, wrapper: Any, pricer: Pricer) -> None:
        self._upstream = events
        self._wrapper = wrapper
        self._pricer = pricer
        self.deployment = _model_id(wrapper)
        self.usage = Usage()
        self.cost = 0.0
        self.completion_chunks = 0
        self._pending = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._upstream:
            raw = piece if isinstance(piece, bytes) else str(piece).encode()
            self._observe(raw)
            yield raw

    def _observe(self, raw: bytes) -> None:
        """Read usage from the data lines of complete events; a partial line waits for the next piece."""
        self._pending += raw
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            try:
                event = json.loads(line[5:])
            except ValueError:
                continue
            kind = event.get("type")
            if kind == "message_start":
                usage = (event.get("message") or {}).get("usage") or {}
                self.usage = Usage(int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0))
            elif kind == "message_delta":
                usage = event.get("usage") or {}
                prompt = int(usage.get("input_tokens") or self.usage.prompt_tokens)
                self.usage = Usage(prompt, int(usage.get("output_tokens") or 0))
            elif kind == "content_block_delta":
                self.completion_chunks += 1
            self.cost = self._pricer(self.deployment, self.usage)

    async def aclose(self) -> None:
        await self._wrapper.aclose()


def _model_id(wrapper: Any) -> str:
    hidden = getattr(wrapper, "_hidden_params", None) or {}
    return str(hidden.get("model_id") or "?")
