"""Quotas and budgets in one process: a call's estimate is taken first, refused when it would pass, corrected after."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.config.llm import LlmBudgetConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.llm.budgets import Budgets, LocalSpendCounter

pytestmark = pytest.mark.anyio

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
R1, R2 = Principal("r1", "research", {}), Principal("r2", "research", {})
OPS = Principal("o1", "ops", {})


def budgets(*rules: LlmBudgetConfig, at: datetime = NOON) -> Budgets:
    return Budgets(rules, LocalSpendCounter(), clock=lambda: at)


async def test_a_team_quota_is_shared_by_its_agents_and_not_by_another_team() -> None:
    team = budgets(LlmBudgetConfig(name="team-day", per="team", period="day", max_tokens=100))
    await team.settle(await team.admit(R1, 10, 0.0), 70, 0.0)
    with pytest.raises(LimitExceededError) as refused:
        await team.admit(R2, 40, 0.0)  # 70 + 40 > 100
    assert refused.value.message == (
        "budget 'team-day' (team research) would be passed by this request's ~40 prompt tokens"
        " (70 of 100 tokens used this day); shorten the prompt or wait; it renews in 12.0 h"
    )
    assert refused.value.data == {"limit": "team-day", "retry_after_s": 12 * 3600.0}
    await team.admit(R2, 30, 0.0)  # exactly fills the quota
    await team.admit(OPS, 90, 0.0)  # another team counts apart


async def test_a_used_up_quota_refuses_even_an_empty_estimate_until_the_period_renews() -> None:
    rule = LlmBudgetConfig(name="month", per="team", period="month", max_tokens=50)
    counter = LocalSpendCounter()
    now = NOON
    team = Budgets((rule,), counter, clock=lambda: now)
    await team.settle(await team.admit(R1, 5, 0.0), 50, 0.0)
    with pytest.raises(
        LimitExceededError, match=r"is used up for this month \(50 of 50 tokens\); it renews in 108\.0 h"
    ):
        await team.admit(R2, 0, 0.0)
    now = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # a new month: a new counter
    await team.admit(R2, 10, 0.0)


async def test_a_refused_call_gives_back_what_it_took_from_every_rule() -> None:
    agent_rule = LlmBudgetConfig(name="agent-day", period="day", max_tokens=1_000)
    team_rule = LlmBudgetConfig(name="team-day", per="team", period="day", max_tokens=100)
    both = budgets(agent_rule, team_rule)
    with pytest.raises(LimitExceededError, match="team-day"):
        await both.admit(R1, 150, 0.0)
    assert [await both.counter.get(key) for _, key in both.keys(R1)] == [(0, 0.0), (0, 0.0)]


async def test_money_budgets_take_the_prompt_estimate_and_count_the_real_cost() -> None:
    money = budgets(LlmBudgetConfig(name="cost", per="team", period="day", max_cost=1.0))
    taken = await money.admit(R1, 100, 0.1)
    await money.settle(taken, 300, 0.7)
    assert await money.counter.get(money.keys(R1)[0][1]) == (300, pytest.approx(0.7))
    with pytest.raises(LimitExceededError, match=r"would be passed by this request's prompt \(~0\.4000\)"):
        await money.admit(R2, 400, 0.4)
    await money.admit(R2, 300, 0.3)


async def test_spending_without_an_admission_counts_too() -> None:
    team = budgets(LlmBudgetConfig(name="team-day", per="team", period="day", max_tokens=100))
    await team.spend(R1, 100, 0.0)  # e.g. the response cache's embeddings for r1's requests
    with pytest.raises(LimitExceededError, match="is used up for this day"):
        await team.admit(R2, 1, 0.0)
