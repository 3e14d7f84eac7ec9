"""A second connection that keeps a table's writers waiting, so a test can stop a writer mid-statement."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio
import psycopg
from psycopg import sql

from hub.storage.engine import Database

SQLITE_PAUSE_S = 0.5
"""Long enough for a writer that was handed records to be inside its insert (SQLite cannot show it)."""


@contextmanager
def held_write_lock(database: Database, table: str) -> Iterator[Callable[[], None]]:
    """Inserts into `table` wait until the yielded `release()` is called (or the block ends).

    SQLite: a BEGIN IMMEDIATE takes the database's one write lock (writers wait in SQLite's busy
    handler, up to its busy_timeout of 5 s). PostgreSQL: LOCK TABLE in EXCLUSIVE mode, which lets
    readers through and makes inserts wait on the server.
    """
    url = database.url
    if url.get_backend_name() == "sqlite":
        lite = sqlite3.connect(str(url.database), isolation_level=None)
        lite.execute("BEGIN IMMEDIATE")

        def release_lite() -> None:
            if lite.in_transaction:
                lite.execute("ROLLBACK")

        release, close = release_lite, lite.close
    else:
        pg = psycopg.connect(_psycopg_url(database))
        pg.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(table)))
        release, close = pg.rollback, pg.close
    try:
        yield release
    finally:
        release()
        close()


async def release_after(release: Callable[[], None], delay_s: float) -> None:
    await anyio.sleep(delay_s)
    release()


async def insert_waiting(database: Database, table: str, statement: str = "INSERT INTO") -> None:
    """Return once an insert into `table` (or another `statement`) waits for the lock: PostgreSQL shows it;
    on SQLite, after a pause."""
    url = database.url
    if url.get_backend_name() == "sqlite":
        await anyio.sleep(SQLITE_PAUSE_S)
        return
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query ILIKE %s"
    )
    # Autocommit: in a transaction, PostgreSQL would show the same snapshot of pg_stat_activity on every poll.
    async with await psycopg.AsyncConnection.connect(_psycopg_url(database), autocommit=True) as pg:
        while True:
            row = await (await pg.execute(query, (f"{statement} {table}%",))).fetchone()
            if row is not None and row[0] > 0:
                return
            await anyio.sleep(0.02)


def _psycopg_url(database: Database) -> str:
    return database.url.set(drivername="postgresql").render_as_string(hide_password=False)
