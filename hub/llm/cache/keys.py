"""The cache's keys: an exact key per request, and the partition inside which meanings are compared.

Both are SHA-256 digests of canonical JSON (sorted keys, no whitespace), so equal requests get equal
keys on every replica. The exact key covers the scope, model, system prompt, sampling parameters and
every turn. The partition covers the same minus the last user message, plus the embedder's name
(vectors of two models are not comparable): two requests are compared by meaning only when
everything else about them is identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

from hub.llm.cache.request import CacheRequest, CacheScope

Share = Literal["agent", "team", "global"]


def scope_key(scope: CacheScope, share: Share) -> str:
    """Whose answers a request may see: its agent's, its team's (an agent with no team keeps its own), or all."""
    if share == "global":
        return "global"
    if share == "team" and scope.team is not None:
        return f"team:{scope.team}"
    return f"agent:{scope.agent}"


def exact_key(request: CacheRequest, scope: str) -> str:
    return _digest({"scope": scope, **_shape(request), "messages": list(request.messages)})


def partition_key(request: CacheRequest, scope: str, embedder: str) -> str:
    """The partition of a request whose last message is the user's (callers check that first)."""
    return _digest({"scope": scope, **_shape(request), "context": list(request.messages[:-1]), "embedder": embedder})


def _shape(request: CacheRequest) -> dict[str, Any]:
    return {"model": request.model, "system": request.system, "params": dict(request.params)}


def _digest(value: Mapping[str, Any]) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
