"""A fresh, empty database per test: a SQLite file, and a new database on the local PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from hub.governance.vault.cipher import Vault, generate_key
from hub.storage.engine import Database

POSTGRES = os.environ.get("HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
"""An existing database to connect to; each test creates (and drops) its own `hub_test_<random>` beside it."""


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


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """The URL of a new, empty database on the local PostgreSQL, dropped afterwards."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
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
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty database on the local PostgreSQL, for hubs run as subprocesses; dropped afterwards."""
    name = f"hub_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL at {POSTGRES} is required (HUB_REQUIRE_SERVICES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL at {POSTGRES} is unreachable ({exc}); set HUB_REQUIRE_SERVICES=1 to fail instead")
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{POSTGRES.rpartition('/')[0]}/{name}"
        finally:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
