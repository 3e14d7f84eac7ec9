"""The `CacheBackend` protocol the cache stores entries in, the entry itself, and the nearest-row search.

A backend keeps entries under their exact key, each with the partition it belongs to and, when it
can be matched by meaning, its vector and the text it was computed from. `nearest` compares a
vector with every vector of one partition (brute force: partitions are small, see
docs/llm-cache.md) and returns the best few entries at or above the threshold, best first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from hub.llm.cache.embedder import Vectors


@dataclass(frozen=True, slots=True)
class Entry:
    key: str  # the exact key of the request that produced the answer
    partition: str
    response: Mapping[str, Any]  # the answer as the caller gave it (JSON-able)
    created_at: float  # seconds since the epoch
    vector: Vectors | None = None  # shape (d,), unit length; None: matched exactly only
    text: str = ""  # what `vector` was computed from (the last user message)


@dataclass(frozen=True, slots=True)
class Match:
    entry: Entry
    similarity: float


class CacheBackend(Protocol):
    async def get(self, key: str) -> Entry | None: ...

    async def nearest(self, partition: str, vector: Vectors, threshold: float, limit: int) -> list[Match]: ...

    async def put(self, entry: Entry, ttl_s: float) -> None: ...

    async def aclose(self) -> None: ...


def top_rows(matrix: Vectors, vector: Vectors, threshold: float, limit: int) -> list[tuple[int, float]]:
    """Indices and similarities of the rows most similar to `vector` that reach the threshold, best first."""
    if matrix.shape[0] == 0:
        return []
    scores = matrix @ vector
    above = np.flatnonzero(scores >= threshold)
    best = above[np.argsort(-scores[above], kind="stable")][:limit]
    return [(int(i), float(scores[i])) for i in best]
