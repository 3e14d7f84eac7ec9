"""LLM budgets in Redis: spending on one replica counts against the budget on another."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from hub.config.llm import LlmBudgetConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.llm.budgets import Budgets, LocalSpendCounter
from hub.llm.redis_budgets import RedisSpendCounter
from tests.services import MACHINE_REDIS, require_redis

pytestmark = pytest.mark.anyio


@pytest.fixture
async def counters() -> AsyncIterator[tuple[RedisSpendCounter, RedisSpendCounter]]:
    await require_redis()
    a, b = RedisSpendCounter(MACHINE_REDIS, LocalSpendCounter()), RedisSpendCounter(MACHINE_REDIS, LocalSpendCounter())
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


async def test_spending_on_one_replica_counts_on_the_other(
    counters: tuple[RedisSpendCounter, RedisSpendCounter],
) -> None:
    agent = Principal(f"agent-{uuid.uuid4().hex[:8]}", None, {})  # fresh keys per test
    rule = LlmBudgetConfig(name="daily", period="day", max_cost=1.0, max_tokens=10_000)
    one, two = Budgets((rule,), counters[0]), Budgets((rule,), counters[1])
    await one.spend(agent, 500, 0.6)
    taken = await two.admit(agent, 100, 0.1)  # 0.6 of 1.0: still open
    await two.settle(taken, 500, 0.5)  # the real usage replaces the estimate
    with pytest.raises(
        LimitExceededError, match=r"budget 'daily' \(agent-\w+\) is used up for this day \(1.1000 of 1 spent\)"
    ):
        await one.admit(agent, 10, 0.0)
    assert await counters[0].get(one.keys(agent)[0][1]) == (1000, pytest.approx(1.1))


async def test_two_replicas_cannot_both_take_the_last_room_in_a_team_quota(
    counters: tuple[RedisSpendCounter, RedisSpendCounter],
) -> None:
    team = f"team-{uuid.uuid4().hex[:8]}"
    rule = LlmBudgetConfig(name="team-day", per="team", period="day", max_tokens=100)
    one, two = Budgets((rule,), counters[0]), Budgets((rule,), counters[1])
    await one.admit(Principal("a1", team, {}), 60, 0.0)
    with pytest.raises(LimitExceededError, match=r"would be passed by this request's ~60 prompt tokens \(60 of 100"):
        await two.admit(Principal("a2", team, {}), 60, 0.0)
    assert await counters[1].get(two.keys(Principal("a2", team, {}))[0][1]) == (60, 0.0)  # the refused 60 given back


async def test_an_unreachable_redis_counts_locally() -> None:
    counter = RedisSpendCounter("redis://127.0.0.1:1/0", LocalSpendCounter())  # nothing listens on port 1
    try:
        await counter.add("k", 10, 0.5, 60)
        assert await counter.get("k") == (10, 0.5)
    finally:
        await counter.aclose()
