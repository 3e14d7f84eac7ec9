"""The live path: rows the Auditor builds in memory are exactly what a replay of the journal would store.

The writer takes them from memory while they continue where it committed, and falls back to reading
the journal when the bounded buffer overflowed or a segment boundary is crossed; either way each
journal line becomes one row, equal to the row its parsed line gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from sqlalchemy import event, select

from hub.governance.audit import AuditEntry, Auditor
from hub.governance.audit.record import AuditRecord, canonical_of, canonical_spliced, canonical_text
from hub.governance.audit.store import row_values
from hub.governance.audit.verify import verify_chains
from hub.storage.engine import Database
from hub.storage.tables import AuditRow

pytestmark = pytest.mark.anyio

TRICKY = [
    None,
    {"request": None, "response": None, "x": [1, 2.5, "é"]},
    {"text": '"request":null,"response":null,'},
    {"nested": {"response": None, "request": {"response": None}}},
    ["\u001b[31m", {"b": 1, "a": None}],
]


@pytest.mark.parametrize("request_value", TRICKY)
@pytest.mark.parametrize("response_value", TRICKY)
def test_spliced_canonical_text_equals_the_full_encoding(request_value: Any, response_value: Any) -> None:
    record = AuditRecord(
        id="a" * 32, chain="b" * 32, seq=7, ts=datetime.now(UTC), kind="mcp", method="tools/call",
        outcome="ok", error_code=None, error='"request":null,', agent="ann", team=None, key_id=None,
        server="s", target="t", upstream="u", latency_us=5, request_bytes=1, response_bytes=2,
        request=request_value, response=response_value, prev_hash="0" * 64,
    )  # fmt: skip
    fields = record.fields() | {"request": None, "response": None}
    spliced = canonical_spliced(fields, canonical_text(request_value), canonical_text(response_value))
    assert spliced == record.canonical()


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        kind="mcp",
        method="tools/call",
        outcome="ok" if i % 3 else "tool_error",
        latency_us=i,
        agent="ann",
        target="echo",
        request={"name": "echo", "arguments": {"text": f"call {i}", "api_key": "secret", "f": i / 7}},
        response={"content": [{"type": "text", "text": f"call {i} \u001b"}]},
    )


def journal_rows(journal_dir: Path) -> list[dict[str, Any]]:
    lines = [line for path in sorted(journal_dir.glob("*/*.jsonl")) for line in path.read_bytes().splitlines()]
    return [row_values(json.loads(line)) for line in lines if b'"seq"' in line]


async def test_rows_from_memory_and_from_the_journal_are_the_same_once_each(
    database: Database, make_auditor: Callable[..., Auditor], tmp_path: Path
) -> None:
    # batch_size 2: the buffer holds 8, so a burst of 60 without a pause overflows it (journal fallback);
    # small segments: many segment boundaries on both paths
    auditor = make_auditor(batch_size=2, segment_bytes=2000)
    with anyio.fail_after(30):
        async with auditor.running():
            for i in range(60):
                auditor.record(entry(i))
            await auditor.flushed()
            for i in range(60, 100):
                auditor.record(entry(i))
                await anyio.lowlevel.checkpoint()
            await auditor.flushed()
            expected = journal_rows(tmp_path / "audit")
    async with database.transaction() as session:
        stored = list((await session.scalars(select(AuditRow).order_by(AuditRow.seq))).all())
    assert [r.seq for r in stored] == list(range(1, 101))
    columns = [c.key for c in AuditRow.__table__.columns]
    assert len(expected) == 100 - min(e["seq"] for e in expected) + 1  # what the journal still holds
    by_seq = {r.seq: r for r in stored}
    for values in expected:
        row = by_seq[values["seq"]]
        assert {c: getattr(row, c) for c in columns} == {c: values[c] for c in columns}
    reports = await verify_chains(database)
    assert [(r.records, r.broken) for r in reports] == [(100, None)]


class _Code(int):
    """An int subclass whose str() is not its number: the canonical text must still be the encoder's."""

    def __repr__(self) -> str:
        return "_Code()"

    __str__ = __repr__


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"error_code": -32603, "error": 'bad \u00e9\u2028 "quoted" \\ back', "agent": None, "server": None},
        {"agent": "日本", "team": "t", "key_id": "hub_x", "target": None, "upstream": None, "kind": "llm"},
        {"error_code": True},  # a bool is an int to Python, not to JSON
        {"error_code": _Code(7), "latency_us": _Code(3)},
        {"target": 12},  # a text field holding a number
    ],
)
def test_the_hot_path_encoding_of_a_record_equals_its_canonical_text(changes: dict[str, Any]) -> None:
    base = AuditRecord(
        id="a" * 32, chain="b" * 32, seq=7, ts=datetime.now(UTC), kind="mcp", method="tools/call",
        outcome="ok", error_code=None, error=None, agent="ann", team=None, key_id=None,
        server="s", target="t", upstream="u", latency_us=5, request_bytes=1, response_bytes=2,
        request=None, response=None, prev_hash="0" * 64,
    )  # fmt: skip
    payloads = ({"name": "echo", "arguments": {"x": [1, 2.5, "é"]}}, {"content": [], "isError": False})
    record = replace(base, **changes)
    full = replace(record, request=payloads[0], response=payloads[1])
    assert canonical_of(record, canonical_text(payloads[0]), canonical_text(payloads[1])) == full.canonical()


