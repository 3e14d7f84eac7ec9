"""Bring the database schema to the newest Alembic revision (at startup and in `hub migrate`).

The migration scripts live in `migrations/` at the top of the source tree, beside `hub/`; an
editable install (`pip install -e .`) or a checkout finds them there.
"""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from hub.errors import ConfigError
from hub.storage.engine import Database

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config() -> Config:
    if not (MIGRATIONS / "env.py").is_file():
        raise ConfigError(f"the migration scripts are missing: expected them in {MIGRATIONS}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(database: Database, revision: str = "head") -> None:
    """Apply every migration up to `revision` in one transaction."""
    async with database.engine.begin() as connection:
        await connection.run_sync(_run, "upgrade", revision)
    log.info("storage.migrated", extra={"revision": revision, "database": database.url.get_backend_name()})


def migrate_url(url: str) -> None:
    """`hub migrate`: upgrade the database at `url` to the newest revision, outside a running hub."""

    async def main() -> None:
        database = Database(url)
        try:
            await upgrade(database)
        finally:
            await database.dispose()

    anyio.run(main)


async def downgrade(database: Database, revision: str) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(_run, "downgrade", revision)


def _run(connection: Connection, direction: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    if direction == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)
