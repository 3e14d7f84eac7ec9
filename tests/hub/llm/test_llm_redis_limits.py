"""LLM token buckets in Redis: two replicas draw on one bucket, and a correction on one is seen by the other."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from hub.config.llm import LlmLimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.governance.limits import LocalRateLimiter
from hub.governance.redis_limits import RedisRateLimiter
from hub.llm.limits import LlmLimits
from tests.services import MACHINE_REDIS, require_redis

pytestmark = pytest.mark.anyio

ALICE = Principal("alice", None, {})


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    await require_redis()
    a = RedisRateLimiter(MACHINE_REDIS, LocalRateLimiter())
    b = RedisRateLimiter(MACHINE_REDIS, LocalRateLimiter())
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


async def test_replicas_share_one_token_bucket_and_its_corrections(
    replicas: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    rule = LlmLimitConfig(name=f"tpm-{uuid.uuid4().hex[:8]}", tokens_per_minute=1000)  # fresh keys per test
    one, two = LlmLimits((rule,), replicas[0]), LlmLimits((rule,), replicas[1])
    first = await one.admit(ALICE, "chat", 100)
    await one.settle(first, 700)  # the answer was long: 700 tokens in all, 300 left
    with pytest.raises(LimitExceededError, match="1000 tokens per minute"):
        await two.admit(ALICE, "chat", 400)  # the other replica sees the correction
    second = await two.admit(ALICE, "chat", 250)
    await two.settle(second, 50)  # an over-estimate: 200 come back, 250 left
    await one.admit(ALICE, "chat", 240)
