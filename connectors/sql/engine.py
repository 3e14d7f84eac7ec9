"""The SQLAlchemy async engine of one database upstream: its URL, driver, dialect and connection pool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.config.model import SqlUpstreamConfig
from hub.errors import ConfigError

Backend = Literal["sqlite", "postgresql", "mysql"]

# A URL that names no driver gets the async one the hub installs (aiosqlite; the postgres and mysql extras).
_ASYNC_DRIVERS = {"sqlite": "aiosqlite", "postgresql": "psycopg", "mysql": "asyncmy", "mariadb": "asyncmy"}
_BACKENDS: dict[str, Backend] = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}
# sqlglot's name for each backend's SQL dialect (MariaDB parses as MySQL).
DIALECTS: dict[Backend, str] = {"sqlite": "sqlite", "postgresql": "postgres", "mysql": "mysql"}


@dataclass(frozen=True, slots=True)
class Database:
    engine: AsyncEngine
    backend: Backend
    secrets: tuple[str, ...]  # strings that must never appear in a message: the URL and its password


def open_database(config: SqlUpstreamConfig) -> Database:
    """Create the engine (it connects lazily, on the first call or health check)."""
    raw = config.url.get_secret_value()
    try:
        url = make_url(raw)  # the config model has checked its scheme names a supported family
    except (ArgumentError, ValueError):
        raise ConfigError(f"upstream {config.name!r}: url is not a valid SQLAlchemy database URL") from None
    family = url.get_backend_name()
    backend = _BACKENDS[family]
    if "+" not in url.drivername:
        url = url.set(drivername=f"{family}+{_ASYNC_DRIVERS[family]}")
    try:
        engine = create_async_engine(url, **_pool_args(config, url), connect_args=_connect_args(config, backend))
    except Exception as exc:  # a missing driver or a sync driver: name the fix, not the URL
        raise ConfigError(
            f"upstream {config.name!r}: cannot use driver {url.drivername!r} ({type(exc).__name__});"
            " install the hub's postgres or mysql extra, or name an async driver"
        ) from None
    secrets = tuple(s for s in (raw, url.password and str(url.password)) if s)
    return Database(engine, backend, secrets)


def _pool_args(config: SqlUpstreamConfig, url: URL) -> dict[str, object]:
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return {}  # one in-memory database lives in one connection: SQLAlchemy picks a static pool
    return {
        "pool_size": config.pool_size,
        "max_overflow": config.max_overflow,
        "pool_timeout": config.pool_timeout_s,
        "pool_pre_ping": config.pool_pre_ping,
    }


def _connect_args(config: SqlUpstreamConfig, backend: Backend) -> dict[str, object]:
    if backend == "sqlite":
        return {}
    return {"connect_timeout": max(1, round(config.connect_timeout_s))}  # psycopg and asyncmy: whole seconds
