"""Token quotas and money budgets per day or month, for each agent or team, taken before every LLM call.

Spending is counted in a `SpendCounter`: in this process (seeded from the usage table at start) or
in Redis across replicas. Before a call its estimate (the prompt's tokens, and their price at the
group's cheapest deployment) is added to every matching counter at once; a call whose estimate would
pass a quota or budget is refused and its estimate taken back. After the call the counters are
corrected by the real usage minus the estimate. The answer's tokens are unknown until it arrives, so
the call that crosses a limit with its answer is allowed to finish; the next one is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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

    async def add(self, key: str, tokens: int, cost: float, ttl_s: int) -> tuple[int, float]:
        """Add (or, negative, take back) tokens and cost under `key`, atomically; the totals after it."""
        ...


class LocalSpendCounter:
    def __init__(self) -> None:
        self._spent: dict[str, tuple[int, float]] = {}

    async def get(self, key: str) -> tuple[int, float]:
        return self._spent.get(key, (0, 0.0))

    async def add(self, key: str, tokens: int, cost: float, ttl_s: int) -> tuple[int, float]:
        old_tokens, old_cost = self._spent.get(key, (0, 0.0))
        self._spent[key] = (old_tokens + tokens, old_cost + cost)
        return self._spent[key]


def period_start(period: str, now: datetime) -> datetime:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period == "day" else day.replace(day=1)


def period_end(period: str, now: datetime) -> datetime:
    start = period_start(period, now)
    if period == "day":
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)


@dataclass(slots=True)
class Taken:
    """What a call's estimate added to each counter, to correct once the real usage is known."""

    tokens: int
    cost: float
    keys: list[tuple[str, int]] = field(default_factory=list)  # (counter key, ttl_s)


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

    async def admit(self, principal: Principal, tokens: int, cost: float) -> Taken:
        """Add the call's estimate to every matching counter, or raise LimitExceededError (nothing stays added)."""
        taken = Taken(tokens, cost)
        now = self._clock()
        for rule, key in self.keys(principal):
            ttl = _ttl(rule, now)
            total_tokens, total_cost = await self.counter.add(key, tokens, cost, ttl)
            taken.keys.append((key, ttl))
            refusal = _refusal(rule, (total_tokens, total_cost), tokens, cost)
            if refusal is not None:
                await self.settle(taken, 0, 0.0)
                wait = (period_end(rule.period, now) - now).total_seconds()
                who = principal.agent if rule.per == "agent" else f"team {principal.team}"
                raise LimitExceededError(
                    f"budget {rule.name!r} ({who}) {refusal}; it renews in {wait / 3600:.1f} h",
                    limit=rule.name,
                    retry_after_s=round(wait, 3),
                )
        return taken

    async def settle(self, taken: Taken, tokens: int, cost: float) -> None:
        """Correct every counter the estimate went to by the real usage minus the estimate."""
        delta_tokens, delta_cost = tokens - taken.tokens, cost - taken.cost
        if delta_tokens == 0 and delta_cost == 0:
            return
        for key, ttl in taken.keys:
            await self.counter.add(key, delta_tokens, delta_cost, ttl)

    async def spend(self, principal: Principal, tokens: int, cost: float) -> None:
        """Count spending no call was admitted for (the response cache's embeddings)."""
        now = self._clock()
        for rule, key in self.keys(principal):
            await self.counter.add(key, tokens, cost, _ttl(rule, now))


def _refusal(rule: LlmBudgetConfig, totals: tuple[int, float], tokens: int, cost: float) -> str | None:
    """Why a call with this estimate may not start, given the counter's totals with the estimate added."""
    total_tokens, total_cost = totals
    if rule.max_tokens is not None:
        before = total_tokens - tokens
        if before >= rule.max_tokens:
            return f"is used up for this {rule.period} ({before} of {rule.max_tokens} tokens)"
        if total_tokens > rule.max_tokens:
            return (
                f"would be passed by this request's ~{tokens} prompt tokens"
                f" ({before} of {rule.max_tokens} tokens used this {rule.period}); shorten the prompt or wait"
            )
    if rule.max_cost is not None:
        before_cost = total_cost - cost
        if before_cost >= rule.max_cost:
            return f"is used up for this {rule.period} ({before_cost:.4f} of {rule.max_cost:g} spent)"
        if total_cost > rule.max_cost:
            return (
                f"would be passed by this request's prompt (~{cost:.4f})"
                f" ({before_cost:.4f} of {rule.max_cost:g} spent this {rule.period}); shorten the prompt or wait"
            )
    return None


def _ttl(rule: LlmBudgetConfig, now: datetime) -> int:
    return int((period_end(rule.period, now) - now).total_seconds()) + 3600


def budget_key(rule: LlmBudgetConfig, who: str, now: datetime) -> str:
    return "\x1f".join((rule.name, who, period_start(rule.period, now).date().isoformat()))
