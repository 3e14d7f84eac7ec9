"""The LLM usage writer: records accepted before a shutdown are written, even a batch the shutdown caught mid-insert."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest
from sqlalchemy import func, select

from hub.llm.usage import UsageRecord
from hub.storage.engine import Database
from hub.storage.llm_usage import UsageWriter
from hub.storage.migrate import upgrade
from hub.storage.tables import LlmUsageRow
from tests.write_lock import held_write_lock, insert_waiting, release_after

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


def usage(agent: str) -> UsageRecord:
    return UsageRecord(
        at=datetime.now(UTC),
        agent=agent,
        team=None,
        api="chat",
        model="m",
        group="m",
        deployment="d",
        prompt_tokens=3,
        completion_tokens=5,
        cost=0.0,
        status="ok",
        latency_ms=1.0,
    )


async def test_a_shutdown_while_a_batch_is_being_written_lets_it_finish(database: Database) -> None:
    # Cut off mid-statement, the batch was lost (only failures of the database were caught).
    await upgrade(database)
    writer = UsageWriter(database)
    with held_write_lock(database, LlmUsageRow.__tablename__) as release, anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as outer, anyio.create_task_group() as tg:
            await tg.start(writer.run)
            writer.record(usage("a"))
            await insert_waiting(database, LlmUsageRow.__tablename__)
            outer.start_soon(release_after, release, 0.3)
            tg.cancel_scope.cancel()  # the hub's shutdown
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(LlmUsageRow)) == 1
    assert writer.written == 1
