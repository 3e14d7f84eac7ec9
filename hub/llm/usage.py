"""One record per LLM call — who, which model and deployment, tokens, cost, outcome, timings — and where it goes.

Most calls are an agent's own (`purpose` request). The response cache's calls to an embedding
deployment are recorded too, charged to the agent whose request needed them (`purpose` cache-embedding).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class UsageRecord:
    at: datetime
    agent: str
    team: str | None
    api: str  # chat | messages | embeddings
    model: str  # the name the agent asked for
    group: str  # the model group that served it
    deployment: str
    prompt_tokens: int
    completion_tokens: int
    cost: float
    status: str  # ok | error | cancelled | cached
    latency_ms: float
    ttft_ms: float | None = None
    experiment: str = ""
    arm: str = ""
    purpose: str = "request"  # request: the agent's own call | cache-embedding: the response cache's lookup for it


class UsageSink(Protocol):
    def record(self, record: UsageRecord) -> None:
        """Accept a record without waiting (it is written in the background)."""
        ...
