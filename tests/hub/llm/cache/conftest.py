"""The real local embedding model, loaded once per run, and small builders for chat requests and answers."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from hub.config.llm_cache import LlmCacheConfig
from hub.llm.cache import CacheRequest, LlmCache, from_openai_chat
from hub.llm.cache.embedder import Embedder
from hub.llm.cache.local_embedder import LocalEmbedder
from hub.llm.cache.memory import MemoryBackend


@pytest.fixture(scope="session")
def local_embedder() -> LocalEmbedder:
    embedder = LocalEmbedder()
    anyio.run(embedder.embed, ["load the model once"])
    return embedder


def chat(text: str, *, model: str = "gpt-test", system: str = "You are terse.", **fields: Any) -> CacheRequest:
    """A one-turn chat request in OpenAI's form; `fields` adds body fields (temperature, stream, metadata...)."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    return from_openai_chat({"model": model, "messages": messages, **fields})


def answer(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-test",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def memory_cache(embedder: Embedder | None, **settings: Any) -> LlmCache:
    config = LlmCacheConfig(**settings)
    return LlmCache(config, MemoryBackend(config.max_entries, config.max_partition_entries), embedder)
