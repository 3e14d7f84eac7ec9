"""The audit table: idempotent batch inserts, filtered pages, retention, and walks along a chain."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Select

from hub.errors import InvalidParamsError
from hub.governance.audit.record import AuditRecord, payload_text
from hub.storage.engine import Database
from hub.storage.tables import AuditRow

PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which records a query returns; every field that is set must match."""

    agent: str | None = None
    server: str | None = None
    tool: str | None = None  # a tools/call target
    target: str | None = None
    method: str | None = None
    kind: str | None = None
    outcome: str | None = None
    error_code: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def row_values(data: dict[str, Any]) -> dict[str, Any]:
    """A journal line's JSON object as the column values of its row."""
    record = AuditRecord.from_fields(data)
    return record_values(record, payload_text(record.request), payload_text(record.response))


def record_values(record: AuditRecord, request_text: str, response_text: str) -> dict[str, Any]:
    """A record's column values, its payloads given as their canonical texts."""
    values = record.fields()
    del values["v"]
    values.update(ts=record.ts, request=request_text, response=response_text, hash=record.hash)
    return values


def record_of(row: AuditRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        chain=row.chain,
        seq=row.seq,
        ts=row.ts,
        kind=row.kind,
        method=row.method,
        outcome=row.outcome,
        error_code=row.error_code,
        error=row.error,
        agent=row.agent,
        team=row.team,
        key_id=row.key_id,
        server=row.server,
        target=row.target,
        upstream=row.upstream,
        latency_us=row.latency_us,
        request_bytes=row.request_bytes,
        response_bytes=row.response_bytes,
        request=json.loads(row.request),
        response=json.loads(row.response),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


async def insert(database: Database, rows: Sequence[dict[str, Any]]) -> None:
    """Store rows; a row whose id (or chain and seq) is stored already is skipped, so replays never duplicate."""
    if not rows:
        return
    make = postgres_insert if database.engine.dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, AuditRow.__table__)
    statement = make(table).on_conflict_do_nothing()  # Core, not ORM: no per-row ORM bookkeeping
    async with database.transaction() as session:
        await session.execute(statement, list(rows))


async def page(
    database: Database, where: AuditFilter, cursor: str | None, limit: int
) -> tuple[list[AuditRecord], str | None]:
    """Newest first; `cursor` (from the previous page) continues after its last record."""
    query = _filtered(where).order_by(AuditRow.ts.desc(), AuditRow.id.desc()).limit(limit + 1)
    if cursor is not None:
        ts, id_ = _decode_cursor(cursor)
        query = query.where(or_(AuditRow.ts < ts, and_(AuditRow.ts == ts, AuditRow.id < id_)))
    async with database.transaction() as session:
        rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    records = [record_of(r) for r in rows[:limit]]
    return records, (_encode_cursor(records[-1]) if more else None)


async def oldest_first(database: Database, where: AuditFilter) -> AsyncIterator[AuditRecord]:
    """Every matching record, oldest first, read a page at a time."""
    after: tuple[datetime, str] | None = None
    while True:
        query = _filtered(where).order_by(AuditRow.ts, AuditRow.id).limit(PAGE_SIZE)
        if after is not None:
            query = query.where(or_(AuditRow.ts > after[0], and_(AuditRow.ts == after[0], AuditRow.id > after[1])))
        async with database.transaction() as session:
            rows = list((await session.scalars(query)).all())
        for row in rows:
            yield record_of(row)
        if len(rows) < PAGE_SIZE:
            return
        after = (rows[-1].ts, rows[-1].id)


async def delete_before(database: Database, cutoff: datetime) -> int:
    """Retention: delete each chain's records up to its last one older than `cutoff` (always a prefix)."""
    deleted = 0
    async with database.transaction() as session:
        heads = (
            await session.execute(
                select(AuditRow.chain, func.max(AuditRow.seq)).where(AuditRow.ts < cutoff).group_by(AuditRow.chain)
            )
        ).all()
        for chain, seq in heads:
            result = await session.execute(delete(AuditRow).where(AuditRow.chain == chain, AuditRow.seq <= seq))
            deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


async def chains(database: Database) -> list[str]:
    async with database.transaction() as session:
        return list((await session.scalars(select(AuditRow.chain).distinct().order_by(AuditRow.chain))).all())


async def along_chain(database: Database, chain: str) -> AsyncIterator[AuditRecord]:
    """A chain's records in order (by seq), read a page at a time."""
    after = -1
    while True:
        query = (
            select(AuditRow)
            .where(AuditRow.chain == chain, AuditRow.seq > after)
            .order_by(AuditRow.seq)
            .limit(PAGE_SIZE)
        )
        async with database.transaction() as session:
            rows = list((await session.scalars(query)).all())
        for row in rows:
            yield record_of(row)
        if len(rows) < PAGE_SIZE:
            return
        after = rows[-1].seq


def _filtered(where: AuditFilter) -> Select[AuditRow]:
    query = select(AuditRow)
    for column, value in (
        (AuditRow.agent, where.agent),
        (AuditRow.server, where.server),
        (AuditRow.target, where.target),
        (AuditRow.method, where.method),
        (AuditRow.kind, where.kind),
        (AuditRow.outcome, where.outcome),
        (AuditRow.error_code, where.error_code),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.tool is not None:
        query = query.where(AuditRow.method == "tools/call", AuditRow.target == where.tool)
    if where.since is not None:
        query = query.where(AuditRow.ts >= where.since)
    if where.until is not None:
        query = query.where(AuditRow.ts < where.until)
    return query


def _encode_cursor(record: AuditRecord) -> str:
    raw = json.dumps([record.ts.isoformat(timespec="microseconds"), record.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        ts, id_ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(ts), str(id_)
    except (ValueError, TypeError) as exc:
        raise InvalidParamsError("cursor: not a cursor this API returned; start again without one") from exc
