"""The database: an async SQLAlchemy engine and its sessions, for the URL in `storage.url`.

SQLite (`sqlite+aiosqlite:///path`, the default `data/hub.db`; its folder is created) and
PostgreSQL (`postgresql+psycopg://user@host/db`) are supported; plain `sqlite:` and `postgresql:`
URLs get their async driver. `sqlite+aiosqlite://` is an in-memory database held on one connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Final

import anyio
from sqlalchemy import URL, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from hub.config.model import HubConfig
from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault
from hub.governance.vault.keys import open_vault

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


class Database:
    """One engine per hub; a session per unit of work.

    Each session carries the vault that seals the catalog's secrets, as `session.info["vault"]`
    (see `hub.storage.repositories`); without one, a secret can be neither stored nor read.
    """

    def __init__(self, url: str | URL, vault: Vault | None = None) -> None:
        self.url = async_url(url) if isinstance(url, str) else url
        self.engine = _create_engine(self.url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False, info={"vault": vault})

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed when the block ends, rolled back if it raises."""
        async with self._sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


WRITE_TIMEOUT_S: Final = 10.0
"""How long a background writer's batch may take before it counts as failed (SQLite waits up to 5 s for its lock)."""


@contextmanager
def uninterrupted(timeout_s: float = WRITE_TIMEOUT_S) -> Iterator[None]:
    """Around a background writer's batch: cancellation (a shutdown) waits for it instead of cutting it off.

    A statement cancelled while the driver runs it is not merely lost: on aiosqlite, SQLAlchemy's
    cleanup of the interrupted connection leaves a close pending that never completes, and the next
    statement on the engine could wait forever (the audit writer's last flush at shutdown stored
    nothing that way). A batch that takes longer than `timeout_s` raises TimeoutError, which the
    writers treat like any other failed write.
    """
    with anyio.fail_after(timeout_s, shield=True):
        yield


def open_database(config: HubConfig) -> Database:
    """The database at `storage.url`, with the vault that seals its secrets (which may make a key file)."""
    url = async_url(config.storage.url)
    return Database(url, vault=open_vault(config.vault, url))


def async_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with its own wording
        raise ConfigError(f"storage.url: {url!r} is not a database URL") from exc
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    if parsed.drivername not in _ASYNC_DRIVERS.values():
        raise ConfigError(
            f"storage.url: driver {parsed.drivername!r} is not supported; use sqlite+aiosqlite or postgresql+psycopg"
        )
    return parsed


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    kwargs: dict[str, Any] = {}
    if url.database in (None, "", ":memory:"):
        kwargs["poolclass"] = StaticPool  # one connection, or each session would see its own empty database
    else:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    # WAL: readers and the writer stop blocking each other, and a commit appends to one log (one
    # sync) instead of writing a rollback journal and the pages. synchronous stays FULL: a commit
    # (an audit batch the journal then forgets) survives a power loss too. An in-memory database
    # answers "memory" and stays as it is.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
