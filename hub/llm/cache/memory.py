"""The embedded default: entries in this process, least recently used out first, each with a TTL.

Bounded twice: `max_entries` over the whole cache, `max_partition_entries` per partition (the
oldest entry of a full partition makes room). Expired entries are dropped when met. Every method
runs without awaiting, so concurrent tasks never see half an update.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hub.llm.cache.backend import Entry, Match, top_rows
from hub.llm.cache.embedder import Vectors


@dataclass
class _Partition:
    vectors: OrderedDict[str, Vectors | None] = field(default_factory=OrderedDict)  # oldest first
    index: tuple[list[str], Vectors] | None = None  # rows of the entries with vectors; None: rebuild


class MemoryBackend:
    def __init__(
        self, max_entries: int, max_partition_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_entries = max_entries
        self._max_partition_entries = max_partition_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Entry, float]] = OrderedDict()  # key -> (entry, expires at)
        self._partitions: dict[str, _Partition] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, key: str) -> Entry | None:
        return self._live(key)

    async def nearest(self, partition: str, vector: Vectors, threshold: float, limit: int) -> list[Match]:
        part = self._partitions.get(partition)
        if part is None:
            return []
        keys, matrix = self._index(part)
        found = ((self._live(keys[i]), score) for i, score in top_rows(matrix, vector, threshold, limit))
        return [Match(entry, score) for entry, score in found if entry is not None]  # lapsed ones were dropped

    async def put(self, entry: Entry, ttl_s: float) -> None:
        self._drop(entry.key)
        self._entries[entry.key] = (entry, self._clock() + ttl_s)
        part = self._partitions.setdefault(entry.partition, _Partition())
        part.vectors[entry.key] = entry.vector
        part.index = None
        while len(part.vectors) > self._max_partition_entries:
            self._drop(next(iter(part.vectors)))
        while len(self._entries) > self._max_entries:
            self._drop(next(iter(self._entries)))

    async def aclose(self) -> None:
        self._entries.clear()
        self._partitions.clear()

    def _live(self, key: str) -> Entry | None:
        held = self._entries.get(key)
        if held is None:
            return None
        if held[1] <= self._clock():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return held[0]

    def _drop(self, key: str) -> None:
        held = self._entries.pop(key, None)
        if held is None:
            return
        part = self._partitions[held[0].partition]
        del part.vectors[key]
        part.index = None
        if not part.vectors:
            del self._partitions[held[0].partition]

    @staticmethod
    def _index(part: _Partition) -> tuple[list[str], Vectors]:
        if part.index is None:
            keys = [k for k, v in part.vectors.items() if v is not None]
            rows = [v for v in part.vectors.values() if v is not None]
            matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
            part.index = (keys, matrix)
        return part.index
