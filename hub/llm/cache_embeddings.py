"""The response cache's calls to an embedding deployment, metered like the agents' own calls.

A request looked up by meaning needs its last user message embedded. When the vectors come from a
configured embedding deployment (`llm.cache.embedder: <group>`), that call goes through the LLM
backend like any other and costs tokens: it leaves a usage row (api embeddings, the embedder group
as model, purpose `cache-embedding`), reaches the metrics, and counts against the quotas and budgets
of the agent (and team) whose request needed it. The local model costs nothing and is not counted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from hub.core.llm import LlmBackend, LlmCall, Usage
from hub.core.principal import Principal
from hub.llm.budgets import Budgets
from hub.llm.cache.request import CacheScope
from hub.llm.gateway import LlmObserver, call_status
from hub.llm.usage import UsageRecord, UsageSink

PURPOSE = "cache-embedding"
HUB_ITSELF = CacheScope("hub")
"""Who pays for an embedding no agent's request asked for (none today: every lookup has a requester)."""


class CacheEmbeddings:
    """An `EmbedCall`: texts to vectors from the model group `group`, each call recorded for its requester."""

    def __init__(
        self, backend: LlmBackend, group: str, usage: UsageSink, budgets: Budgets | None, observer: LlmObserver
    ) -> None:
        self._backend = backend
        self._group = group
        self._usage = usage
        self._budgets = budgets
        self._observer = observer

    async def __call__(self, texts: Sequence[str], requester: CacheScope | None) -> list[list[float]]:
        who = requester or HUB_ITSELF
        started = time.perf_counter()
        call = LlmCall("embeddings", self._group, {"model": self._group, "input": list(texts)}, agent=who.agent)
        try:
            result = await self._backend.complete(call)
        except BaseException as exc:
            self._record(who, call_status(exc), started, Usage(), 0.0, "")
            raise
        self._record(who, "ok", started, result.usage, result.cost, result.deployment)
        if self._budgets is not None and (result.usage.total or result.cost):
            await self._budgets.spend(Principal(who.agent, who.team, {}), result.usage.total, result.cost)
        rows = sorted(result.body["data"], key=lambda row: int(row["index"]))
        return [[float(x) for x in row["embedding"]] for row in rows]

    def _record(self, who: CacheScope, status: str, started: float, usage: Usage, cost: float, deployment: str) -> None:
        record = UsageRecord(
            at=datetime.now(UTC),
            agent=who.agent,
            team=who.team,
            api="embeddings",
            model=self._group,
            group=self._group,
            deployment=deployment,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            cost=cost,
            status=status,
            latency_ms=(time.perf_counter() - started) * 1000,
            purpose=PURPOSE,
        )
        self._usage.record(record)
        self._observer.finished(record)
