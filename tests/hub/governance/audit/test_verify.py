"""The hash chain: `verify` passes an intact chain, finds the first broken link of a tampered one, and
accepts a chain whose oldest records retention removed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import delete, select, update

from hub.governance.audit import AuditEntry, Auditor
from hub.governance.audit.store import delete_before, record_of
from hub.governance.audit.verify import verify_chains
from hub.storage.engine import Database
from hub.storage.tables import AuditRow

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        kind="mcp",
        method="tools/call",
        outcome="ok",
        latency_us=100 + i,
        agent="ann",
        server="assistant",
        target="echo",
        upstream="echo",
        request={"name": "echo", "arguments": {"text": f"call {i}", "n": i / 3}},
        response={"content": [{"type": "text", "text": f"call {i}"}]},
    )


async def record_many(auditor: Auditor, count: int) -> None:
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            for i in range(count):
                auditor.record(entry(i))
            await auditor.flushed()


async def rows(database: Database) -> list[AuditRow]:
    async with database.transaction() as session:
        return list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())


async def test_an_intact_chain_verifies(database: Database, make_auditor: Callable[..., Auditor]) -> None:
    await record_many(make_auditor(), 12)
    reports = await verify_chains(database)
    assert len(reports) == 1
    assert reports[0].broken is None
    assert (reports[0].records, reports[0].first_seq, reports[0].last_seq) == (12, 1, 12)


async def test_a_changed_row_is_the_first_broken_link(database: Database, make_auditor: Callable[..., Auditor]) -> None:
    await record_many(make_auditor(), 8)
    stored = await rows(database)
    victim = stored[4]
    async with database.transaction() as session:
        await session.execute(update(AuditRow).where(AuditRow.id == victim.id).values(outcome="error"))
    [report] = await verify_chains(database)
    assert report.broken is not None
    assert report.broken.record_id == victim.id
    assert report.broken.what == "hash"
    assert report.broken.found == victim.hash
    assert "BROKEN at record " + victim.id in report.describe()


async def test_a_row_rehashed_after_a_change_breaks_the_next_link(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    await record_many(make_auditor(), 6)
    stored = await rows(database)
    forged = replace(record_of(stored[2]), outcome="error")
    async with database.transaction() as session:  # change a row and give it a hash that fits the change
        await session.execute(
            update(AuditRow).where(AuditRow.id == forged.id).values(outcome="error", hash=forged.computed_hash())
        )
    [report] = await verify_chains(database)
    assert report.broken is not None
    assert (report.broken.record_id, report.broken.what) == (stored[3].id, "prev_hash")
    assert (report.broken.expected, report.broken.found) == (forged.computed_hash(), stored[2].hash)


async def test_a_removed_row_is_reported_as_a_gap(database: Database, make_auditor: Callable[..., Auditor]) -> None:
    await record_many(make_auditor(), 6)
    stored = await rows(database)
    async with database.transaction() as session:
        await session.execute(delete(AuditRow).where(AuditRow.id == stored[3].id))
    [report] = await verify_chains(database)
    assert report.broken is not None
    assert (report.broken.record_id, report.broken.what) == (stored[4].id, "seq")
    assert (report.broken.expected, report.broken.found) == ("4", "5")


async def test_retention_removes_a_prefix_and_the_rest_still_verifies(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    await record_many(make_auditor(), 10)
    stored = await rows(database)
    old = datetime.now(UTC) - timedelta(days=40)
    async with database.transaction() as session:  # age the first four records
        await session.execute(update(AuditRow).where(AuditRow.seq <= 4).values(ts=old))
    # ages changed, so their hashes no longer match; retention must remove exactly them
    deleted = await delete_before(database, datetime.now(UTC) - timedelta(days=30))
    [report] = await verify_chains(database)
    assert deleted == 4
    assert report.broken is None
    assert (report.records, report.first_seq, report.last_seq) == (6, 5, 10)
    assert report.first_seq == stored[4].seq


async def test_a_running_auditor_applies_retention_and_the_rest_still_verifies(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    await record_many(make_auditor(), 5)
    async with database.transaction() as session:  # the first two records are now 40 days old
        await session.execute(
            update(AuditRow).where(AuditRow.seq <= 2).values(ts=datetime.now(UTC) - timedelta(days=40))
        )
    auditor = make_auditor(retention_days=30)
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            retained = auditor.retained
            await retained.wait()
            auditor.record(entry(5))
            await auditor.flushed()
    [report] = await verify_chains(database)
    assert report.broken is None
    assert (report.first_seq, report.last_seq) == (3, 6)
