"""The journal: what a killed process journaled is stored after a restart, exactly once, and its chain goes on.

A shutdown while a batch is being stored lets that batch finish, and stores the rest.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, select

from hub.errors import ConfigError
from hub.governance.audit import AuditEntry, Auditor
from hub.governance.audit.verify import verify_chains
from hub.storage.engine import Database
from hub.storage.tables import AuditRow
from tests.write_lock import held_write_lock, insert_waiting, release_after

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0

# Records `count` entries with a writer that would wait an hour before storing, then kills itself.
KILLED_WRITER = """
import os, signal, sys, anyio
from pathlib import Path
from hub.config.model import AuditConfig
from hub.errors import ConfigError
from hub.governance.audit import AuditEntry, Auditor
from hub.storage.engine import Database

async def main() -> None:
    config = AuditConfig(batch_interval_s=3600, batch_size=100000)
    auditor = Auditor(config, Database(sys.argv[1]), Path(sys.argv[2]))
    async with auditor.running():
        for i in range(int(sys.argv[3])):
            auditor.record(AuditEntry(kind="mcp", method="tools/call", outcome="ok", latency_us=1, target=f"t{i}"))
        os.kill(os.getpid(), signal.SIGKILL)

anyio.run(main)
"""


def entry(target: str) -> AuditEntry:
    return AuditEntry(kind="mcp", method="tools/call", outcome="ok", latency_us=1, target=target)


async def targets(database: Database) -> list[str]:
    async with database.transaction() as session:
        return [str(t) for t in (await session.scalars(select(AuditRow.target).order_by(AuditRow.seq))).all()]


async def test_records_of_a_killed_process_are_stored_once_after_restart(
    database: Database, make_auditor: Callable[..., Auditor], tmp_path: Path
) -> None:
    url = database.url.render_as_string(hide_password=False)
    with anyio.fail_after(TIMEOUT):
        command = [sys.executable, "-c", KILLED_WRITER, url, str(tmp_path / "audit"), "25"]
        killed = await anyio.run_process(command, check=False, stdout=None, stderr=None)
    assert killed.returncode == -9
    assert await targets(database) == []  # nothing reached the database before the kill
    auditor = make_auditor()
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            auditor.record(entry("after restart"))
            await auditor.flushed()
    assert await targets(database) == [f"t{i}" for i in range(25)] + ["after restart"]
    [report] = await verify_chains(database)  # the restarted process continued the same chain
    assert report.broken is None
    assert report.last_seq == 26


async def test_a_replay_of_lines_already_stored_adds_nothing(
    database: Database, make_auditor: Callable[..., Auditor], tmp_path: Path
) -> None:
    auditor = make_auditor()
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            for i in range(5):
                auditor.record(entry(f"t{i}"))
            await auditor.flushed()
    [chain_dir] = (tmp_path / "audit").iterdir()
    # as if the process died after storing a batch but before remembering it had
    (chain_dir / "committed").write_text(json.dumps({"segment": 1, "offset": 0}))
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            auditor.record(entry("t5"))
            await auditor.flushed()
    assert await targets(database) == [f"t{i}" for i in range(6)]


async def test_a_torn_last_line_is_skipped_and_the_chain_goes_on_from_the_last_whole_one(
    database: Database, make_auditor: Callable[..., Auditor], tmp_path: Path
) -> None:
    auditor = make_auditor(batch_interval_s=3600, batch_size=100000)
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            for i in range(3):
                auditor.record(entry(f"t{i}"))
    [chain_dir] = (tmp_path / "audit").iterdir()
    newest = sorted(chain_dir.glob("*.jsonl"))[-1]
    with newest.open("ab") as segment:  # a line cut short, as a power loss can leave it
        segment.write(b'{"v":1,"id":"torn","chain":')
    auditor = make_auditor()
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            auditor.record(entry("t3"))
            await auditor.flushed()
    assert await targets(database) == ["t0", "t1", "t2", "t3"]
    [report] = await verify_chains(database)
    assert report.broken is None


async def test_two_processes_on_one_journal_directory_keep_separate_chains(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    first, second = make_auditor(), make_auditor()
    with anyio.fail_after(TIMEOUT):
        async with first.running(), second.running():
            for i in range(4):
                first.record(entry(f"a{i}"))
                second.record(entry(f"b{i}"))
            await first.flushed()
            await second.flushed()
    reports = await verify_chains(database)
    assert len(reports) == 2
    assert all(r.broken is None and r.records == 4 for r in reports)
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AuditRow)) == 8


async def test_a_shutdown_while_a_batch_is_being_stored_lets_it_finish_and_stores_the_rest(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    # Cut off mid-statement, the batch was lost and, on SQLite, the last flush then waited on a
    # connection that never answered: nothing was stored.
    auditor = make_auditor(batch_size=20)
    with held_write_lock(database, AuditRow.__tablename__) as release, anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg, auditor.running():
            for i in range(50):
                auditor.record(entry(f"t{i}"))
            await insert_waiting(database, AuditRow.__tablename__)
            tg.start_soon(release_after, release, 0.3)  # the stop begins while the insert still waits
    assert await targets(database) == [f"t{i}" for i in range(50)]


async def test_a_journal_directory_that_cannot_be_used_is_a_clear_config_error(
    make_auditor: Callable[..., Auditor], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    auditor = make_auditor()
    auditor.journal_dir = blocker / "audit"
    with (
        anyio.fail_after(TIMEOUT),
        pytest.raises(ConfigError, match=r"audit.journal_dir: .*a-file/audit cannot be used"),
    ):
        async with auditor.running():
            pass
