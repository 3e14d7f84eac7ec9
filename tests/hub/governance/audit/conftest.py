"""An Auditor on a fresh database (SQLite file, or a new database on the local PostgreSQL) per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from hub.config.model import AuditConfig
from hub.governance.audit import Auditor
from hub.storage.engine import Database
from hub.storage.migrate import upgrade
from tests.services import postgres_database


@pytest.fixture
def make_postgres() -> Callable[[], Any]:
    """`async with make_postgres() as url:` a new PostgreSQL database for this test."""
    return lambda: postgres_database("hub_audit")


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
