"""Fresh databases for the SQL connector: a SQLite file, and new databases on the local PostgreSQL and MariaDB.

`database(backend)` yields the URL of an empty database of that backend (dropped afterwards);
`items_db` is a parametrized fixture that runs a test on all three, seeded with `items` and `numbers`.
Each PostgreSQL and MariaDB database is named `hub_sql_<random>`: other suites share the servers.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import asyncmy
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from connectors.sql.connector import SqlConnector
from hub.config.model import SqlUpstreamConfig
from hub.core.connector import CallContext
from hub.core.principal import Principal
from tests.services import postgres_database, unreachable

MARIADB_HOST, MARIADB_PORT = "127.0.0.1", 3306
BACKENDS = ["sqlite", "postgresql", "mysql"]
TIMEOUT = 30.0

ITEMS = [
    (1, "apple", "1.50", "2026-01-02", "crisp"),
    (2, "pear", "2.25", "2026-02-03", None),
    (3, "plum", "0.75", "2026-03-04", "it's ripe"),
]
NUMBERS = 50


@asynccontextmanager
async def _mariadb() -> AsyncIterator[str]:
    name = f"hub_sql_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncmy.connect(host=MARIADB_HOST, port=MARIADB_PORT, user="root", connect_timeout=5)
    except (OSError, asyncmy.errors.OperationalError) as exc:
        unreachable(f"MariaDB at {MARIADB_HOST}:{MARIADB_PORT}", exc)
    try:
        async with admin.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}`")
        try:
            yield f"mysql://root@{MARIADB_HOST}:{MARIADB_PORT}/{name}"
        finally:
            async with admin.cursor() as cursor:
                await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        await admin.ensure_closed()


@asynccontextmanager
async def database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL (no driver named: the hub picks its async one) of a new, empty database."""
    if backend == "postgresql":
        async with postgres_database("hub_sql") as url:
            yield url
    elif backend == "mysql":
        async with _mariadb() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'upstream.db'}"


_ASYNC = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg", "mysql": "mysql+asyncmy"}


async def execute(url: str, *statements: str, params: list[dict[str, Any]] | None = None) -> None:
    """Run setup statements as the test (not through the hub), committed."""
    backend, rest = url.split("://", 1)
    engine = create_async_engine(f"{_ASYNC[backend]}://{rest}")
    try:
        async with engine.begin() as conn:
            for statement in statements:
                await conn.execute(text(statement), params or [{}])
    finally:
        await engine.dispose()


async def scalar(url: str, statement: str) -> Any:
    backend, rest = url.split("://", 1)
    engine = create_async_engine(f"{_ASYNC[backend]}://{rest}")
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text(statement))).scalar()
    finally:
        await engine.dispose()


async def seed(url: str) -> None:
    await execute(
        url,
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10, 2),"
        " added DATE, note VARCHAR(200))",
        "CREATE TABLE numbers (n INTEGER PRIMARY KEY)",
        "CREATE TABLE secrets (id INTEGER PRIMARY KEY, token VARCHAR(100))",
        "INSERT INTO secrets VALUES (1, 'top-secret-token')",
    )
    await execute(
        url,
        "INSERT INTO items VALUES (:id, :name, :price, :added, :note)",
        params=[{"id": i, "name": n, "price": p, "added": _date(a), "note": note} for i, n, p, a, note in ITEMS],
    )
    await execute(url, "INSERT INTO numbers VALUES (:n)", params=[{"n": n} for n in range(1, NUMBERS + 1)])


def _date(iso: str) -> dt.date:
    return dt.date.fromisoformat(iso)


@dataclass
class Seeded:
    backend: str
    url: str


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-scoped, so one seeded database per backend serves a whole module."""
    return "asyncio"


@pytest.fixture(scope="module", params=BACKENDS)
async def items_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Seeded]:
    """A database seeded with `items`, `numbers` and `secrets`, shared by a module: tests must not change it."""
    async with database(request.param, tmp_path_factory.mktemp("sql")) as url:
        await seed(url)
        yield Seeded(request.param, url)


@dataclass(frozen=True)
class Harness:
    """What the SQL connector tests share, as one fixture (test modules cannot import this conftest)."""

    @staticmethod
    def config(url: str, **fields: Any) -> SqlUpstreamConfig:
        return SqlUpstreamConfig.model_validate({"name": "db", "kind": "sql", "url": url, **fields})

    @staticmethod
    @asynccontextmanager
    async def running(config: SqlUpstreamConfig) -> AsyncIterator[SqlConnector]:
        """A connector, supervised as the hub does it, once its first health check has finished."""
        connector = SqlConnector(config)
        async with anyio.create_task_group() as tg:
            tg.start_soon(connector.run)
            with anyio.fail_after(TIMEOUT):
                await connector.ensure_started()
            try:
                yield connector
            finally:
                tg.cancel_scope.cancel()

    @staticmethod
    async def call(connector: SqlConnector, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        ctx = CallContext(
            principal=Principal("tester", None, {}), server="test", deadline=anyio.current_time() + TIMEOUT
        )
        with anyio.fail_after(TIMEOUT):
            return await connector.request("tools/call", {"name": tool, "arguments": arguments}, ctx)

    execute = staticmethod(execute)
    scalar = staticmethod(scalar)
    database = staticmethod(database)


@pytest.fixture(scope="session")
def harness() -> Harness:
    return Harness()
