"""The LLM response cache's settings (docs/llm-cache.md): what is cached, for whom, for how long, how alike."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PositiveInt, StringConstraints


class LlmCacheConfig(BaseModel):
    """An exact match first, then a match by meaning within the same scope, model, system prompt and sampling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    share: Literal["agent", "team", "global"] = "agent"  # whose requests may be answered from one another's
    backend: Literal["memory", "redis"] = "memory"  # redis: storage.redis_url, shared by replicas
    redis_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9:_.-]{1,64}$")] = "hub:llmcache"
    ttl_s: PositiveFloat = 3600.0
    max_entries: PositiveInt = 10_000  # memory backend: the whole cache, least recently used out first
    max_partition_entries: PositiveInt = 1_000  # per scope, model, system prompt and sampling parameters
    semantic: bool = True
    threshold: Annotated[float, Field(gt=0.0, le=1.0)] = 0.90  # cosine similarity; measured, see the docs
    embedder: str = "local"  # "local": all-MiniLM-L6-v2 in process (hub[semantic]); else an embedding deployment
    semantic_max_chars: PositiveInt = 1_000  # a longer last user message is matched exactly only
    guard: bool = True  # refuse a match by meaning whose texts differ in numbers, negation, opposites, order
    max_messages: PositiveInt = 8  # a longer conversation is not cached
    streaming: bool = False  # also answer (and fill from) streaming requests
