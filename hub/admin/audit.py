"""/admin/audit: the audit log, filtered and paged (newest first), and exported as JSON Lines (oldest first).

Both only read, so `viewer` admins may use them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields
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
    return AuditFilter(**{f.name: getattr(query, f.name) for f in fields(AuditFilter)})


def _out(record: AuditRecord) -> AuditRecordOut:
    return AuditRecordOut.model_validate(record, from_attributes=True)
