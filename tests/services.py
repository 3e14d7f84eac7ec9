"""The machine's database services as tests use them: a fresh PostgreSQL database per test.

In CI (`HUB_REQUIRE_SERVICES=1`) a missing service fails the test; elsewhere it skips it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import psycopg
import pytest
from psycopg import sql

POSTGRES = os.environ.get("HUB_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
"""An existing database to connect to; each test creates (and drops) its own database beside it."""


def unreachable(service: str, exc: BaseException) -> NoReturn:
    if os.environ.get("HUB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{service} is required (HUB_REQUIRE_SERVICES=1) but unreachable: {exc}")
    pytest.skip(f"{service} is unreachable ({exc}); set HUB_REQUIRE_SERVICES=1 to fail instead")


@asynccontextmanager
async def postgres_database(prefix: str = "hub_test") -> AsyncIterator[str]:
    """The URL of a new, empty database `<prefix>_<random>` on the local PostgreSQL, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = await psycopg.AsyncConnection.connect(POSTGRES, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unreachable(f"PostgreSQL at {POSTGRES}", exc)
    async with admin:
        await admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield f"{POSTGRES.rpartition('/')[0]}/{name}"
        finally:
            await admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


MACHINE_REDIS = "redis://127.0.0.1:6379/0"


async def require_redis(url: str = MACHINE_REDIS) -> None:
    """Return if Redis at `url` answers a PING; otherwise fail (in CI) or skip the test."""
    import redis.asyncio as aioredis  # the redis extra: only tests that need Redis import it
    from redis.exceptions import RedisError

    client = aioredis.Redis.from_url(url, socket_timeout=2)
    try:
        await client.ping()
    except (OSError, RedisError) as exc:
        unreachable(f"Redis at {url}", exc)
    finally:
        await client.aclose()
