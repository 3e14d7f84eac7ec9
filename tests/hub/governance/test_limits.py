"""Rate-limit rules: which calls they cover, whose budget they draw on, and what a refusal says."""

from __future__ import annotations

import anyio
import pytest

from hub.config.model import LimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.governance.limits import Limits, LocalRateLimiter

pytestmark = pytest.mark.anyio


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


async def admitted(limits: Limits, principal: Principal, server: str = "desk", tool: str = "t") -> bool:
    """Whether one call is admitted (and then ends at once); a refusal is re-raised for inspection."""
    async with limits.admit(principal, server, tool):
        return True


async def test_a_bucket_refuses_beyond_its_rate_and_says_when_to_retry() -> None:
    clock = Clock()
    limits = Limits((rule(requests_per_minute=2),), LocalRateLimiter(clock))
    assert await admitted(limits, ALICE)
    assert await admitted(limits, ALICE)
    with pytest.raises(LimitExceededError) as refused:
        await admitted(limits, ALICE)
    assert refused.value.data == {"limit": "r", "retry_after_s": 30.0}
    clock.now += 30.0  # one request's worth of refill at 2 per minute
    assert await admitted(limits, ALICE)


async def test_budgets_are_per_agent_or_per_team() -> None:
    per_agent = Limits((rule(requests_per_minute=1),), LocalRateLimiter(Clock()))
    assert await admitted(per_agent, ALICE)
    assert await admitted(per_agent, BOB)  # each agent has its own budget
    per_team = Limits((rule(requests_per_minute=1, per="team"),), LocalRateLimiter(Clock()))
    assert await admitted(per_team, ALICE)
    with pytest.raises(LimitExceededError):
        await admitted(per_team, BOB)  # same team, same budget


async def test_scope_splits_a_budget_by_server_or_tool() -> None:
    limits = Limits((rule(requests_per_minute=1, scope="tool"),), LocalRateLimiter(Clock()))
    assert await admitted(limits, ALICE, "desk", "a")
    assert await admitted(limits, ALICE, "desk", "b")
    assert await admitted(limits, ALICE, "lab", "a")
    with pytest.raises(LimitExceededError):
        await admitted(limits, ALICE, "desk", "a")


async def test_globs_pick_the_calls_a_rule_covers() -> None:
    limits = Limits((rule(requests_per_minute=1, agents=["al*"], tools=["send_*"]),), LocalRateLimiter(Clock()))
    for _ in range(3):
        assert await admitted(limits, ALICE, tool="read_mail")  # not covered
        assert await admitted(limits, BOB, tool="send_mail")  # not covered
    assert await admitted(limits, ALICE, tool="send_mail")
    with pytest.raises(LimitExceededError):
        await admitted(limits, ALICE, tool="send_mail")


async def test_concurrent_calls_are_held_until_they_end_and_a_refusal_takes_nothing() -> None:
    limiter = LocalRateLimiter(Clock())
    limits = Limits((rule(name="c", concurrent_calls=1), rule(name="slow", requests_per_minute=1)), limiter)
    async with limits.admit(ALICE, "desk", "t"):
        with pytest.raises(LimitExceededError) as refused:
            await admitted(limits, ALICE)
        assert refused.value.data["limit"] == "c"
    # The first call ended: the concurrency slot is free, but the per-minute rule is spent, and the
    # refusal by it must not keep the concurrency slot it took first.
    with pytest.raises(LimitExceededError) as spent:
        await admitted(limits, ALICE)
    assert spent.value.data["limit"] == "slow"
    assert await limiter.enter("c\x1falice", 1)


async def test_a_cancelled_call_gives_its_place_back() -> None:
    limits = Limits((rule(concurrent_calls=1),), LocalRateLimiter(Clock()))
    holding = anyio.Event()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:

            async def hold() -> None:
                async with limits.admit(ALICE, "desk", "t"):
                    holding.set()
                    await anyio.sleep_forever()

            tg.start_soon(hold)
            await holding.wait()
            with pytest.raises(LimitExceededError):
                await admitted(limits, ALICE)
            tg.cancel_scope.cancel()
    assert await admitted(limits, ALICE)


async def test_replaced_rules_apply_from_the_next_call_for_callers_seen_before() -> None:
    limits = Limits((rule(requests_per_minute=1, tools=["a"]),), LocalRateLimiter(Clock()))
    assert await admitted(limits, ALICE, tool="b")  # not covered (and remembered as such)
    limits.replace((rule(name="now-b", requests_per_minute=1, tools=["b"]),))
    assert await admitted(limits, ALICE, tool="b")
    with pytest.raises(LimitExceededError) as refused:
        await admitted(limits, ALICE, tool="b")
    assert refused.value.data["limit"] == "now-b"


def test_a_rule_must_limit_something() -> None:
    with pytest.raises(ValueError, match="set requests_per_minute, concurrent_calls, or both"):
        rule()
