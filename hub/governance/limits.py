"""Rate limits: requests per minute (token buckets) and concurrent calls, per agent or team.

Each rule from the config's `limits:` section matches calls by agent, virtual server and tool
globs, and keeps one budget per agent (or team) and `scope`: all matching calls together, each
virtual server, or each tool. A call must fit every rule that matches it; one that does not fails
with LimitExceededError naming the rule and when to retry, and takes nothing from the other rules.

Budgets live in this process (`LocalRateLimiter`), or in Redis so that they hold across replicas
(`hub/governance/redis_limits.py`), which falls back to local budgets while Redis is away.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Protocol

import anyio

from hub.config.model import LimitConfig
from hub.core.principal import Principal
from hub.errors import LimitExceededError


class RateLimiter(Protocol):
    """Where budgets are kept. Keys are opaque strings made by `Limits`."""

    async def take(self, key: str, per_minute: int, amount: float = 1.0) -> float:
        """Take `amount` from `key`'s bucket: 0.0 if it had that much, else the seconds until it will."""
        ...

    async def adjust(self, key: str, per_minute: int, amount: float) -> None:
        """Take `amount` more (or give back a negative amount) after the fact; the bucket may go below zero."""
        ...

    async def enter(self, key: str, limit: int) -> bool:
        """Count one more call running under `key`, unless `limit` are running already."""
        ...

    async def leave(self, key: str) -> None: ...


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class LocalRateLimiter:
    """Token buckets and concurrency counters in this process's memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._running: dict[str, int] = {}

    async def take(self, key: str, per_minute: int, amount: float = 1.0) -> float:
        bucket = self._refilled(key, per_minute)
        if bucket.tokens >= amount:
            bucket.tokens -= amount
            return 0.0
        return (amount - bucket.tokens) / (per_minute / 60.0)

    async def adjust(self, key: str, per_minute: int, amount: float) -> None:
        bucket = self._refilled(key, per_minute)
        bucket.tokens = min(float(per_minute), bucket.tokens - amount)

    def _refilled(self, key: str, per_minute: int) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(per_minute), now)
        bucket.tokens = min(float(per_minute), bucket.tokens + (now - bucket.updated) * per_minute / 60.0)
        bucket.updated = now
        return bucket

    async def enter(self, key: str, limit: int) -> bool:
        running = self._running.get(key, 0)
        if running >= limit:
            return False
        self._running[key] = running + 1
        return True

    async def leave(self, key: str) -> None:
        running = self._running.get(key, 0) - 1
        if running > 0:
            self._running[key] = running
        else:
            self._running.pop(key, None)


_NO_RULES: AbstractAsyncContextManager[None] = nullcontext()
_KEY_CACHE_SIZE = 4096
_Matched = tuple[tuple[LimitConfig, str], ...]


class Limits:
    def __init__(self, rules: tuple[LimitConfig, ...], limiter: RateLimiter) -> None:
        self._rules = rules
        self._limiter = limiter
        # Giving a place back to Redis awaits I/O, which a cancellation would interrupt: it is shielded.
        # In-process budgets give it back without awaiting anything, so there is nothing to shield.
        self._shield = not isinstance(limiter, LocalRateLimiter)
        self._matched: dict[tuple[str | None, str | None, str, str], _Matched] = {}

    def replace(self, rules: tuple[LimitConfig, ...]) -> None:
        """Enforce these rules from the next call on (the admin API changes them at run time)."""
        self._rules, self._matched = rules, {}

    def admit(self, principal: Principal, server: str, tool: str) -> AbstractAsyncContextManager[None]:
        """Hold the call's place in every matching rule for as long as the block runs."""
        if not self._rules:
            return _NO_RULES
        matched = self._match(principal, server, tool)
        return _Admission(self, matched) if matched else _NO_RULES

    def _match(self, principal: Principal, server: str, tool: str) -> _Matched:
        """The rules covering a call with the budget key of each; remembered per (agent, team, server, tool)."""
        memo = (principal.agent, principal.team, server, tool)
        matched = self._matched.get(memo)
        if matched is None:
            matched = tuple((r, k) for r in self._rules if (k := _key(r, principal, server, tool)) is not None)
            if len(self._matched) >= _KEY_CACHE_SIZE:  # names come from agents' calls: the memo stays bounded
                self._matched = {}
            self._matched[memo] = matched
        return matched


class _Admission:
    """One call's places in its rules' budgets: taken on entry (or refused), given back on exit."""

    __slots__ = ("_entered", "_limits", "_matched")

    def __init__(self, limits: Limits, matched: _Matched) -> None:
        self._limits = limits
        self._matched = matched
        self._entered: list[str] = []

    async def __aenter__(self) -> None:
        limiter, entered = self._limits._limiter, self._entered
        try:
            for rule, key in self._matched:
                if rule.concurrent_calls is not None:
                    if not await limiter.enter(key, rule.concurrent_calls):
                        raise _exceeded(rule, f"{rule.concurrent_calls} concurrent calls", 1.0)
                    entered.append(key)
                if rule.requests_per_minute is not None:
                    wait = await limiter.take(key, rule.requests_per_minute)
                    if wait > 0:
                        raise _exceeded(rule, f"{rule.requests_per_minute} requests per minute", wait)
        except BaseException:
            await self._leave()
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        await self._leave()

    async def _leave(self) -> None:
        entered, limiter = self._entered, self._limits._limiter
        if not entered:
            return
        if not self._limits._shield:
            for key in entered:
                await limiter.leave(key)
        else:
            with anyio.CancelScope(shield=True):  # a cancelled call still gives its place back
                for key in entered:
                    await limiter.leave(key)
        entered.clear()


def _key(rule: LimitConfig, principal: Principal, server: str, tool: str) -> str | None:
    """The budget a call draws on under `rule`, or None when the rule does not apply to it."""
    who = principal.agent if rule.per == "agent" else principal.team
    if who is None or not _any(rule.agents, principal.agent):
        return None
    if not _any(rule.servers, server) or not _any(rule.tools, tool):
        return None
    # A rule whose bounds change (admin API) starts on fresh budgets, at its new size.
    parts = [f"{rule.name}:{rule.requests_per_minute}:{rule.concurrent_calls}", who]
    if rule.scope in ("server", "tool"):
        parts.append(server)
    if rule.scope == "tool":
        parts.append(tool)
    return "\x1f".join(parts)


def _any(patterns: tuple[str, ...], value: str) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


def _exceeded(rule: LimitConfig, what: str, retry_after_s: float) -> LimitExceededError:
    return LimitExceededError(
        f"rate limit {rule.name!r} reached ({what}); retry in {retry_after_s:.1f} s",
        limit=rule.name,
        retry_after_s=round(retry_after_s, 3),
    )
