"""Rows as an MCP tool result: structured content (columns + JSON-safe rows) and a compact text table."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

# What every SQL tool's structuredContent looks like (its outputSchema).
OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "array"}},
        "row_count": {"type": "integer", "description": "rows returned (after truncation)"},
        "truncated": {"type": "boolean", "description": "true when the query had more rows than the limit"},
        "rows_affected": {"type": "integer", "description": "for a tool that writes: rows it changed"},
    },
    "required": ["columns", "rows", "row_count", "truncated"],
}

_CELL_CHARS = 60  # a longer value is cut in the text table (never in structured content)


@dataclass(frozen=True, slots=True)
class Rows:
    columns: tuple[str, ...]
    rows: list[Sequence[Any]]
    truncated: bool
    rows_affected: int | None = None


def json_safe(value: Any) -> JsonValue:
    """A database value as JSON: decimals keep their digits as strings, times are ISO 8601, bytes are base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    return str(value)


def tool_result(rows: Rows) -> dict[str, Any]:
    """A CallToolResult wire dict for rows a query returned."""
    safe = [[json_safe(v) for v in row] for row in rows.rows]
    structured: dict[str, Any] = {
        "columns": list(rows.columns),
        "rows": safe,
        "row_count": len(safe),
        "truncated": rows.truncated,
    }
    if rows.rows_affected is not None:
        structured["rows_affected"] = rows.rows_affected
    return {
        "content": [{"type": "text", "text": text_table(rows.columns, safe, rows.truncated, rows.rows_affected)}],
        "structuredContent": structured,
        "isError": False,
    }


def error_result(message: str) -> dict[str, Any]:
    """A CallToolResult wire dict for a call that failed in the database or was refused."""
    return {"content": [{"type": "text", "text": message}], "isError": True}


def text_table(
    columns: Sequence[str], rows: Sequence[Sequence[JsonValue]], truncated: bool, rows_affected: int | None = None
) -> str:
    """Aligned `a | b` lines under a header, and a last line saying how many rows (and whether more were cut)."""
    lines = []
    if columns:
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
        lines.append(_line(columns, widths))
        lines.append("-+-".join("-" * w for w in widths))
        lines.extend(_line(row, widths) for row in cells)
    summary = f"({len(rows)} row{'' if len(rows) == 1 else 's'}"
    if truncated:
        summary += "; truncated: the query returned more rows than the limit"
    if rows_affected is not None:
        summary += f"; {rows_affected} row{'' if rows_affected == 1 else 's'} affected"
    lines.append(summary + ")")
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _cell(value: JsonValue) -> str:
    text = "NULL" if value is None else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _CELL_CHARS else text[: _CELL_CHARS - 1] + "…"
