"""Rate-limit budgets in Redis, so they hold across hub replicas; local budgets while Redis is away.

Each operation is one Lua script, atomic on the Redis server and timed by the server's clock, so
replicas with skewed clocks still share one bucket. Keys expire on their own, so a replica that dies
holding a concurrency slot frees it after `slot_ttl_s`.

When Redis cannot be reached (or answers slowly) the hub keeps serving on in-process budgets, logs
`limits.redis_down` once, tries Redis again every `retry_s`, and logs `limits.redis_back` when it
answers. A concurrency slot is given back where it was taken.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import anyio
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.governance.limits import LocalRateLimiter

log = logging.getLogger(__name__)

_TAKE = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local amount = tonumber(ARGV[3] or '1')
local adjust = ARGV[4] == '1'
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(b[1]) or capacity
local ts = tonumber(b[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local wait = 0
if adjust then tokens = math.min(capacity, tokens - amount)
elseif tokens >= amount then tokens = tokens - amount else wait = (amount - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return tostring(wait)
"""

_ENTER = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""

_LEAVE = """
local n = redis.call('DECR', KEYS[1])
if n <= 0 then redis.call('DEL', KEYS[1]) end
return n
"""


class RedisRateLimiter:
    def __init__(
        self, url: str, local: LocalRateLimiter, timeout_s: float = 0.25, retry_s: float = 5.0, slot_ttl_s: int = 300
    ) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._take = self._redis.register_script(_TAKE)
        self._enter = self._redis.register_script(_ENTER)
        self._leave = self._redis.register_script(_LEAVE)
        self._local = local
        self._retry_s = retry_s
        self._slot_ttl_s = slot_ttl_s
        self._down_since: float | None = None
        self._local_slots: Counter[str] = Counter()  # slots taken locally, to give back locally

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def take(self, key: str, per_minute: int, amount: float = 1.0) -> float:
        wait = await self._shared(self._take, f"hub:bucket:{key}", per_minute / 60.0, per_minute, amount, 0)
        return float(wait) if wait is not None else await self._local.take(key, per_minute, amount)

    async def adjust(self, key: str, per_minute: int, amount: float) -> None:
        done = await self._shared(self._take, f"hub:bucket:{key}", per_minute / 60.0, per_minute, amount, 1)
        if done is None:
            await self._local.adjust(key, per_minute, amount)

    async def enter(self, key: str, limit: int) -> bool:
        admitted = await self._shared(self._enter, f"hub:running:{key}", limit, self._slot_ttl_s)
        if admitted is not None:
            return bool(int(admitted))
        if await self._local.enter(key, limit):
            self._local_slots[key] += 1
            return True
        return False

    async def leave(self, key: str) -> None:
        if self._local_slots[key] > 0:
            self._local_slots[key] -= 1
            await self._local.leave(key)
        else:
            await self._shared(self._leave, f"hub:running:{key}")  # if Redis is gone, the key expires there

    async def _shared(self, script: Any, redis_key: str, *args: object) -> Any:
        """Run a script on one Redis key, or None when Redis is (still) considered down."""
        now = anyio.current_time()
        if self._down_since is not None and now - self._down_since < self._retry_s:
            return None
        try:
            result = await script(keys=[redis_key], args=list(args))
        except (RedisError, OSError) as exc:
            if self._down_since is None:
                log.warning("limits.redis_down", extra={"error": str(exc)[:200]})
            self._down_since = now
            return None
        if self._down_since is not None:
            log.warning("limits.redis_back")
            self._down_since = None
        return result
