"""The `CacheBackend` protocol the cache stores entries in, the entry itself, and the nearest-row search.

A backend keeps entries under their exact key, each with the partition it belongs to and, when it
can be matched by meaning, its vector. `nearest` compares a vector with every vector of one
partition (brute force: partitions are small, see docs/llm-cache.md) and returns the best entry at
or above the threshold.
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


@dataclass(frozen=True, slots=True)
class Match:
    entry: Entry
    similarity: float


class CacheBackend(Protocol):
    async def get(self, key: str) -> Entry | None: ...

    async def nearest(self, partition: str, vector: Vectors, threshold: float) -> Match | None: ...

    async def put(self, entry: Entry, ttl_s: float) -> None: ...

    async def aclose(self) -> None: ...


def best_row(matrix: Vectors, vector: Vectors, threshold: float) -> tuple[int, float] | None:
    """The index and similarity of the row most similar to `vector`, when it reaches the threshold."""
    if matrix.shape[0] == 0:
        return None
    scores = matrix @ vector
    index = int(np.argmax(scores))
    score = float(scores[index])
    return (index, score) if score >= threshold else None
