"""Token quotas and money budgets per day or month, for each agent or team, checked before every LLM call.

Spending is counted in a `SpendCounter`: in this process (seeded from the usage table at start) or
in Redis across replicas. A call is refused while the period's spending has reached the budget; the
call that crosses it is allowed to finish (its cost is unknown until it ends).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Protocol

from hub.config.llm import LlmBudgetConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError


class SpendCounter(Protocol):
    async def get(self, key: str) -> tuple[int, float]:
        """Tokens and cost counted under `key`."""
        ...

    async def add(self, key: str, tokens: int, cost: float, ttl_s: int) -> None: ...


class LocalSpendCounter:
    def __init__(self) -> None:
        self._spent: dict[str, tuple[int, float]] = {}

    async def get(self, key: str) -> tuple[int, float]:
        return self._spent.get(key, (0, 0.0))

    async def add(self, key: str, tokens: int, cost: float, ttl_s: int) -> None:
        old_tokens, old_cost = self._spent.get(key, (0, 0.0))
        self._spent[key] = (old_tokens + tokens, old_cost + cost)


def period_start(period: str, now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


def period_end(period: str, now: datetime) -> datetime:
    start = period_start(period, now)
    if period == "day":
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


class Budgets:
    def __init__(
        self,
        rules: tuple[LlmBudgetConfig, ...],
        counter: SpendCounter,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.rules = rules
        self.counter = counter
        self._clock = clock

    def keys(self, principal: Principal) -> list[tuple[LlmBudgetConfig, str]]:
        now = self._clock()
        out = []
        for rule in self.rules:
            who = principal.agent if rule.per == "agent" else principal.team
            if who is None or not any(fnmatchcase(principal.agent, p) for p in rule.agents):
                continue
            out.append((rule, budget_key(rule, who, now)))
        return out

    async def check(self, principal: Principal) -> None:
        """Raise LimitExceededError when a matching quota or budget is used up for this period."""
        for rule, key in self.keys(principal):
            tokens, cost = await self.counter.get(key)
            over = None
            if rule.max_tokens is not None and tokens >= rule.max_tokens:
                over = f"{tokens} of {rule.max_tokens} tokens"
            elif rule.max_cost is not None and cost >= rule.max_cost:
                over = f"{cost:.4f} of {rule.max_cost:g} spent"
            if over is not None:
                now = self._clock()
                wait = (period_end(rule.period, now) - now).total_seconds()
                raise LimitExceededError(
                    f"budget {rule.name!r} is used up for this {rule.period} ({over});"
                    f" it renews in {wait / 3600:.1f} h",
                    limit=rule.name,
                    retry_after_s=round(wait, 3),
                )

    async def spend(self, principal: Principal, tokens: int, cost: float) -> None:
        now = self._clock()
        for rule, key in self.keys(principal):
            ttl = int((period_end(rule.period, now) - now).total_seconds()) + 3600
            await self.counter.add(key, tokens, cost, ttl)


def budget_key(rule: LlmBudgetConfig, who: str, now: datetime) -> str:
    return "\x1f".join((rule.name, who, period_start(rule.period, now).date().isoformat()))
