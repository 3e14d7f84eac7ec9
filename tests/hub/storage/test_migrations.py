"""The Alembic migrations, run up and down on SQLite and on the local PostgreSQL."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from hub.storage.engine import Database
from hub.storage.migrate import alembic_config, downgrade, upgrade
from hub.storage.tables import Base

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
TABLES = {
    "upstreams",
    "virtual_servers",
    "agents",
    "agent_keys",
    "teams",
    "catalog_version",
    "audit_records",
    "llm_usage",
    "limits",
}


async def _tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


def _differences(conn: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata))


async def test_upgrade_builds_exactly_the_schema_the_models_describe(database: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        async with database.engine.connect() as conn:
            differences = await conn.run_sync(_differences)
        tables = await _tables(database)
    assert differences == []
    assert tables == TABLES | {"alembic_version"}


async def test_upgrade_twice_changes_nothing(database: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        await upgrade(database)
        tables = await _tables(database)
    assert tables == TABLES | {"alembic_version"}


async def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(database: Database) -> None:
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        await downgrade(database, "base")
        after_down = await _tables(database)
        await upgrade(database)
        after_up = await _tables(database)
    assert after_down == {"alembic_version"}
    assert after_up == TABLES | {"alembic_version"}


def test_the_revisions_form_one_linear_chain() -> None:
    """Parallel branches each adding a migration must be re-pointed, never left as two heads."""
    scripts = ScriptDirectory.from_config(alembic_config())
    revisions = list(scripts.walk_revisions())
    assert scripts.get_heads() == [revisions[0].revision]
    assert all(not isinstance(r.down_revision, tuple) for r in revisions)
