"""/admin/llm/usage: LLM requests, tokens and cost summed for chargebacks, as JSON or CSV.

    GET /admin/llm/usage?group_by=team,model,day&since=2026-11-01&until=2026-12-01&format=csv

`group_by` takes any of agent, team, model (the model group), deployment, day, status, arm, purpose
(request, or cache-embedding for the response cache's embedding calls);
`since` (inclusive) and `until` (exclusive) are ISO dates or times (UTC when no zone is given).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.admin.context import AdminContext
from hub.admin.http import Operation, invalid
from hub.storage.llm_usage import GROUPS, usage_report

COLUMNS = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost")


class UsageRowOut(BaseModel):
    agent: str | None = None
    team: str | None = None
    model: str | None = None
    deployment: str | None = None
    day: str | None = None
    status: str | None = None
    arm: str | None = None
    purpose: str | None = None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost: float


class UsageReportOut(BaseModel):
    group_by: list[str]
    rows: list[UsageRowOut]


def operations(ctx: AdminContext) -> list[Operation]:
    async def report(request: Request) -> Response:
        params = request.query_params
        group_by = [g.strip() for g in params.get("group_by", "agent").split(",") if g.strip()]
        for name in group_by:
            if name not in GROUPS:
                raise invalid("usage query", "group_by", f"{name!r} is not one of {', '.join(GROUPS)}")
        since, until = _moment(params.get("since"), "since"), _moment(params.get("until"), "until")
        rows = await usage_report(ctx.database, group_by, since, until)
        fmt = params.get("format", "json")
        if fmt == "csv":
            return Response(_csv(rows, group_by), media_type="text/csv; charset=utf-8")
        if fmt != "json":
            raise invalid("usage query", "format", "use json or csv")
        return JSONResponse({"group_by": group_by, "rows": rows})

    return [
        Operation(
            "GET",
            "/llm/usage",
            "LLM requests, tokens and cost per agent, team, model, day (JSON or CSV)",
            report,
            response=TypeAdapter(UsageReportOut),
            errors=(401, 422),
        )
    ]


def _moment(value: str | None, field: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise invalid("usage query", field, "an ISO date or time, e.g. 2026-11-01 or 2026-11-01T12:00:00Z") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _csv(rows: list[dict[str, Any]], group_by: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*group_by, *COLUMNS])
    for row in rows:
        writer.writerow([*(row[g] if row[g] is not None else "" for g in group_by), *(row[c] for c in COLUMNS)])
    return out.getvalue()
