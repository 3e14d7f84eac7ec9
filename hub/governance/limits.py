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
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
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


class Limits:
    def __init__(self, rules: tuple[LimitConfig, ...], limiter: RateLimiter) -> None:
        self._rules = rules
        self._limiter = limiter

    def replace(self, rules: tuple[LimitConfig, ...]) -> None:
        """Enforce these rules from the next call on (the admin API changes them at run time)."""
        self._rules = rules

    def admit(self, principal: Principal, server: str, tool: str) -> AbstractAsyncContextManager[None]:
        """Hold the call's place in every matching rule for as long as the block runs."""
        return self._admit(principal, server, tool) if self._rules else _NO_RULES

    @asynccontextmanager
    async def _admit(self, principal: Principal, server: str, tool: str) -> AsyncIterator[None]:
        entered: list[str] = []
        try:
            for rule in self._rules:
                key = _key(rule, principal, server, tool)
                if key is None:
                    continue
                if rule.concurrent_calls is not None:
                    if not await self._limiter.enter(key, rule.concurrent_calls):
                        raise _exceeded(rule, f"{rule.concurrent_calls} concurrent calls", 1.0)
                    entered.append(key)
                if rule.requests_per_minute is not None:
                    wait = await self._limiter.take(key, rule.requests_per_minute)
                    if wait > 0:
                        raise _exceeded(rule, f"{rule.requests_per_minute} requests per minute", wait)
            yield
        finally:
            with anyio.CancelScope(shield=True):  # a cancelled call still gives its place back
                for key in entered:
                    await self._limiter.leave(key)


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
