"""The cache's counters, for the metrics endpoint and the logs to read. Only ever increased."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class CacheStats:
    exact_hits: int = 0
    semantic_hits: int = 0
    misses: int = 0
    stores: int = 0
    errors: int = 0  # the backend or the embedder failed; the call went on uncached
    skips: Counter[str] = field(default_factory=Counter)  # by reason (rules.SKIP_REASONS)

    @property
    def hits(self) -> int:
        return self.exact_hits + self.semantic_hits

    @property
    def hit_ratio(self) -> float:
        """Hits over the lookups the cache could answer (skipped requests are not counted)."""
        looked = self.hits + self.misses
        return self.hits / looked if looked else 0.0

    def snapshot(self) -> dict[str, int]:
        """Flat counters, e.g. for `hub_llm_cache_lookups_total{result=...}`."""
        counts = {"exact_hit": self.exact_hits, "semantic_hit": self.semantic_hits, "miss": self.misses}
        counts.update({f"skip_{reason}": n for reason, n in sorted(self.skips.items())})
        counts.update({"store": self.stores, "error": self.errors})
        return counts
