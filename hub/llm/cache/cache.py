"""The LLM response cache: `lookup` before a call goes to a model, `store` after it answered.

Exact match first (same scope, model, system prompt, sampling parameters and turns), then by
meaning: the last user message's vector against the vectors of earlier requests in the same
partition, served when the cosine similarity reaches the threshold and the guard finds no
difference a vector misses (numbers, negation, opposites, order; see guard.py). A failing backend or embedder
never fails the call: the cache logs `llm_cache.unavailable`, counts an error and answers a miss.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hub.config.llm_cache import LlmCacheConfig
from hub.errors import CacheUnavailableError, HubError
from hub.llm.cache.backend import CacheBackend, Entry
from hub.llm.cache.embedder import Embedder, Vectors
from hub.llm.cache.guard import meaning_differs
from hub.llm.cache.keys import exact_key, partition_key, scope_key
from hub.llm.cache.request import CacheRequest, CacheScope
from hub.llm.cache.rules import keeps_answer, semantic_text, skip_reason
from hub.llm.cache.stats import CacheStats

log = logging.getLogger(__name__)

RECENT_VECTORS = 256
"""Vectors of recent lookups kept for `store`, so an answer is not embedded twice."""

CANDIDATES = 5
"""Entries above the threshold that the guard may look at, best first."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    response: Mapping[str, Any]
    match: Literal["exact", "semantic"]
    similarity: float  # 1.0 for an exact match
    created_at: float  # when the answer was stored, seconds since the epoch


class LlmCache:
    def __init__(self, config: LlmCacheConfig, backend: CacheBackend, embedder: Embedder | None) -> None:
        self.config = config
        self.stats = CacheStats()
        self._backend = backend
        self._embedder = embedder if config.semantic else None
        self._recent: OrderedDict[str, Vectors] = OrderedDict()

    async def lookup(self, request: CacheRequest, scope: CacheScope) -> CachedResponse | None:
        """An earlier answer for this request within its scope, or None (and the caller asks the model)."""
        reason = skip_reason(request, self.config)
        if reason is not None:
            self.stats.skips[reason] += 1
            return None
        scope_id = scope_key(scope, self.config.share)
        try:
            entry = await self._backend.get(exact_key(request, scope_id))
            if entry is not None:
                self.stats.exact_hits += 1
                return CachedResponse(entry.response, "exact", 1.0, entry.created_at)
            match = await self._semantic(request, scope, scope_id)
        except HubError as exc:
            self._degraded(exc)
            return None
        if match is None:
            self.stats.misses += 1
            return None
        self.stats.semantic_hits += 1
        return match

    async def store(self, request: CacheRequest, response: Mapping[str, Any], scope: CacheScope) -> bool:
        """Keep the model's answer to this request; False when a skip rule or the answer's shape forbids it."""
        if skip_reason(request, self.config) is not None or not keeps_answer(response):
            return False
        scope_id = scope_key(scope, self.config.share)
        try:
            text, vector, partition = await self._vector(request, scope, scope_id)
            entry = Entry(exact_key(request, scope_id), partition, response, time.time(), vector, text)
            await self._backend.put(entry, self.config.ttl_s)
        except HubError as exc:
            self._degraded(exc)
            return False
        self.stats.stores += 1
        return True

    async def aclose(self) -> None:
        await self._backend.aclose()

    @property
    def embedder(self) -> Embedder | None:
        """The embedder matching by meaning uses; None when `semantic` is off."""
        return self._embedder

    async def warm(self) -> None:
        """Load the embedder now (in the background at hub start) so the first request does not wait for it."""
        if self._embedder is not None:
            await self._embedder.warm()

    @property
    def embedder_state(self) -> str:
        return "off" if self._embedder is None else self._embedder.state

    async def _semantic(self, request: CacheRequest, scope: CacheScope, scope_id: str) -> CachedResponse | None:
        text, vector, partition = await self._vector(request, scope, scope_id)
        if vector is None:
            return None
        for match in await self._backend.nearest(partition, vector, self.config.threshold, CANDIDATES):
            if not (self.config.guard and meaning_differs(text, match.entry.text)):
                return CachedResponse(match.entry.response, "semantic", match.similarity, match.entry.created_at)
        return None

    async def _vector(self, request: CacheRequest, scope: CacheScope, scope_id: str) -> tuple[str, Vectors | None, str]:
        """The last user message, its vector when it may be matched by meaning, and the request's partition."""
        name = self._embedder.name if self._embedder is not None else "none"
        partition = partition_key(request, scope_id, name)
        text = semantic_text(request, self.config)
        if self._embedder is None or text is None:
            return "", None, partition
        recent_key = f"{partition}:{text}"
        vector = self._recent.get(recent_key)
        if vector is None:
            try:
                vector = (await self._embedder.embed([text], scope))[0]
            except HubError:
                raise
            except Exception as exc:  # an embedder is foreign code (a model, a remote call): it never fails the call
                raise CacheUnavailableError(f"embedder {name!r} failed: {type(exc).__name__}") from exc
            self._recent[recent_key] = vector
            while len(self._recent) > RECENT_VECTORS:
                self._recent.popitem(last=False)
        return text, vector, partition

    def _degraded(self, exc: HubError) -> None:
        self.stats.errors += 1
        log.warning("llm_cache.unavailable", extra={"error": exc.message})
