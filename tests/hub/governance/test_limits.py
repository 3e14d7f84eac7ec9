"""Rate-limit rules: which calls they cover, whose budget they draw on, and what a refusal says."""

from __future__ import annotations

import pytest

from hub.config.model import LimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.governance.limits import Limits, LocalRateLimiter


class Clock:
    """Time the test moves by hand (the limiter's clock parameter)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def rule(**fields: object) -> LimitConfig:
    return LimitConfig.model_validate({"name": "r", **fields})


ALICE = Principal("alice", "support", {})
BOB = Principal("bob", "support", {})


def test_a_bucket_refuses_beyond_its_rate_and_says_when_to_retry() -> None:
    clock = Clock()
    limits = Limits((rule(requests_per_minute=2),), LocalRateLimiter(clock))
    for _ in range(2):
        with limits.admit(ALICE, "desk", "t"):
            pass
    with pytest.raises(LimitExceededError) as refused, limits.admit(ALICE, "desk", "t"):
        pass
    assert refused.value.data == {"limit": "r", "retry_after_s": 30.0}
    clock.now += 30.0  # one request's worth of refill at 2 per minute
    with limits.admit(ALICE, "desk", "t"):
        pass


def test_budgets_are_per_agent_or_per_team() -> None:
    per_agent = Limits((rule(requests_per_minute=1),), LocalRateLimiter(Clock()))
    with per_agent.admit(ALICE, "desk", "t"), per_agent.admit(BOB, "desk", "t"):
        pass  # each agent has its own budget
    per_team = Limits((rule(requests_per_minute=1, per="team"),), LocalRateLimiter(Clock()))
    with per_team.admit(ALICE, "desk", "t"):
        pass
    with pytest.raises(LimitExceededError), per_team.admit(BOB, "desk", "t"):
        pass  # same team, same budget


def test_scope_splits_a_budget_by_server_or_tool() -> None:
    limits = Limits((rule(requests_per_minute=1, scope="tool"),), LocalRateLimiter(Clock()))
    with limits.admit(ALICE, "desk", "a"), limits.admit(ALICE, "desk", "b"), limits.admit(ALICE, "lab", "a"):
        pass
    with pytest.raises(LimitExceededError), limits.admit(ALICE, "desk", "a"):
        pass


def test_globs_pick_the_calls_a_rule_covers() -> None:
    limits = Limits((rule(requests_per_minute=1, agents=["al*"], tools=["send_*"]),), LocalRateLimiter(Clock()))
    for _ in range(3):
        with limits.admit(ALICE, "desk", "read_mail"), limits.admit(BOB, "desk", "send_mail"):
            pass  # not covered
    with limits.admit(ALICE, "desk", "send_mail"):
        pass
    with pytest.raises(LimitExceededError), limits.admit(ALICE, "desk", "send_mail"):
        pass


def test_concurrent_calls_are_held_until_they_end_and_a_refusal_takes_nothing() -> None:
    limiter = LocalRateLimiter(Clock())
    limits = Limits((rule(name="c", concurrent_calls=1), rule(name="slow", requests_per_minute=1)), limiter)
    with limits.admit(ALICE, "desk", "t"):
        with pytest.raises(LimitExceededError) as refused, limits.admit(ALICE, "desk", "t"):
            pass
        assert refused.value.data["limit"] == "c"
    # The first call ended: the concurrency slot is free, but the per-minute rule is spent, and the
    # refusal by it must not keep the concurrency slot it took first.
    with pytest.raises(LimitExceededError) as spent, limits.admit(ALICE, "desk", "t"):
        pass
    assert spent.value.data["limit"] == "slow"
    assert limiter.enter("c\x1falice", 1)


def test_a_rule_must_limit_something() -> None:
    with pytest.raises(ValueError, match="set requests_per_minute, concurrent_calls, or both"):
        rule()
