"""Prometheus metrics of the MCP path: requests through virtual servers, and each upstream's health.

    hub_mcp_requests_total{agent, server, method, outcome}   outcome: ok, tool_error, error, cancelled
    hub_mcp_request_duration_seconds{server, method}         from the pipeline taking a request to its answer
    hub_upstream_up{upstream}                                1 while ready, else 0 (read at each scrape)
    hub_upstream_restarts_total{upstream}                    restarts since the hub started (read at each scrape)

Counted are the requests that reach the pipeline (hub/pipeline.py): calls, reads, gets, completions
and lists. What the edge refuses first (a bad key, a malformed message, a limit on sessions) is not.
The share of failed calls on a virtual server is

    sum by (server) (rate(hub_mcp_requests_total{outcome="error"}[5m]))
      / sum by (server) (rate(hub_mcp_requests_total[5m]))
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.core.connector import UpstreamHealth
from hub.core.principal import Principal
from hub.governance.audit.record import Outcome
from hub.pipeline import CallObserver

_DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class McpMetrics(CallObserver):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "hub_mcp_requests",
            "MCP requests through virtual servers, by outcome",
            ["agent", "server", "method", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "hub_mcp_request_duration_seconds",
            "Time from the pipeline taking an MCP request to its answer",
            ["server", "method"],
            buckets=_DURATION_BUCKETS,
            registry=registry,
        )

        # Each label set's children, looked up once: `labels()` checks and converts its values every time.
        self._children: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}

    def finished(self, principal: Principal, server: str, method: str, outcome: Outcome, seconds: float) -> None:
        """Counted at the event loop's next turn: after the answer has been written, which does not wait for it.

        Prometheus' counter and histogram take a lock each and the histogram searches its buckets:
        about 9 us of a call at concurrency 1, cold in the caches (docs/performance.md).
        """
        key = (principal.agent, server, method, outcome)
        try:
            asyncio.get_running_loop().call_soon(self._count, key, seconds)
        except RuntimeError:  # no event loop in this thread: count now
            self._count(key, seconds)

    def _count(self, key: tuple[str, str, str, str], seconds: float) -> None:
        _, server, method, _ = key
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.requests.labels(*key), self.duration.labels(server, method))
        requests, duration = children
        requests.inc()
        duration.observe(seconds)


class UpstreamHealthCollector(Collector):
    """Each upstream's state and restarts, as the admin API and /ready show them, read at each scrape."""

    def __init__(self, health: Callable[[], list[UpstreamHealth]]) -> None:
        self._health = health

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hub_upstream_up", "1 while the upstream is ready, else 0", labels=["upstream"])
        restarts = CounterMetricFamily(
            "hub_upstream_restarts", "Times the hub restarted the upstream", labels=["upstream"]
        )
        for health in self._health():
            up.add_metric([health.name], 1.0 if health.state == "ready" else 0.0)
            restarts.add_metric([health.name], health.restarts)
        yield up
        yield restarts
