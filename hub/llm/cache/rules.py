"""When the cache stays out of the way: requests it neither answers nor fills, answers it does not keep."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.config.llm_cache import LlmCacheConfig
from hub.llm.cache.request import CacheRequest, message_text, only_text

SKIP_REASONS = ("sensitive", "streaming", "long_conversation", "tool_calling", "not_a_user_turn")


def skip_reason(request: CacheRequest, config: LlmCacheConfig) -> str | None:
    """Why this request must not be answered from (nor stored in) the cache, or None when it may be.

    A tool-calling turn is one that carries tool calls or tool results: its answer depends on what
    the tools returned this time. Offering tools alone does not skip (the tool list is in the key);
    an answer that calls a tool is not stored (see `keeps_answer`).
    """
    if request.sensitive:
        return "sensitive"
    if request.stream and not config.streaming:
        return "streaming"
    if len(request.messages) > config.max_messages:
        return "long_conversation"
    if any(_tool_turn(m) for m in request.messages):
        return "tool_calling"
    if not request.messages or request.messages[-1].get("role") != "user":
        return "not_a_user_turn"
    return None


def semantic_text(request: CacheRequest, config: LlmCacheConfig) -> str | None:
    """The last user message, when it may be matched by meaning: plain text, not empty, not too long.

    A longer message would be cut by the embedding model, and two prompts sharing their beginning
    would then look identical; those are matched exactly only.
    """
    last = request.messages[-1]
    text = message_text(last).strip()
    if not text or not only_text(last) or len(text) > config.semantic_max_chars:
        return None
    return text


def keeps_answer(response: Mapping[str, Any]) -> bool:
    """An answer worth keeping: a chat completion (or Anthropic message) that calls no tool and was not filtered."""
    if response.get("type") == "message":
        blocks = response.get("content")
        return (
            isinstance(blocks, list)
            and response.get("stop_reason") in ("end_turn", "max_tokens", "stop_sequence")
            and all(isinstance(b, Mapping) and b.get("type") == "text" for b in blocks)
        )
    choices = response.get("choices")
    if not isinstance(choices, list) or not choices:
        return False
    for choice in choices:
        if not isinstance(choice, Mapping) or choice.get("finish_reason") in ("tool_calls", "function_call"):
            return False
        if choice.get("finish_reason") == "content_filter":
            return False
        message = choice.get("message")
        if not isinstance(message, Mapping) or message.get("tool_calls") or message.get("function_call"):
            return False
    return True


def _tool_turn(message: Mapping[str, Any]) -> bool:
    if message.get("role") in ("tool", "function") or message.get("tool_calls") or message.get("function_call"):
        return True
    content = message.get("content")  # Anthropic: tool_use and tool_result blocks
    return isinstance(content, list) and any(
        isinstance(b, Mapping) and b.get("type") in ("tool_use", "tool_result") for b in content
    )
