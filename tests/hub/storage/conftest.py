"""A fresh, empty database per test: a SQLite file, and a new database on the local PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hub.governance.vault.cipher import Vault, generate_key
from hub.storage.engine import Database
from tests.services import POSTGRES, postgres_database, unreachable


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url_of = postgres_database() if request.param == "postgresql" else sqlite_database(tmp_path)
    async with url_of as url:
        db = Database(url, vault=Vault([generate_key().encode()]))
        try:
            yield db
        finally:
            await db.dispose()


@asynccontextmanager
async def sqlite_database(tmp_path: Path) -> AsyncIterator[str]:
    yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database on the local PostgreSQL, for hubs run as subprocesses; dropped afterwards."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unreachable(f"PostgreSQL at {POSTGRES}", exc)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{POSTGRES.rpartition('/')[0]}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
