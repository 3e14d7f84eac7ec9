"""The LLM response cache (exact, then semantic); see cache.py and docs/llm-cache.md."""

from hub.llm.cache.cache import CachedResponse, LlmCache
from hub.llm.cache.request import CacheRequest, CacheScope, from_anthropic_messages, from_openai_chat

__all__ = [
    "CacheRequest",
    "CacheScope",
    "CachedResponse",
    "LlmCache",
    "from_anthropic_messages",
    "from_openai_chat",
]
