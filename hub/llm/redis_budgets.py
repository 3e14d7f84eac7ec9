"""LLM spending counted in Redis, so budgets hold across hub replicas; in-process counts while Redis is away.

One hash per (budget, agent or team, period): `tokens` (HINCRBY) and `cost` (HINCRBYFLOAT) in one
MULTI/EXEC, so the totals an add returns include it and two replicas never both see room that only
one request fits in; the hash expires an hour after its period ends. When Redis cannot be reached the
hub keeps counting locally, logs `llm.budgets_redis_down` once, and tries Redis again after `retry_s`.
"""

from __future__ import annotations

import logging

import anyio
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.llm.budgets import LocalSpendCounter

log = logging.getLogger(__name__)


class RedisSpendCounter:
    def __init__(self, url: str, local: LocalSpendCounter, timeout_s: float = 0.25, retry_s: float = 5.0) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._local = local
        self._retry_s = retry_s
        self._down_since: float | None = None

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def get(self, key: str) -> tuple[int, float]:
        if self._available():
            try:
                tokens, cost = await self._redis.hmget(f"hub:llm-spend:{key}", ["tokens", "cost"])
                self._up()
                return int(tokens or 0), float(cost or 0.0)
            except (RedisError, OSError) as exc:
                self._down(exc)
        return await self._local.get(key)

    async def add(self, key: str, tokens: int, cost: float, ttl_s: int) -> tuple[int, float]:
        if self._available():
            try:
                async with self._redis.pipeline(transaction=True) as pipe:  # MULTI/EXEC: the totals include this add
                    name = f"hub:llm-spend:{key}"
                    pipe.hincrby(name, "tokens", tokens)
                    pipe.hincrbyfloat(name, "cost", cost)
                    pipe.expire(name, max(ttl_s, 60))
                    total_tokens, total_cost, _ = await pipe.execute()
                self._up()
                return int(total_tokens), float(total_cost)
            except (RedisError, OSError) as exc:
                self._down(exc)
        return await self._local.add(key, tokens, cost, ttl_s)

    def _available(self) -> bool:
        return self._down_since is None or anyio.current_time() - self._down_since >= self._retry_s

    def _down(self, exc: BaseException) -> None:
        if self._down_since is None:
            log.warning("llm.budgets_redis_down", extra={"error": str(exc)[:200]})
        self._down_since = anyio.current_time()

    def _up(self) -> None:
        if self._down_since is not None:
            log.warning("llm.budgets_redis_back")
            self._down_since = None
