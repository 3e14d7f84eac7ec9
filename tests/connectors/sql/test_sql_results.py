"""Database values as JSON, and the text table beside the structured content."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid

from connectors.sql.results import Rows, json_safe, text_table, tool_result


def test_values_become_json_without_losing_what_they_say() -> None:
    row = [
        decimal.Decimal("12345678901234567890.125"),
        dt.datetime(2026, 11, 25, 21, 30, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        dt.time(8, 15),
        dt.timedelta(minutes=90),
        b"\x00\xffhub",
        memoryview(b"ab"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        {"nested": [decimal.Decimal("1.5"), None]},
        float("nan"),
        True,
    ]
    assert [json_safe(v) for v in row] == [
        "12345678901234567890.125",
        "2026-11-25T21:30:00+00:00",
        "2026-01-02",
        "08:15:00",
        5400.0,
        "AP9odWI=",
        "YWI=",
        "12345678-1234-5678-1234-567812345678",
        {"nested": ["1.5", None]},
        "nan",
        True,
    ]


def test_a_result_is_valid_json_with_structured_content_and_text() -> None:
    result = tool_result(Rows(("amount", "day"), [(decimal.Decimal("1.10"), dt.date(2026, 1, 1))], truncated=True))
    assert json.loads(json.dumps(result)) == result
    assert result["structuredContent"] == {
        "columns": ["amount", "day"],
        "rows": [["1.10", "2026-01-01"]],
        "row_count": 1,
        "truncated": True,
    }
    assert result["content"][0]["text"].splitlines()[-1] == (
        "(1 row; truncated: the query returned more rows than the limit)"
    )


def test_the_text_table_aligns_columns_shows_null_and_cuts_long_cells() -> None:
    table = text_table(["id", "note"], [[1, None], [22, "x" * 100], [3, "two\nlines"]], truncated=False)
    assert table.splitlines() == [
        "id | note",
        "---+-------------------------------------------------------------",
        "1  | NULL",
        "22 | " + "x" * 59 + "…",
        "3  | two\\nlines",
        "(3 rows)",
    ]
