"""`hub audit verify` and `hub audit export`: the audit log from the command line, outside a running hub."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import BinaryIO, TypeVar

import anyio
from sqlalchemy.exc import SQLAlchemyError

from hub.config.model import HubConfig
from hub.governance.audit.export import export_lines
from hub.governance.audit.store import AuditFilter
from hub.governance.audit.verify import verify_chains
from hub.storage.engine import Database

T = TypeVar("T")


def verify_command(config: HubConfig) -> int:
    """Print each chain's state; exit 1 if any link is broken, 2 if the log cannot be read."""

    async def main(database: Database) -> int:
        reports = await verify_chains(database)
        for report in reports:
            print(report.describe())
        if not reports:
            print("no audit records")
        return 1 if any(r.broken is not None for r in reports) else 0

    return _with_database(config, main)


def export_command(config: HubConfig, where: AuditFilter, output: BinaryIO) -> int:
    """Write matching records to `output` as JSON Lines, oldest first."""

    async def main(database: Database) -> int:
        async for line in export_lines(database, where):
            output.write(line)
        output.flush()
        return 0

    return _with_database(config, main)


def _with_database(config: HubConfig, run: Callable[[Database], Awaitable[int]]) -> int:
    async def main() -> int:
        database = Database(config.storage.url)
        try:
            return await run(database)
        finally:
            await database.dispose()

    try:
        return anyio.run(main)
    except SQLAlchemyError as exc:
        print(f"cannot read the audit log at {config.storage.url}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
