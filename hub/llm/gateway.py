"""The one path every LLM call walks: route → cache → budgets → limits → backend → usage, cost and metrics.

Framework-free: the HTTP edge hands it an authenticated principal and the wire body, and gets
back a result or a metered stream. Hook points for the response cache: an exact/semantic lookup
before routing to a provider, a store after a successful non-streaming answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio

from hub.core.llm import Api, CacheQuery, LlmBackend, LlmCall, LlmResult, LlmStream, ResponseCache, Usage
from hub.core.principal import Principal
from hub.errors import HubError
from hub.llm.audit import LlmAudit
from hub.llm.budgets import Budgets, Taken
from hub.llm.cache.replay import replay_events
from hub.llm.limits import LlmLimits, Reservation
from hub.llm.routing import ModelRouter, Route
from hub.llm.usage import UsageRecord, UsageSink

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LlmRequest:
    principal: Principal
    api: Api
    body: Mapping[str, Any]
    tags: tuple[str, ...] = ()
    sensitive: bool = False  # never answered from, nor kept in, the response cache
    # The model is an admin's choice (a virtual server's sampling_model), not the caller's: its model
    # grants do not apply. Every request an agent sends itself is checked against them.
    admin_model: bool = False


@dataclass(slots=True)
class Admission:
    """What a call took before it was made (token buckets, quotas and budgets), to correct after it."""

    estimate: int  # the prompt's estimated tokens
    limits: Reservation | None = None
    budgets: Taken | None = None


class LlmObserver:
    """What the gateway reports to (metrics); the default reports nowhere."""

    def finished(self, record: UsageRecord) -> None:
        return None


class LlmGateway:
    def __init__(
        self,
        backend: LlmBackend,
        router: ModelRouter,
        limits: LlmLimits | None,
        budgets: Budgets | None,
        usage: UsageSink,
        observer: LlmObserver | None = None,
        cache: ResponseCache | None = None,
        audit: LlmAudit | None = None,
    ) -> None:
        self._backend = backend
        self.router = router
        self._limits = limits
        self._budgets = budgets
        self._usage = usage
        self._observer = observer or LlmObserver()
        self._cache = cache
        self._audit = audit

    async def complete(self, request: LlmRequest) -> dict[str, Any]:
        """The answer; with the audit log on, the call's record is journaled before it is returned."""
        started = time.perf_counter()
        try:
            body, deployment = await self._complete(request, started)
        except BaseException as exc:
            if self._audit is not None:
                self._audit.failed(request.principal, request.api, request.body, started, exc)
            raise
        if self._audit is not None:
            self._audit.ok(request.principal, request.api, request.body, started, deployment, body)
        return body

    async def _complete(self, request: LlmRequest, started: float) -> tuple[dict[str, Any], str]:
        route, estimate = self._route(request)
        query = self._cache_query(request, route)
        cached = await self._cache.lookup(query) if self._cache is not None and query is not None else None
        if cached is not None:
            self._finish(request, route, "cached", started, Usage(), 0.0, "cache")
            return cached, "cache"
        reservation = await self._admit(request, route, estimate)
        try:
            result: LlmResult = await self._backend.complete(self._call(request, route))
        except BaseException as exc:
            await self._settle(request, reservation, Usage(), 0.0)
            self._finish(request, route, call_status(exc), started, Usage(), 0.0, "")
            raise
        await self._settle(request, reservation, result.usage, result.cost)
        self._finish(request, route, "ok", started, result.usage, result.cost, result.deployment)
        if self._cache is not None and query is not None:
            await self._cache.store(query, result.body)
        return result.body, result.deployment

    async def stream(self, request: LlmRequest) -> AsyncIterator[bytes]:
        """Open the upstream stream (errors raise here, before any byte is sent) and return its metered bytes."""
        started = time.perf_counter()
        try:
            route, estimate = self._route(request)
            query = self._cache_query(request, route)
            cached = await self._cache.lookup(query) if self._cache is not None and query is not None else None
            if cached is not None and request.api != "embeddings":
                self._finish(request, route, "cached", started, Usage(), 0.0, "cache")
                if self._audit is not None:
                    self._audit.ok(request.principal, request.api, request.body, started, "cache", cached)
                return _replayed(replay_events(request.api, cached))
            reservation = await self._admit(request, route, estimate)
        except BaseException as exc:
            if self._audit is not None:
                self._audit.failed(request.principal, request.api, request.body, started, exc)
            raise
        try:
            upstream = await self._backend.stream(self._call(request, route))
        except BaseException as exc:
            await self._settle(request, reservation, Usage(), 0.0)
            self._finish(request, route, call_status(exc), started, Usage(), 0.0, "")
            if self._audit is not None:
                self._audit.failed(request.principal, request.api, request.body, started, exc)
            raise
        return self._metered(request, route, reservation, upstream, started)

    def _cache_query(self, request: LlmRequest, route: Route) -> CacheQuery | None:
        """The cache's question, keyed by the model group that answers (rules and experiments included)."""
        if self._cache is None or request.api == "embeddings":
            return None
        body = {**request.body, "model": route.group}
        return CacheQuery(request.api, body, request.principal.agent, request.principal.team, request.sensitive)

    async def _metered(
        self, request: LlmRequest, route: Route, reservation: Admission, upstream: LlmStream, started: float
    ) -> AsyncIterator[bytes]:
        first: float | None = None
        status = "cancelled"
        failure: BaseException | None = None
        try:
            async for piece in upstream:
                if first is None:
                    first = time.perf_counter()
                yield piece
            status = "ok"
        except BaseException as exc:
            status, failure = call_status(exc), exc
            raise
        finally:
            with anyio.CancelScope(shield=True):  # a client gone mid-stream still pays for what was made
                await upstream.aclose()
                usage = upstream.usage
                if usage.total == 0:
                    usage = Usage(reservation.estimate, getattr(upstream, "completion_chunks", 0))
                cost = upstream.cost or self._backend.cost(upstream.deployment, usage)
                await self._settle(request, reservation, usage, cost)
                ttft = None if first is None else (first - started) * 1000
                self._finish(request, route, status, started, usage, cost, upstream.deployment, ttft)
                self._audit_stream(request, started, upstream.deployment, usage, failure)

    def _audit_stream(
        self, request: LlmRequest, started: float, deployment: str, usage: Usage, failure: BaseException | None
    ) -> None:
        """A stream's record, once it ended: its usage stands for the answer the agent read piece by piece."""
        if self._audit is None:
            return
        if failure is not None:
            self._audit.failed(request.principal, request.api, request.body, started, failure)
            return
        tokens = {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens}
        self._audit.ok(request.principal, request.api, request.body, started, deployment, {"usage": tokens})

    def _route(self, request: LlmRequest) -> tuple[Route, int]:
        counted: dict[str, int] = {}

        def estimate(group: str) -> int:
            if group not in counted:
                counted[group] = self._backend.count_tokens(group, request.body, request.api)
            return counted[group]

        allows = _everything if request.admin_model else request.principal.allows_model
        route = self.router.route(request.api, request.body, request.principal.agent, request.tags, estimate, allows)
        wants_estimate = self._budgets is not None or (self._limits is not None and self._limits.counts_tokens)
        return route, (estimate(route.group) if wants_estimate else counted.get(route.group, 0))

    async def _admit(self, request: LlmRequest, route: Route, estimate: int) -> Admission:
        admission = Admission(estimate)
        if self._budgets is not None:
            cost = self._prompt_cost(route.group, estimate)
            admission.budgets = await self._budgets.admit(request.principal, estimate, cost)
        if self._limits is not None:
            try:
                admission.limits = await self._limits.admit(request.principal, route.group, estimate)
            except BaseException:
                await self._settle(request, admission, Usage(), 0.0)  # the budgets' estimate is taken back
                raise
        return admission

    def _prompt_cost(self, group: str, tokens: int) -> float:
        """The prompt's price at the group's cheapest deployment: what the call costs at the least."""
        config = self.router.group(group)
        if config is None or tokens == 0:
            return 0.0
        return min(self._backend.cost(f"{group}/{d.name}", Usage(tokens, 0)) for d in config.deployments)

    async def _settle(self, request: LlmRequest, admission: Admission, usage: Usage, cost: float) -> None:
        if admission.limits is not None and self._limits is not None:
            await self._limits.settle(admission.limits, usage.total)
        if admission.budgets is not None and self._budgets is not None:
            await self._budgets.settle(admission.budgets, usage.total, cost)

    def _call(self, request: LlmRequest, route: Route) -> LlmCall:
        return LlmCall(
            request.api, route.group, request.body, route.require_tags, request.principal.agent, route.fallbacks
        )

    def _finish(
        self,
        request: LlmRequest,
        route: Route,
        status: str,
        started: float,
        usage: Usage,
        cost: float,
        deployment: str,
        ttft_ms: float | None = None,
    ) -> None:
        record = UsageRecord(
            at=datetime.now(UTC),
            agent=request.principal.agent,
            team=request.principal.team,
            api=request.api,
            model=str(request.body.get("model", "")),
            group=route.group,
            deployment=deployment,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost=cost,
            status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft_ms,
            experiment=route.experiment,
            arm=route.arm,
        )
        self._usage.record(record)
        self._observer.finished(record)


def _everything(name: str) -> bool:
    return True


async def _replayed(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event


def call_status(exc: BaseException) -> str:
    """A failed call's status in usage rows and metrics: cancelled, error, or the HubError's kind (limitexceeded...)."""
    if isinstance(exc, anyio.get_cancelled_exc_class()) or not isinstance(exc, Exception):
        return "cancelled"
    return "error" if not isinstance(exc, HubError) else type(exc).__name__.removesuffix("Error").lower()
