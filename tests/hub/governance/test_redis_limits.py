"""Rate-limit budgets in Redis: shared by replicas, local while Redis is away, shared again after.

Two limiters stand for two hub replicas. The machine's Redis (127.0.0.1:6379) serves the sharing
test; the outage test starts a Redis of its own on a free port, so it can stop and restart it.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio as aioredis
from anyio.abc import Process
from redis.exceptions import RedisError

from hub.config.model import LimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.governance.limits import Limits, LocalRateLimiter
from hub.governance.redis_limits import RedisRateLimiter
from tests.services import MACHINE_REDIS, require_redis

pytestmark = pytest.mark.anyio

ALICE = Principal("alice", None, {})


async def admitted(limits: Limits) -> bool:
    async with limits.admit(ALICE, "desk", "t"):
        return True


def _rule(**fields: object) -> LimitConfig:
    return LimitConfig.model_validate({"name": f"r{uuid.uuid4().hex[:8]}", **fields})  # fresh keys per test


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    await require_redis(MACHINE_REDIS)
    a = RedisRateLimiter(MACHINE_REDIS, LocalRateLimiter())
    b = RedisRateLimiter(MACHINE_REDIS, LocalRateLimiter())
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_replicas_share_one_budget(replicas: tuple[RedisRateLimiter, RedisRateLimiter]) -> None:
    rule = _rule(requests_per_minute=3, concurrent_calls=1)
    one, two = (Limits((rule,), limiter) for limiter in replicas)
    assert await admitted(one)
    assert await admitted(two)
    async with one.admit(ALICE, "desk", "t"):
        with pytest.raises(LimitExceededError) as busy:
            await admitted(two)  # the other replica's call holds the one concurrent slot
    assert "concurrent" in busy.value.message
    with pytest.raises(LimitExceededError) as spent:
        await admitted(two)  # three requests taken between the two replicas
    assert spent.value.data["retry_after_s"] > 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    """A redis-server of the test's own, which it may stop and start again on the same port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: Process | None = None

    async def start(self) -> None:
        self._proc = await anyio.open_process(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = aioredis.Redis.from_url(self.url, socket_timeout=0.5)
        try:
            with anyio.fail_after(10):
                while True:  # bounded by fail_after: redis-server has no readiness signal to wait on
                    try:
                        await client.ping()
                        return
                    except (OSError, RedisError):
                        await anyio.sleep(0.05)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            with anyio.fail_after(10):
                await self._proc.wait()
            await self._proc.aclose()
            self._proc = None


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is needed for the Redis outage test")
    server = OwnRedis()
    await server.start()
    yield server
    await server.stop()


async def test_local_budgets_while_redis_is_away_then_shared_again(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.governance.redis_limits")
    limiter = RedisRateLimiter(own_redis.url, LocalRateLimiter(), retry_s=0.0)
    other_replica = RedisRateLimiter(own_redis.url, LocalRateLimiter(), retry_s=0.0)
    rule = _rule(requests_per_minute=1)
    limits, other = Limits((rule,), limiter), Limits((rule,), other_replica)
    try:
        assert await admitted(limits)  # the shared budget (one per minute) is spent
        await own_redis.stop()
        assert await admitted(limits)  # Redis away: this replica's own budget serves
        assert "limits.redis_down" in caplog.messages
        with pytest.raises(LimitExceededError):
            await admitted(limits)  # ...and is limited too
        await own_redis.start()  # a fresh Redis: empty, so the shared budget is full again
        assert await admitted(other)
        with pytest.raises(LimitExceededError):
            await admitted(limits)  # shared again: the other replica took the one request
        assert "limits.redis_back" in caplog.messages
    finally:
        await limiter.aclose()
        await other_replica.aclose()
