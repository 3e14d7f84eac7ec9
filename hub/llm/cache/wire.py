"""The cache as the LLM gateway's `ResponseCache`: wire bodies in (OpenAI chat, Anthropic messages), answers out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.core.llm import CacheQuery
from hub.llm.cache.cache import LlmCache
from hub.llm.cache.request import CacheRequest, CacheScope, from_anthropic_messages, from_openai_chat


class WireCache:
    def __init__(self, cache: LlmCache) -> None:
        self.cache = cache

    async def lookup(self, query: CacheQuery) -> dict[str, Any] | None:
        hit = await self.cache.lookup(_request(query), CacheScope(query.agent, query.team))
        return None if hit is None else dict(hit.response)

    async def store(self, query: CacheQuery, response: Mapping[str, Any]) -> None:
        await self.cache.store(_request(query), response, CacheScope(query.agent, query.team))


def _request(query: CacheQuery) -> CacheRequest:
    read = from_anthropic_messages if query.api == "messages" else from_openai_chat
    return read(query.body, sensitive=query.sensitive)
