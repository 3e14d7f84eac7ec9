"""The audit table: idempotent batch inserts, filtered pages, retention, and walks along a chain."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any, cast

import anyio.lowlevel
from sqlalchemy import Dialect, Table, and_, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Select

from hub.errors import InvalidParamsError
from hub.governance.audit.record import AuditRecord, payload_text
from hub.storage.engine import Database, uninterrupted
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
    return {
        "id": record.id,
        "chain": record.chain,
        "seq": record.seq,
        "ts": record.ts,
        "kind": record.kind,
        "method": record.method,
        "outcome": record.outcome,
        "error_code": record.error_code,
        "error": record.error,
        "agent": record.agent,
        "team": record.team,
        "key_id": record.key_id,
        "server": record.server,
        "target": record.target,
        "upstream": record.upstream,
        "latency_us": record.latency_us,
        "request_bytes": record.request_bytes,
        "response_bytes": record.response_bytes,
        "request": request_text,
        "response": response_text,
        "prev_hash": record.prev_hash,
        "hash": record.hash,
    }


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
    statement = _driver_insert(database.engine.dialect)
    async with database.engine.begin() as connection:
        await connection.exec_driver_sql(statement.sql, statement.parameters(rows))


@dataclass(frozen=True, slots=True)
class _DriverInsert:
    """The batch insert as the driver's own SQL, compiled once per dialect by SQLAlchemy.

    Handing SQLAlchemy's Core statement a list of dicts costs it ~20 µs per row (parameter dicts
    rebuilt, type processors looked up) before the driver sees them; here each row becomes the
    driver's parameters in one step, through the same type processors (the timestamp's, on SQLite).
    """

    sql: str
    positional: bool  # `?` placeholders: each row as a tuple in `columns` order; else a dict by name
    columns: Callable[[dict[str, Any]], tuple[Any, ...]]  # a row's values in placeholder order
    processors: tuple[tuple[int, str, Callable[[Any], Any]], ...]  # (position, column, processor)

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        if not self.positional:
            return [row | {name: process(row[name]) for _, name, process in self.processors} for row in rows]
        if not self.processors:
            return [self.columns(row) for row in rows]
        out = []
        for row in rows:
            values = list(self.columns(row))
            for position, _, process in self.processors:
                values[position] = process(values[position])
            out.append(tuple(values))
        return out


@lru_cache(maxsize=16)
def _driver_insert(dialect: Dialect) -> _DriverInsert:
    table = cast(Table, AuditRow.__table__)
    make = postgres_insert if dialect.name == "postgresql" else sqlite_insert
    compiled = make(table).on_conflict_do_nothing().compile(dialect=dialect)
    names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
    assert sorted(names) == sorted(c.key for c in table.columns), names  # one placeholder per column
    assert not compiled.escaped_bind_names, names  # named placeholders are the column names
    processors = []
    for column in table.columns:
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((names.index(column.key), column.key, process))
    return _DriverInsert(str(compiled), dialect.positional, itemgetter(*names), tuple(processors))


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


RETENTION_CHUNK = 5000
"""Records one retention transaction deletes at most, so that each finishes in moments."""


async def delete_before(database: Database, cutoff: datetime) -> int:
    """Retention: delete each chain's records up to its last one older than `cutoff` (always a prefix).

    In transactions of at most `RETENTION_CHUNK` records, oldest first, each `uninterrupted()`: a
    shutdown waits for the one under way and stops before the next. A large delete cut off
    mid-statement would leave the engine's connection wedged on aiosqlite, and the audit writer's
    last flush behind it.
    """
    async with database.transaction() as session:
        heads = (
            await session.execute(
                select(AuditRow.chain, func.min(AuditRow.seq), func.max(AuditRow.seq))
                .where(AuditRow.ts < cutoff)
                .group_by(AuditRow.chain)
            )
        ).all()
    deleted = 0
    for chain, first, last in heads:
        upto = first - 1
        while upto < last:
            await anyio.lowlevel.checkpoint()  # a shutdown takes effect here, between transactions
            upto = min(last, upto + RETENTION_CHUNK)
            with uninterrupted():
                async with database.transaction() as session:
                    result = await session.execute(
                        delete(AuditRow).where(AuditRow.chain == chain, AuditRow.seq <= upto)
                    )
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
