"""One statement on one pooled connection, inside each backend's guards: read-only mode and a time limit.

    PostgreSQL  SET TRANSACTION READ ONLY; SET LOCAL statement_timeout
    MariaDB     SET SESSION max_statement_time (seconds); START TRANSACTION READ ONLY
    MySQL       SET SESSION max_execution_time (milliseconds); START TRANSACTION READ ONLY
    SQLite      PRAGMA query_only and an authorizer that allows reading only; a progress handler
                that interrupts the statement at its deadline

A read-only call is always rolled back; a tool that writes is committed when it succeeds.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from sqlalchemy import Connection, TextClause
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from connectors.sql.engine import Database
from connectors.sql.errors import StatementFailedError, connecting, executing
from connectors.sql.results import Rows

T = TypeVar("T")

_CLEANUP_TIMEOUT_S = 2.0
_PROGRESS_STEPS = 1000  # SQLite VM instructions between two deadline checks


@dataclass(frozen=True, slots=True)
class Bounds:
    read_only: bool
    timeout_s: float
    max_rows: int


async def run_statement(
    db: Database, upstream: str, statement: TextClause, params: Mapping[str, Any], bounds: Bounds
) -> Rows:
    """Run `statement` with bound `params`; at most `bounds.max_rows` rows come back."""
    async with _guarded(db, upstream, bounds) as conn:
        if bounds.read_only:
            streamed = await conn.stream(statement, dict(params))
            try:
                fetched = await streamed.fetchmany(bounds.max_rows + 1)
                columns = tuple(streamed.keys())
            finally:
                with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
                    await streamed.close()  # a server-side cursor must be closed, even when the call was cancelled
            return Rows(columns, list(fetched[: bounds.max_rows]), len(fetched) > bounds.max_rows)
        result = await conn.execute(statement, dict(params))
        rows: list[Any] = []
        columns = ()
        truncated = False
        if result.returns_rows:
            columns = tuple(result.keys())
            fetched = result.fetchmany(bounds.max_rows + 1)
            rows, truncated = list(fetched[: bounds.max_rows]), len(fetched) > bounds.max_rows
        affected = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else None
        await conn.commit()
        return Rows(columns, rows, truncated, rows_affected=affected)


async def run_inspection(db: Database, upstream: str, inspect: Callable[[Connection], T], bounds: Bounds) -> T:
    """Run a synchronous SQLAlchemy inspection (tables, columns) under the same guards."""
    async with _guarded(db, upstream, bounds) as conn:
        return await conn.run_sync(inspect)


async def ping(db: Database, upstream: str) -> None:
    """Get a connection and run the dialect's ping; raises DatabaseUnreachableError."""
    with connecting(upstream, db.secrets):
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")


@asynccontextmanager
async def _guarded(db: Database, upstream: str, bounds: Bounds) -> AsyncIterator[AsyncConnection]:
    with connecting(upstream, db.secrets):
        conn = await db.engine.connect()
    try:
        with executing(upstream, db.secrets):
            async with _MODES[db.backend](conn, bounds):
                yield conn
    finally:
        # Rolls back whatever was not committed and returns the connection to the pool (a dead one is dropped).
        with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True), suppress(SQLAlchemyError, OSError):
            await conn.close()


@asynccontextmanager
async def _postgresql(conn: AsyncConnection, bounds: Bounds) -> AsyncIterator[None]:
    if bounds.read_only:
        await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
    await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {_millis(bounds.timeout_s)}")
    yield


@asynccontextmanager
async def _mysql(conn: AsyncConnection, bounds: Bounds) -> AsyncIterator[None]:
    if conn.dialect.is_mariadb:  # type: ignore[attr-defined]  # set by the MySQL dialect at first connect
        await conn.exec_driver_sql(f"SET SESSION max_statement_time = {_millis(bounds.timeout_s) / 1000:.3f}")
    else:
        await conn.exec_driver_sql(f"SET SESSION max_execution_time = {_millis(bounds.timeout_s)}")
    await conn.exec_driver_sql("START TRANSACTION READ ONLY" if bounds.read_only else "START TRANSACTION")
    yield


@asynccontextmanager
async def _sqlite(conn: AsyncConnection, bounds: Bounds) -> AsyncIterator[None]:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection  # the aiosqlite connection
    assert driver is not None
    deadline = time.monotonic() + bounds.timeout_s
    await driver.set_progress_handler(lambda: int(time.monotonic() > deadline), _PROGRESS_STEPS)
    await conn.exec_driver_sql(f"PRAGMA query_only = {'ON' if bounds.read_only else 'OFF'}")
    await driver.set_authorizer(_read_only_authorizer if bounds.read_only else None)
    try:
        yield
    except DBAPIError as exc:
        if time.monotonic() > deadline:  # the progress handler interrupted it
            raise StatementFailedError(
                f"database error: the statement ran past its {bounds.timeout_s:g}s time limit and was interrupted"
            ) from exc
        raise
    finally:
        with anyio.move_on_after(_CLEANUP_TIMEOUT_S, shield=True):
            await driver.set_authorizer(None)
            await driver.set_progress_handler(None, _PROGRESS_STEPS)  # None clears it


# What a read-only SQLite statement may do: read, call functions, and read these pragmas (for describe_table).
_READ_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, 33})  # 33: RECURSIVE
_TRANSACTION_ACTIONS = frozenset({sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT})  # the pool's own rollback
_READ_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list", "table_list"}
)
_DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})


def _read_only_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    if action in _READ_ACTIONS or action in _TRANSACTION_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


_MODES = {"postgresql": _postgresql, "mysql": _mysql, "sqlite": _sqlite}


def _millis(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))
