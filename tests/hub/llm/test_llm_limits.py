"""LLM token buckets: the estimate is taken before the call and corrected by the real usage after."""

from __future__ import annotations

import pytest

from hub.config.llm import LlmLimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.governance.limits import LocalRateLimiter
from hub.llm.limits import LlmLimits

pytestmark = pytest.mark.anyio

ALICE = Principal(agent="alice", team="research", grants={})
BOB = Principal(agent="bob", team="research", grants={})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_real_usage_corrects_the_estimate() -> None:
    clock = Clock()
    limits = LlmLimits((LlmLimitConfig(name="tpm", tokens_per_minute=100),), LocalRateLimiter(clock))
    first = await limits.admit(ALICE, "chat", 10)
    await limits.settle(first, 90)  # the answer was long: 90 tokens in all
    with pytest.raises(LimitExceededError) as refused:
        await limits.admit(ALICE, "chat", 20)  # 10 left, 20 needed
    assert refused.value.data["limit"] == "tpm"
    assert refused.value.data["retry_after_s"] == pytest.approx(6.0)  # 10 tokens at 100/60 per second
    clock.now = 6.0
    await limits.admit(ALICE, "chat", 20)


async def test_an_over_estimate_is_given_back() -> None:
    limits = LlmLimits((LlmLimitConfig(name="tpm", tokens_per_minute=100),), LocalRateLimiter(Clock()))
    reservation = await limits.admit(ALICE, "chat", 80)
    await limits.settle(reservation, 10)
    await limits.admit(ALICE, "chat", 80)  # 90 left after the correction


async def test_team_and_model_scopes() -> None:
    rules = (
        LlmLimitConfig(name="team", per="team", requests_per_minute=2),
        LlmLimitConfig(name="per-model", per="model", models=["big"], requests_per_minute=1),
    )
    limits = LlmLimits(rules, LocalRateLimiter(Clock()))
    await limits.admit(ALICE, "chat", 0)
    await limits.admit(BOB, "chat", 0)
    with pytest.raises(LimitExceededError, match="rate limit 'team' reached"):
        await limits.admit(ALICE, "chat", 0)
    other_team = Principal(agent="carol", team="ops", grants={})
    await limits.admit(other_team, "big", 0)
    with pytest.raises(LimitExceededError, match="rate limit 'per-model' reached"):
        await limits.admit(Principal(agent="dave", team="sales", grants={}), "big", 0)


async def test_a_refused_call_gives_back_what_earlier_rules_took() -> None:
    rules = (
        LlmLimitConfig(name="tokens", tokens_per_minute=100),
        LlmLimitConfig(name="requests", requests_per_minute=1),
    )
    limiter = LocalRateLimiter(Clock())
    limits = LlmLimits(rules, limiter)
    await limits.admit(ALICE, "chat", 40)
    with pytest.raises(LimitExceededError, match="'requests'"):
        await limits.admit(ALICE, "chat", 40)
    only_tokens = LlmLimits(rules[:1], limiter)
    await only_tokens.admit(ALICE, "chat", 60)  # the refused call's 40 tokens came back
