"""`hub audit verify` and `hub audit export`, run as a person would, on a SQLite database."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import pytest
from sqlalchemy import select, update

from hub.config.model import AuditConfig
from hub.governance.audit import AuditEntry, Auditor, AuditRecord
from hub.storage.engine import Database
from hub.storage.migrate import upgrade
from hub.storage.tables import AuditRow

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[4]
TIMEOUT = 30.0


async def hub_cli(*args: str) -> tuple[int, str, str]:
    with anyio.fail_after(TIMEOUT):
        done = await anyio.run_process([sys.executable, "-m", "hub.cli", *args], check=False, cwd=ROOT)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def recorded_database(tmp_path: Path) -> tuple[Path, Database]:
    """A config file and its database, holding records of two agents (one of them with a hostile name)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    config = tmp_path / "hub.yaml"
    config.write_text(f"storage: {{url: '{url}'}}\n")
    database = Database(url)
    await upgrade(database)
    auditor = Auditor(AuditConfig(batch_interval_s=0.01), database, tmp_path / "audit")
    with anyio.fail_after(TIMEOUT):
        async with auditor.running():
            for i, agent in enumerate(["ann", "ben\x1b[2J", "ann"]):
                auditor.record(
                    AuditEntry(kind="mcp", method="tools/call", outcome="ok", latency_us=i, agent=agent, target="echo")
                )
            await auditor.flushed()
    return config, database


async def test_verify_passes_an_intact_log_and_names_the_first_broken_link(tmp_path: Path) -> None:
    config, database = await recorded_database(tmp_path)
    status, out, _ = await hub_cli("audit", "verify", "--config", str(config))
    assert status == 0, out
    assert out.strip().endswith("3 records (seq 1..3): ok")
    async with database.transaction() as session:
        second = (await session.scalars(select(AuditRow).where(AuditRow.seq == 2))).one()
        await session.execute(update(AuditRow).where(AuditRow.id == second.id).values(latency_us=999))
    await database.dispose()
    status, out, _ = await hub_cli("audit", "verify", "--config", str(config))
    assert status == 1
    assert f"BROKEN at record {second.id} (seq 2): hash expected " in out
    assert f"found {second.hash}" in out


async def test_export_writes_json_lines_that_rehash_and_carry_no_control_characters(tmp_path: Path) -> None:
    config, database = await recorded_database(tmp_path)
    await database.dispose()
    status, out, _ = await hub_cli("audit", "export", "--config", str(config))
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 3
    assert "\x1b" not in out
    assert all(line.isascii() for line in lines)
    records = [AuditRecord.from_fields(json.loads(line)) for line in lines]
    assert [r.agent for r in records] == ["ann", "ben\\u001b[2J", "ann"]
    assert all(r.computed_hash() == r.hash for r in records)
    status, out, _ = await hub_cli(
        "audit", "export", "--config", str(config), "--agent", "ann", "-o", str(tmp_path / "a")
    )
    assert status == 0
    assert [json.loads(line)["seq"] for line in (tmp_path / "a").read_text().splitlines()] == [1, 3]
