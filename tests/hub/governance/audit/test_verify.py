"""The hash chain: `verify` passes an intact chain, finds the first broken link of a tampered one, and
accepts a chain whose oldest records retention removed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import delete, event, select, update

from hub.governance.audit import AuditEntry, Auditor, store
from hub.governance.audit.store import delete_before, record_of
from hub.governance.audit.verify import verify_chains
from hub.storage.engine import Database
from hub.storage.tables import AuditRow
from tests.write_lock import held_write_lock, insert_waiting, release_after

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


async def age(database: Database, upto_seq: int) -> None:
    """Make the records up to `upto_seq` 40 days old (their hashes no longer match: retention must take them)."""
    async with database.transaction() as session:
        await session.execute(
            update(AuditRow).where(AuditRow.seq <= upto_seq).values(ts=datetime.now(UTC) - timedelta(days=40))
        )


async def test_retention_removes_a_prefix_and_the_rest_still_verifies(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    await record_many(make_auditor(), 10)
    stored = await rows(database)
    await age(database, 4)
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
    await age(database, 2)
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


async def test_retention_deletes_a_long_prefix_a_few_records_per_transaction(
    database: Database, make_auditor: Callable[..., Auditor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "RETENTION_CHUNK", 3)
    await record_many(make_auditor(), 12)
    await age(database, 10)
    deletes: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", seen)
    try:
        deleted = await delete_before(database, datetime.now(UTC) - timedelta(days=30))
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", seen)
    [report] = await verify_chains(database)
    assert deleted == 10
    assert len(deletes) == 4  # 3 + 3 + 3 + 1
    assert report.broken is None
    assert (report.records, report.first_seq, report.last_seq) == (2, 11, 12)


async def test_a_shutdown_during_retention_lets_the_transaction_under_way_finish_and_stops(
    database: Database, make_auditor: Callable[..., Auditor], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One delete of the whole prefix, cut off mid-statement, was rolled back; on SQLite it could
    # also leave the engine's connection wedged, so that the next write never finished.
    monkeypatch.setattr(store, "RETENTION_CHUNK", 3)
    await record_many(make_auditor(), 10)
    await age(database, 9)
    retention = anyio.CancelScope()

    async def retain() -> None:
        with retention:
            await delete_before(database, datetime.now(UTC) - timedelta(days=30))

    with anyio.fail_after(TIMEOUT):
        with held_write_lock(database, AuditRow.__tablename__) as release:
            async with anyio.create_task_group() as tg:
                tg.start_soon(retain)
                await insert_waiting(database, AuditRow.__tablename__, "DELETE FROM")
                tg.start_soon(release_after, release, 0.3)  # the stop begins while the first delete waits
                retention.cancel()
        assert [row.seq for row in await rows(database)] == [4, 5, 6, 7, 8, 9, 10]
        with anyio.fail_after(3):  # the engine still writes
            await record_many(make_auditor(), 1)
    assert [row.seq for row in await rows(database)] == [4, 5, 6, 7, 8, 9, 10, 11]
