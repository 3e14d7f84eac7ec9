"""Prometheus metrics of the LLM layer: requests, tokens, cost, latency, time to first token, cache hits.

Tokens per minute is `rate(hub_llm_tokens_total[1m]) * 60`; error rate is the share of
`hub_llm_requests_total` with status other than ok/cached; the response cache reports its own
counters (`hub_llm_cache_lookups_total{result}`, `hub_llm_cache_hit_ratio`: hub/llm/cache/metrics.py).
Each hub owns its registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from hub.llm.gateway import LlmObserver
from hub.llm.usage import UsageRecord

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class LlmMetrics(LlmObserver):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "hub_llm_requests", "LLM calls by outcome", ["agent", "model", "arm", "status"], registry=registry
        )
        self.tokens = Counter("hub_llm_tokens", "Tokens used", ["agent", "model", "kind"], registry=registry)
        self.cost = Counter(
            "hub_llm_cost", "Cost of LLM calls (deployment prices)", ["agent", "model"], registry=registry
        )
        self.latency = Histogram(
            "hub_llm_request_duration_seconds",
            "Time from request to the last byte",
            ["model", "arm"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.ttft = Histogram(
            "hub_llm_time_to_first_token_seconds",
            "Time from request to the first streamed byte",
            ["model", "arm"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    def finished(self, record: UsageRecord) -> None:
        self.requests.labels(record.agent, record.group, record.arm, record.status).inc()
        if record.prompt_tokens:
            self.tokens.labels(record.agent, record.group, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens:
            self.tokens.labels(record.agent, record.group, "completion").inc(record.completion_tokens)
        if record.cost > 0:
            self.cost.labels(record.agent, record.group).inc(record.cost)
        self.latency.labels(record.group, record.arm).observe(record.latency_ms / 1000)
        if record.ttft_ms is not None:
            self.ttft.labels(record.group, record.arm).observe(record.ttft_ms / 1000)
