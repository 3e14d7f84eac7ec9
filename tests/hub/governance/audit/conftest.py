"""An Auditor on a fresh database (SQLite file, or a new database on the local PostgreSQL) per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from hub.config.model import AuditConfig
from hub.governance.audit import Auditor
from hub.storage.engine import Database
from hub.storage.migrate import upgrade

POSTGRES = os.environ.get("HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty database on the local PostgreSQL, dropped afterwards."""
    name = f"hub_audit_{uuid.uuid4().hex[:12]}"
    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL at {POSTGRES} is required (HUB_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES} is unreachable ({exc}); set HUB_REQUIRE_SERVICES=1 to fail instead")
    async with admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{POSTGRES.rpartition('/')[0]}/{name}"
        finally:
            await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def make_postgres() -> Callable[[], Any]:
    """`async with make_postgres() as url:` a new PostgreSQL database for this test."""
    return postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database."""
    if request.param == "postgresql":
        async with postgres_database() as url:
            db = Database(url)
            try:
                await upgrade(db)
                yield db
            finally:
                await db.dispose()
    else:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
        try:
            await upgrade(db)
            yield db
        finally:
            await db.dispose()


@pytest.fixture
def make_auditor(database: Database, tmp_path: Path) -> Callable[..., Auditor]:
    """`make_auditor(**audit_config)`: an Auditor on this test's database, journaling under tmp_path/audit."""

    def make(**config: Any) -> Auditor:
        config.setdefault("batch_interval_s", 0.01)
        return Auditor(AuditConfig.model_validate(config), database, tmp_path / "audit")

    return make
