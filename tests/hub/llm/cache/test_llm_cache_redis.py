"""The cache on Redis: two caches stand for two hub replicas sharing the machine's Redis.

Each test works under its own key prefix and removes its keys afterwards.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.config.llm_cache import LlmCacheConfig
from hub.llm.cache import CacheScope, LlmCache
from hub.llm.cache.local_embedder import LocalEmbedder
from hub.llm.cache.redis import RedisBackend
from tests.hub.llm.cache.conftest import answer, chat

pytestmark = pytest.mark.anyio

MACHINE_REDIS = "redis://127.0.0.1:6379/0"
ALICE = CacheScope("alice", team="support")
BOB = CacheScope("bob", team="support")

Replica = Callable[..., LlmCache]


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(MACHINE_REDIS, socket_timeout=2)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        await client.aclose()
        if os.environ.get("HUB_REQUIRE_SERVICES"):
            pytest.fail(f"Redis at {MACHINE_REDIS} is required (HUB_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"no Redis at {MACHINE_REDIS}")
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis_client: aioredis.Redis) -> AsyncIterator[str]:
    name = f"test:llmcache:{uuid.uuid4().hex[:12]}"
    yield name
    keys = [key async for key in redis_client.scan_iter(match=f"{name}:*")]
    if keys:
        await redis_client.delete(*keys)


@pytest.fixture
async def replica(prefix: str, local_embedder: LocalEmbedder) -> AsyncIterator[Replica]:
    """Builds caches on Redis under the test's prefix, each with its own client and mirror, like a replica."""
    made: list[LlmCache] = []

    def make(**settings: Any) -> LlmCache:
        config = LlmCacheConfig(backend="redis", redis_prefix=prefix, **settings)
        cache = LlmCache(config, RedisBackend(MACHINE_REDIS, prefix, config.max_partition_entries), local_embedder)
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.aclose()


async def test_a_replica_answers_from_what_another_stored(replica: Replica) -> None:
    one, two = replica(), replica()
    assert await two.lookup(chat("How do I reset my password?"), ALICE) is None  # two mirrors the empty partition
    await one.store(chat("How do I reset my password?"), answer("Use the reset link."), ALICE)
    exact = await two.lookup(chat("How do I reset my password?"), ALICE)
    similar = await two.lookup(chat("How can I reset my password?"), ALICE)
    assert exact is not None
    assert similar is not None
    assert (exact.match, similar.match) == ("exact", "semantic")
    assert exact.response == similar.response == answer("Use the reset link.")
    assert await two.lookup(chat("How do I reset my router?"), ALICE) is None
    assert await two.lookup(chat("Convert Fahrenheit to Celsius."), ALICE) is None
    assert await two.lookup(chat("How can I reset my password?"), BOB) is None  # another agent's answer
    assert two.stats.snapshot()["semantic_hit"] == 1


async def test_team_sharing_holds_across_replicas(replica: Replica) -> None:
    one, two = replica(share="team"), replica(share="team")
    await one.store(chat("How do I reset my password?"), answer("team answer"), ALICE)
    assert await two.lookup(chat("How can I reset my password?"), BOB) is not None
    assert await two.lookup(chat("How can I reset my password?"), CacheScope("carol", team="sales")) is None


async def test_entries_carry_their_ttl_and_lapse(replica: Replica, redis_client: aioredis.Redis, prefix: str) -> None:
    cache = replica(ttl_s=60)
    await cache.store(chat("What is DNS?"), answer("names"), ALICE)
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}:*")]
    assert len(keys) == 4  # the entry, and the partition's vectors, expiry times and change count
    for key in keys:
        assert 0 < await redis_client.pttl(key) <= 60_000
    brief = replica(ttl_s=0.2)
    await brief.store(chat("What is TCP?"), answer("a transport"), ALICE)
    with anyio.fail_after(10):
        while True:  # bounded by fail_after: Redis expires the entry on its own clock
            if await brief.lookup(chat("What is TCP?"), ALICE) is None:
                break
            await anyio.sleep(0.05)
    assert await brief.lookup(chat("What's TCP?"), ALICE) is None
    vectors = f"{prefix}:v:" + _partition_of(keys)
    assert await redis_client.hkeys(vectors) == [_entry_of(keys).encode()]  # TCP's vector was pruned


async def test_a_full_partition_drops_its_oldest_entry_for_every_replica(
    replica: Replica, redis_client: aioredis.Redis, prefix: str
) -> None:
    one, two = replica(max_partition_entries=2), replica(max_partition_entries=2)
    for question in ("What is DNS?", "What is TCP?", "What is HTTP?"):
        await one.store(chat(question), answer(question), ALICE)
    assert await two.lookup(chat("What is DNS?"), ALICE) is None
    assert await two.lookup(chat("What is TCP?"), ALICE) is not None
    assert await two.lookup(chat("What's HTTP?"), ALICE) is not None
    entries = [key async for key in redis_client.scan_iter(match=f"{prefix}:e:*")]
    assert len(entries) == 2


async def test_an_unreachable_redis_leaves_calls_uncached(
    local_embedder: LocalEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    config = LlmCacheConfig(backend="redis")
    cache = LlmCache(config, RedisBackend(f"redis://127.0.0.1:{port}/0", "x", 10), local_embedder)
    with caplog.at_level(logging.WARNING):
        assert not await cache.store(chat("What is DNS?"), answer("names"), ALICE)
        assert await cache.lookup(chat("What is DNS?"), ALICE) is None
    await cache.aclose()
    assert cache.stats.errors == 2
    assert {r.message for r in caplog.records} == {"llm_cache.unavailable"}


def _partition_of(keys: list[bytes]) -> str:
    return next(k.decode() for k in keys if b":v:" in k).rsplit(":", 1)[1]


def _entry_of(keys: list[bytes]) -> str:
    return next(k.decode() for k in keys if b":e:" in k).rsplit(":", 1)[1]
