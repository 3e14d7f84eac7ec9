"""Direct-path calls reported to litellm's routing strategy, as litellm's own call would report them.

litellm's stateful strategies learn from its logging callbacks: lowest-latency keeps each
deployment's recent latencies (per completion token; time to first token for streams) from the
success callback and a penalty from a timeout's failure callback, and least-busy counts a request
in flight from the pre-call callback until its success or failure callback. The strategy objects
are those callbacks (`CustomLogger`s the Router builds for its `routing_strategy` and exposes as
`lowestlatency_logger` / `leastbusy_logger`). A call on the direct path (direct.py) is not made by
litellm, so nothing would reach them: litellm would pick at random (lowest-latency, every
deployment unmeasured) or always the first deployment (least-busy, every count zero).
`StrategyReports` calls the same callbacks with the fields they read: the model group, the
deployment id, whether it streams, the times and the usage. Under the weighted strategy there is
nothing to report and nothing is done.

One difference stays: litellm holds a least-busy pick reserved until its call starts; the direct
path's pick (`Router.select`) holds none, so requests picked at the same instant may see the same
counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import litellm
from litellm import exceptions as litellm_errors
from litellm.router import Router
from litellm.router_strategy.least_busy import LeastBusyLoggingHandler
from litellm.router_strategy.lowest_latency import LowestLatencyLoggingHandler

from hub.core.llm import Usage


class CallReport:
    """One direct-path call as the strategy sees it: started when made, ended once (success or failure)."""

    def __init__(self, reports: StrategyReports, group: str, deployment: str, stream: bool) -> None:
        self._reports = reports
        self._kwargs: dict[str, Any] = {
            "litellm_params": {"metadata": {"model_group": group}, "model_info": {"id": deployment}},
            "stream": stream,
        }
        self._started = datetime.now()
        self._ended = False
        if reports.busy is not None:
            reports.busy.log_pre_api_call(group, None, self._kwargs)

    def first_byte(self) -> None:
        """A stream's first event arrived (lowest-latency ranks streams by time to first token)."""
        self._kwargs.setdefault("completion_start_time", datetime.now())

    def succeeded(self, usage: Usage) -> None:
        if self._ended:
            return
        self._ended = True
        now = datetime.now()
        if self._reports.latency is not None:
            answer = litellm.ModelResponse(
                usage=litellm.Usage(
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    total_tokens=usage.total,
                )
            )
            self._reports.latency.log_success_event(self._kwargs, answer, self._started, now)
        if self._reports.busy is not None:
            self._reports.busy.log_success_event(self._kwargs, None, self._started, now)

    async def failed(self, error: Exception) -> None:
        """The call failed: no longer in flight; a timeout is lowest-latency's penalty for the deployment."""
        if self._ended:
            return
        self.ended_early()
        if self._reports.latency is not None and isinstance(error, litellm_errors.Timeout):
            kwargs = {**self._kwargs, "exception": error}
            await self._reports.latency.async_log_failure_event(kwargs, None, self._started, datetime.now())

    def ended_early(self) -> None:
        """Cut short (cancelled, or broken mid-stream): no longer in flight, and no latency to learn from."""
        if self._ended:
            return
        self._ended = True
        if self._reports.busy is not None:
            self._reports.busy.log_failure_event(self._kwargs, None, self._started, datetime.now())


class StrategyReports:
    def __init__(self, router: Router) -> None:
        busy = getattr(router, "leastbusy_logger", None)
        latency = getattr(router, "lowestlatency_logger", None)
        self.busy = busy if isinstance(busy, LeastBusyLoggingHandler) else None
        self.latency = latency if isinstance(latency, LowestLatencyLoggingHandler) else None

    def started(self, group: str, deployment: str, stream: bool) -> CallReport | None:
        """The report of a call being made now, or None when the strategy learns nothing from calls."""
        if self.busy is None and self.latency is None:
            return None
        return CallReport(self, group, deployment, stream)
