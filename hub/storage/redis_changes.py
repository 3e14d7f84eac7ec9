"""Catalog change notices over Redis pub/sub: replicas reload at once instead of at their next poll.

Optional (the `hub[redis]` extra), used when `storage.redis_url` is set. A notice only wakes the
catalog sync early, which then reads the catalog version as on any poll; polling stays the safety
net, so a notice lost while Redis is away delays a reload by at most one poll interval. Every
replica on one Redis shares the channel: a notice from an unrelated hub costs one version read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio
import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "hub:catalog:changed"


class RedisChangeNotices:
    def __init__(self, url: str, timeout_s: float = 0.5, retry_s: float = 5.0) -> None:
        self._publisher = aioredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._listener = aioredis.Redis.from_url(url, socket_connect_timeout=timeout_s)  # blocks while idle
        self._timeout_s = timeout_s
        self._retry_s = retry_s

    async def aclose(self) -> None:
        await self._publisher.aclose()
        await self._listener.aclose()

    async def publish(self, version: int) -> None:
        """Tell the other replicas; a failure is logged, the pollers will notice anyway."""
        try:
            with anyio.move_on_after(self._timeout_s):
                await self._publisher.publish(CHANNEL, str(version))
        except (OSError, RedisError) as exc:
            log.warning("catalog.notice_failed", extra={"error": str(exc)[:200]})

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` on every notice until cancelled; after a failure, subscribe again after `retry_s`."""
        while True:
            try:
                async with self._listener.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            wake()
            except (OSError, RedisError) as exc:
                log.warning("catalog.notices_down", extra={"error": str(exc)[:200]})
            await anyio.sleep(self._retry_s)
