"""Audit records as JSON Lines: one record per line, exactly as hashed plus its hash, ASCII only.

Every control character is escaped twice over: strings in a record were stored escaped (see
redaction.py), and the lines are written with `ensure_ascii`, so an export is safe in a terminal
and each line can be re-hashed (`AuditRecord.from_fields(json.loads(line))`) to check it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from hub.governance.audit import store
from hub.governance.audit.record import AuditRecord
from hub.storage.engine import Database


def export_line(record: AuditRecord) -> bytes:
    return record.line()


async def export_lines(database: Database, where: store.AuditFilter) -> AsyncIterator[bytes]:
    """Matching records, oldest first, as JSON Lines."""
    async for record in store.oldest_first(database, where):
        yield export_line(record)
