"""The shared backend: entries in Redis, so every hub replica answers from what any replica stored.

Per entry, `<prefix>:e:<key>` holds the answer as JSON and expires with the entry's TTL. Per
partition, `<prefix>:v:<partition>` (hash: key -> float32 vector bytes) holds the vectors,
`<prefix>:t:<partition>` (sorted set: key by expiry, in Redis server milliseconds) says when each
entry lapses and which is oldest, and `<prefix>:n:<partition>` counts changes (from the server's
clock in milliseconds when the partition is created, so a partition that lapsed and came back
never repeats a count a replica still holds). Writes and pruning are Lua scripts, atomic on the
server and timed by its clock. (The put script deletes evicted entries by name, so the keys of one
partition must live on one server: this design is for a single Redis or a primary with replicas,
not Redis Cluster.)

A lookup by meaning runs one script that prunes lapsed entries and returns the partition's change
count, plus its vectors only when that count differs from this replica's mirror. The comparison
then runs here, against the mirror (brute force, numpy). Redis 7.0 here has no search module; see
docs/llm-cache.md for what this costs and when an ANN index would be needed.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.errors import CacheUnavailableError
from hub.llm.cache.backend import Entry, Match, top_rows
from hub.llm.cache.embedder import Vectors

MIRRORED_PARTITIONS = 256
"""Partitions whose vectors one replica keeps between lookups."""

_PRUNE = """
local function prune(vecs, times, entry_prefix, now)
  local gone = redis.call('ZRANGEBYSCORE', times, '-inf', now)
  for _, key in ipairs(gone) do redis.call('HDEL', vecs, key) end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', times, '-inf', now) end
  return #gone
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

_PUT = (
    _PRUNE
    + """
local now = now_ms()
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
prune(KEYS[2], KEYS[3], ARGV[5], now)
if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) else redis.call('HDEL', KEYS[2], ARGV[3]) end
redis.call('ZADD', KEYS[3], now + ttl, ARGV[3])
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[3], excess)
  for i = 1, #oldest, 2 do
    redis.call('HDEL', KEYS[2], oldest[i])
    redis.call('DEL', ARGV[5] .. oldest[i])
  end
end
if redis.call('EXISTS', KEYS[4]) == 0 then  -- a new partition's count starts past any earlier one's
  redis.call('SET', KEYS[4], now)
end
redis.call('INCR', KEYS[4])
for i = 2, 4 do  -- a partition lives as long as its longest-lived entry
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
"""
)

_SCAN = (
    _PRUNE
    + """
if prune(KEYS[1], KEYS[2], ARGV[2], now_ms()) > 0 then redis.call('INCR', KEYS[3]) end
local version = redis.call('GET', KEYS[3]) or '0'
if version == ARGV[1] then return {version} end
return {version, redis.call('HGETALL', KEYS[1])}
"""
)


@dataclass
class _Mirror:
    version: bytes
    keys: list[str]
    matrix: Vectors


class RedisBackend:
    def __init__(self, url: str, prefix: str, max_partition_entries: int, timeout_s: float = 0.5) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._prefix = prefix
        self._cap = max_partition_entries
        self._put = self._redis.register_script(_PUT)
        self._scan = self._redis.register_script(_SCAN)
        self._mirrors: OrderedDict[str, _Mirror] = OrderedDict()

    async def get(self, key: str) -> Entry | None:
        with _translated():
            raw = await self._redis.get(self._entry_key(key))
        return None if raw is None else _decode(key, raw)

    async def nearest(self, partition: str, vector: Vectors, threshold: float, limit: int) -> list[Match]:
        mirror = await self._mirror(partition)
        found = top_rows(mirror.matrix, vector, threshold, limit)
        if not found:
            return []
        with _translated():
            raws = await self._redis.mget([self._entry_key(mirror.keys[i]) for i, _ in found])
        return [  # an entry gone since the mirror was taken is left out
            Match(_decode(mirror.keys[i], raw), score) for (i, score), raw in zip(found, raws, strict=True) if raw
        ]

    async def put(self, entry: Entry, ttl_s: float) -> None:
        body = {
            "partition": entry.partition,
            "response": entry.response,
            "created_at": entry.created_at,
            "text": entry.text,
        }
        vector = b"" if entry.vector is None else np.asarray(entry.vector, dtype="<f4").tobytes()
        keys = [self._entry_key(entry.key), *self._partition_keys(entry.partition)]
        args: list[str | bytes | int] = [json.dumps(body), max(1, int(ttl_s * 1000)), entry.key, vector]
        args += [self._entry_key(""), self._cap]
        with _translated():
            await self._put(keys=keys, args=args)

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def _mirror(self, partition: str) -> _Mirror:
        held = self._mirrors.get(partition)
        keys = self._partition_keys(partition)
        with _translated():
            reply = await self._scan(keys=keys, args=[held.version if held else b"", self._entry_key("")])
        if held is not None and reply[0] == held.version:
            self._mirrors.move_to_end(partition)
            return held
        pairs: list[bytes] = reply[1]
        names = [k.decode() for k in pairs[0::2]]
        rows = [np.frombuffer(v, dtype="<f4") for v in pairs[1::2]]
        matrix = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        mirror = _Mirror(reply[0], names, matrix)
        self._mirrors[partition] = mirror
        self._mirrors.move_to_end(partition)
        while len(self._mirrors) > MIRRORED_PARTITIONS:
            self._mirrors.popitem(last=False)
        return mirror

    def _entry_key(self, key: str) -> str:
        return f"{self._prefix}:e:{key}"

    def _partition_keys(self, partition: str) -> list[str]:
        return [f"{self._prefix}:{kind}:{partition}" for kind in ("v", "t", "n")]


def _decode(key: str, raw: bytes | str) -> Entry:
    body: dict[str, Any] = json.loads(raw)
    return Entry(key, str(body["partition"]), body["response"], float(body["created_at"]), text=str(body["text"]))


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as exc:
        raise CacheUnavailableError(f"the LLM cache's Redis did not answer: {type(exc).__name__}") from exc
