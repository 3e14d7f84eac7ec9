"""Token and request rate limits for LLM calls: token buckets per agent, team or model, before and after the call.

Before the call each matching rule takes one request and the prompt's estimated tokens (plus the
requested `max_tokens`, if any, is not reserved: answers are unknown until they arrive). After the
call the bucket is corrected by the real usage minus the estimate, so a long answer is paid for by
the next request and an over-estimate is given back. Buckets live in the shared `RateLimiter`
(in-process, or Redis across replicas).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from hub.config.llm import LlmLimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError
from hub.governance.limits import RateLimiter


@dataclass(slots=True)
class Reservation:
    """The tokens taken before the call, per bucket, to correct once the real usage is known."""

    estimate: int
    buckets: list[tuple[str, int]] = field(default_factory=list)  # (key, tokens_per_minute)


class LlmLimits:
    def __init__(self, rules: tuple[LlmLimitConfig, ...], limiter: RateLimiter) -> None:
        self._rules = rules
        self._limiter = limiter

    @property
    def counts_tokens(self) -> bool:
        return any(rule.tokens_per_minute is not None for rule in self._rules)

    async def admit(self, principal: Principal, group: str, estimate: int) -> Reservation:
        """Take a request and `estimate` tokens from every matching rule, or raise LimitExceededError."""
        reservation = Reservation(estimate)
        try:
            for rule in self._rules:
                key = _key(rule, principal, group)
                if key is None:
                    continue
                if rule.requests_per_minute is not None:
                    wait = await self._limiter.take(f"llm-req\x1f{key}", rule.requests_per_minute)
                    if wait > 0:
                        raise _exceeded(rule, f"{rule.requests_per_minute} requests per minute", wait)
                if rule.tokens_per_minute is not None:
                    await self._take_tokens(rule, key, estimate, reservation)
        except LimitExceededError:
            await self.settle(reservation, 0)  # the rules already passed give their tokens back
            raise
        return reservation

    async def _take_tokens(self, rule: LlmLimitConfig, key: str, estimate: int, reservation: Reservation) -> None:
        assert rule.tokens_per_minute is not None
        if estimate > rule.tokens_per_minute:
            raise LimitExceededError(
                f"token limit {rule.name!r}: the prompt's ~{estimate} tokens exceed {rule.tokens_per_minute}"
                " tokens per minute; shorten the prompt",
                limit=rule.name,
            )
        wait = await self._limiter.take(f"llm-tok\x1f{key}", rule.tokens_per_minute, float(estimate))
        if wait > 0:
            raise _exceeded(rule, f"{rule.tokens_per_minute} tokens per minute", wait)
        reservation.buckets.append((f"llm-tok\x1f{key}", rule.tokens_per_minute))

    async def settle(self, reservation: Reservation, actual_tokens: int) -> None:
        """Correct every bucket by the difference between the real usage and the estimate."""
        delta = actual_tokens - reservation.estimate
        if delta == 0:
            return
        for key, per_minute in reservation.buckets:
            await self._limiter.adjust(key, per_minute, float(delta))


def _key(rule: LlmLimitConfig, principal: Principal, group: str) -> str | None:
    if not any(fnmatchcase(principal.agent, p) for p in rule.agents):
        return None
    if not any(fnmatchcase(group, p) for p in rule.models):
        return None
    who = {"agent": principal.agent, "team": principal.team, "model": group}[rule.per]
    if who is None:
        return None
    return "\x1f".join((rule.name, who, group))


def _exceeded(rule: LlmLimitConfig, what: str, retry_after_s: float) -> LimitExceededError:
    return LimitExceededError(
        f"rate limit {rule.name!r} reached ({what}); retry in {retry_after_s:.1f} s",
        limit=rule.name,
        retry_after_s=round(retry_after_s, 3),
    )
