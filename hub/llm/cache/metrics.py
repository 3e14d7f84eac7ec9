"""The cache's counters as Prometheus metrics, read from `CacheStats` at each scrape.

hub_llm_cache_lookups_total{result}   exact_hit, semantic_hit, miss, skip_<reason>
hub_llm_cache_stores_total            answers kept
hub_llm_cache_errors_total            backend or embedder failures (the call went on uncached)
hub_llm_cache_hit_ratio               hits over hits and misses since start (skips not counted)
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.llm.cache.stats import CacheStats


class CacheCollector(Collector):
    def __init__(self, stats: CacheStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        counts = self._stats.snapshot()
        lookups = CounterMetricFamily(
            "hub_llm_cache_lookups", "LLM response cache lookups by result", labels=["result"]
        )
        for result, n in counts.items():
            if result not in ("store", "error"):
                lookups.add_metric([result], n)
        yield lookups
        yield CounterMetricFamily(
            "hub_llm_cache_stores", "Answers kept by the LLM response cache", value=counts["store"]
        )
        yield CounterMetricFamily("hub_llm_cache_errors", "LLM response cache failures", value=counts["error"])
        yield GaugeMetricFamily("hub_llm_cache_hit_ratio", "Hits over hits and misses", value=self._stats.hit_ratio)