@pytest.mark.parametrize(
    "value", [None, "s\u001b", 1, 2.5, True, [], {}, {"b": [1, {"z": None, "a": "é"}], "a": (1, 2)}, "x" * 3000]
)
def test_canonical_text_is_the_standard_encoders_text(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    assert canonical_text(value) == expected


def test_canonical_text_refuses_what_json_cannot_carry() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_text(float("nan"))
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_text({"k": object()})


@pytest.mark.parametrize(
    "payload",
    [
        {"name": "echo", "arguments": {"text": "ping é ✓"}},  # nothing to redact: sized from the stored text
        {"name": "login", "arguments": {"password": "hunter2", "text": "x" * 5000}},  # masked and cut
        {"b": 1, "a": [1.5, None, True, "\u001b[31m"]},
        None,
    ],
)
async def test_sizes_are_the_compact_json_bytes_of_what_was_sent_whatever_was_redacted(
    database: Database, make_auditor: Callable[..., Auditor], payload: Any
) -> None:
    auditor = make_auditor()
    with anyio.fail_after(10):
        async with auditor.running():
            auditor.record(
                AuditEntry(
                    kind="mcp", method="tools/call", outcome="ok", latency_us=1, request=payload, response=payload
                )
            )
            await auditor.flushed()
    async with database.transaction() as session:
        row = (await session.scalars(select(AuditRow))).one()
    sent = 0 if payload is None else len(json.dumps(payload, separators=(",", ":")))
    assert (row.request_bytes, row.response_bytes) == (sent, sent)


async def test_a_steady_stream_of_records_is_stored_once_per_interval_not_a_few_at_a_time(
    database: Database, make_auditor: Callable[..., Auditor]
) -> None:
    """Records that arrive while a batch is being stored wait for the next interval.

    Storing them at once, a few per transaction, kept the writer (a database transaction and a
    commit file per batch) running the whole time the hub was busy.
    """
    interval_s = 0.2
    auditor = make_auditor(batch_interval_s=interval_s)
    inserts = 0

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal inserts
        inserts += statement.lstrip().upper().startswith("INSERT INTO AUDIT_RECORDS")

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        with anyio.fail_after(60):
            async with auditor.running():
                began = anyio.current_time()
                for i in range(400):  # far faster than one transaction per record
                    auditor.record(entry(i))
                    await anyio.sleep(0.002)
                elapsed = anyio.current_time() - began
                await auditor.flushed()
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    async with database.transaction() as session:
        assert len((await session.scalars(select(AuditRow.seq))).all()) == 400
    assert 1 <= inserts <= elapsed / interval_s + 3
