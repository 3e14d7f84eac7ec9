"""/admin/audit: the audit log, filtered and paged (newest first), and exported as JSON Lines (oldest first).

Both only read, so `viewer` admins may use them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hub.admin.context import AdminContext
from hub.admin.http import Operation, respond, validated
from hub.admin.schemas import AuditExportQuery, AuditPageOut, AuditQuery, AuditRecordOut
from hub.governance.audit import AuditRecord
from hub.governance.audit.export import export_lines
from hub.governance.audit.store import AuditFilter, page

PAGE = TypeAdapter(AuditPageOut)
QUERY = TypeAdapter(AuditQuery)
EXPORT_QUERY = TypeAdapter(AuditExportQuery)
JSON_LINES = "application/x-ndjson"


def operations(ctx: AdminContext) -> list[Operation]:
    async def list_records(request: Request) -> Response:
        query = validated(QUERY, _params(request), "query")
        records, cursor = await page(ctx.database, _filter(query), query.cursor, query.limit)
        return respond(PAGE, AuditPageOut(records=[_out(r) for r in records], next_cursor=cursor))

    async def export(request: Request) -> Response:
        query = validated(EXPORT_QUERY, _params(request), "query")
        lines: AsyncIterator[bytes] = export_lines(ctx.database, _filter(query))
        return StreamingResponse(lines, media_type=JSON_LINES)

    return [
        Operation(
            "GET",
            "/audit",
            "Audit records, newest first; follow `next_cursor` for older ones",
            list_records,
            response=PAGE,
            query=QUERY,
            errors=(401, 404, 422),
        ),
        Operation(
            "GET",
            "/audit/export",
            "Every matching audit record as JSON Lines, oldest first, each line as hashed plus its hash",
            export,
            query=EXPORT_QUERY,
            media_type=JSON_LINES,
            errors=(401, 404, 422),
        ),
    ]


def _params(request: Request) -> dict[str, Any]:
    return dict(request.query_params)


def _filter(query: AuditExportQuery) -> AuditFilter:
    return AuditFilter(
        agent=query.agent,
        server=query.server,
        tool=query.tool,
        target=query.target,
        method=query.method,
        kind=query.kind,
        outcome=query.outcome,
        error_code=query.error_code,
        since=query.since,
        until=query.until,
    )


def _out(record: AuditRecord) -> AuditRecordOut:
    return AuditRecordOut(
        id=record.id,
        chain=record.chain,
        seq=record.seq,
        ts=record.ts,
        kind=record.kind,
        method=record.method,
        outcome=record.outcome,
        error_code=record.error_code,
        error=record.error,
        agent=record.agent,
        team=record.team,
        key_id=record.key_id,
        server=record.server,
        target=record.target,
        upstream=record.upstream,
        latency_us=record.latency_us,
        request_bytes=record.request_bytes,
        response_bytes=record.response_bytes,
        request=record.request,
        response=record.response,
        prev_hash=record.prev_hash,
        hash=record.hash,
    )
