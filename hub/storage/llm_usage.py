"""LLM usage rows: written in batches off the request path, summed for budgets and chargeback reports."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import anyio
from anyio.abc import TaskStatus
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from sqlalchemy import func, insert, select

from hub.llm.usage import UsageRecord
from hub.storage.engine import Database, uninterrupted
from hub.storage.tables import LlmUsageRow

log = logging.getLogger(__name__)

GROUPS = {
    "agent": LlmUsageRow.agent,
    "team": LlmUsageRow.team,
    "model": LlmUsageRow.model_group,
    "deployment": LlmUsageRow.deployment,
    "day": LlmUsageRow.day,
    "status": LlmUsageRow.status,
    "arm": LlmUsageRow.arm,
    "purpose": LlmUsageRow.purpose,
}
BATCH = 200
QUEUE = 10_000


class UsageWriter:
    """A `UsageSink`: records go to a bounded queue; `run()` writes them in batches until cancelled."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._send: MemoryObjectSendStream[UsageRecord] | None = None  # while run() runs
        self._dropped = 0
        self.written = 0
        self._idle = anyio.Event()
        self._idle.set()

    def record(self, record: UsageRecord) -> None:
        try:
            if self._send is None:
                raise anyio.WouldBlock  # not running: nowhere to write it
            self._send.send_nowait(record)
            self._idle = anyio.Event() if self._idle.is_set() else self._idle
        except anyio.WouldBlock:
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                log.warning("llm.usage_dropped", extra={"dropped": self._dropped})

    async def flushed(self) -> None:
        """Wait until every record accepted so far is written (for tests and shutdown)."""
        await self._idle.wait()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        send, receive = anyio.create_memory_object_stream[UsageRecord](QUEUE)
        self._send = send
        task_status.started()
        with send, receive:
            try:
                await self._drain(receive)
            finally:
                self._send = None
                with anyio.move_on_after(5, shield=True):  # what is queued at shutdown is still written
                    rest = []
                    while True:
                        try:
                            rest.append(receive.receive_nowait())
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                    if rest:
                        await self._write(rest)
                    self._idle.set()

    async def _drain(self, receive: MemoryObjectReceiveStream[UsageRecord]) -> None:
        while True:
            batch = [await receive.receive()]
            while len(batch) < BATCH:
                try:
                    batch.append(receive.receive_nowait())
                except anyio.WouldBlock:
                    break
            await self._write(batch)
            if receive.statistics().current_buffer_used == 0:
                self._idle.set()

    async def _write(self, batch: Sequence[UsageRecord]) -> None:
        try:
            with uninterrupted():  # a shutdown lets the batch finish: see `uninterrupted`
                async with self._database.transaction() as session:
                    await session.execute(insert(LlmUsageRow), [_row(r) for r in batch])
            self.written += len(batch)
        except Exception:  # the database is away: the records are lost, the hub keeps serving
            log.exception("llm.usage_write_failed", extra={"records": len(batch)})


def _row(record: UsageRecord) -> dict[str, Any]:
    return {
        "at": record.at,
        "day": record.at.date().isoformat(),
        "agent": record.agent,
        "team": record.team,
        "api": record.api,
        "model": record.model,
        "model_group": record.group,
        "deployment": record.deployment,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cost": record.cost if math.isfinite(record.cost) else 0.0,
        "status": record.status,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "experiment": record.experiment,
        "arm": record.arm,
        "purpose": record.purpose,
    }


async def usage_report(
    database: Database, group_by: Sequence[str], since: datetime | None, until: datetime | None
) -> list[dict[str, Any]]:
    """Requests, tokens and cost summed per combination of `group_by` columns, within [since, until)."""
    columns = [GROUPS[g].label(g) for g in group_by]
    query = select(
        *columns,
        func.count().label("requests"),
        func.coalesce(func.sum(LlmUsageRow.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(LlmUsageRow.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(LlmUsageRow.cost), 0.0).label("cost"),
    )
    if since is not None:
        query = query.where(LlmUsageRow.at >= since)
    if until is not None:
        query = query.where(LlmUsageRow.at < until)
    if columns:
        query = query.group_by(*[GROUPS[g] for g in group_by]).order_by(*[GROUPS[g] for g in group_by])
    async with database.transaction() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        {
            **dict(row),
            "total_tokens": int(row["prompt_tokens"]) + int(row["completion_tokens"]),
            "cost": float(row["cost"]),
        }
        for row in rows
    ]


async def spent_since(database: Database, per: str, since: datetime) -> dict[str, tuple[int, float]]:
    """Tokens and cost per agent (or team) since `since`: seeds budget counters at start."""
    column = LlmUsageRow.agent if per == "agent" else LlmUsageRow.team
    query = (
        select(
            column,
            func.coalesce(func.sum(LlmUsageRow.prompt_tokens + LlmUsageRow.completion_tokens), 0),
            func.coalesce(func.sum(LlmUsageRow.cost), 0.0),
        )
        .where(LlmUsageRow.at >= since)
        .group_by(column)
    )
    async with database.transaction() as session:
        rows = (await session.execute(query)).all()
    return {str(who): (int(tokens), float(cost)) for who, tokens, cost in rows if who is not None}
