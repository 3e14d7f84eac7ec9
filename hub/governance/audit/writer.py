"""The database writer: follows the journals, stores their lines in batches, and remembers how far it got.

Runs in the background, never on a call's path. At start it replays whatever the journals hold
beyond their `committed` position (inserts are idempotent, so a replay never duplicates). While
the database is unreachable it keeps retrying with backoff, logging `audit.db_down` once and
`audit.db_back` once it is back; records keep arriving in the journal meanwhile, not in memory.
A line the database refuses for what it holds (not for being down) is set aside in the chain's
`rejected.jsonl` and logged, so one bad record never blocks the ones after it.

The journal is the durable source; the live path does not read it back. `Auditor.record` hands
the writer each record's row values along with the line and its journal positions (`notify`);
the writer stores those from memory while they continue exactly where it has committed, and reads
(and parses) the journal only to catch up: at start, after the database was away long enough for
the in-memory buffer to overflow (it is bounded), or after anything else broke the continuity.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskStatus
from sqlalchemy.exc import DataError, IntegrityError

from hub.config.model import AuditConfig
from hub.governance.audit import store
from hub.governance.audit.journal import ChainJournal, Position
from hub.storage.engine import Database, uninterrupted

log = logging.getLogger(__name__)

BACKOFF_S = 0.2
BACKOFF_MAX_S = 5.0
REFUSED = (DataError, IntegrityError)
"""What the database says about a row it will never take (anything else: it is away, retry)."""
FLUSH_TIMEOUT_S = 5.0
"""At shutdown, seconds the writer gets to store what is left (the rest waits in the journal)."""
BUFFERED_BATCHES = 4
"""How many batches of records the in-memory buffer holds at most; beyond, the journal is read instead."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A journaled record not stored yet, as the Auditor built it: no need to read and parse it back."""

    start: Position
    end: Position
    line: bytes
    values: dict[str, Any]


class DatabaseWriter:
    def __init__(self, journals: Sequence[ChainJournal], database: Database, config: AuditConfig) -> None:
        self._journals = list(journals)
        self._database = database
        self._batch_size = config.batch_size
        self._interval_s = config.batch_interval_s
        self._positions: dict[str, Position] = {}
        self._wake = anyio.Event()
        self._full = anyio.Event()
        self._pending = 0
        self._buffer: deque[Pending] = deque()
        self._buffer_max = self._batch_size * BUFFERED_BATCHES
        self._down = False
        self._stored_seq: dict[str, int] = {}
        self._stored = anyio.Event()  # set (and replaced) after each batch is stored

    async def stored(self, chain: str, seq: int) -> None:
        """Return once the database holds `chain`'s records up to `seq`."""
        while self._stored_seq.get(chain, 0) < seq:
            self._full.set()  # someone waits: store now rather than at the end of the interval
            self._wake.set()
            await self._stored.wait()

    def notify(self, pending: Pending | None = None) -> None:
        """A line was appended to the appending journal (called on the hot path: cheap)."""
        if pending is not None:
            if len(self._buffer) >= self._buffer_max:
                self._buffer.clear()  # the database is behind: catch up from the journal instead
            self._buffer.append(pending)
        self._pending += 1
        self._wake.set()
        if self._pending >= self._batch_size:
            self._full.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        for journal in self._journals:
            self._positions[journal.chain] = await anyio.to_thread.run_sync(journal.committed)
        task_status.started()
        self._wake.set()  # replay what the journals hold first
        try:
            while True:
                await self._wake.wait()
                with anyio.move_on_after(self._interval_s):
                    await self._full.wait()
                self._wake, self._full, self._pending = anyio.Event(), anyio.Event(), 0
                await self._drain(retry=True, to_the_end=False)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(FLUSH_TIMEOUT_S):
                await self._drain(retry=False, to_the_end=True)

    async def _drain(self, retry: bool, to_the_end: bool) -> None:
        """Store what the journals hold, in batches; while serving, a batch that was not full ends the round.

        Records that arrived while that batch was being stored wait for the next round (the next
        interval, or at once if someone waits for them): going on would store them a few at a time,
        a transaction and a commit file each, all the time the hub is busy.
        """
        for journal in list(self._journals):
            while (stored := await self._store_batch(journal, retry)) and (to_the_end or stored >= self._batch_size):
                pass
            if not journal.appending and await anyio.to_thread.run_sync(
                journal.drained, self._positions[journal.chain]
            ):
                await anyio.to_thread.run_sync(journal.remove)
                self._journals.remove(journal)

    async def _store_batch(self, journal: ChainJournal, retry: bool) -> int:
        """Store `journal`'s next batch; how many lines it took (0: caught up, or, without retry, failed)."""
        rows, after = self._from_buffer(journal)
        taken = len(rows)
        if not rows:
            if journal.appending and self._positions[journal.chain] == journal.end:
                return 0  # caught up: every line this process appended is stored (no need to read the file)
            lines, after = await anyio.to_thread.run_sync(
                journal.read, self._positions[journal.chain], self._batch_size
            )
            if not lines:
                return 0
            rows, taken = _rows(journal, lines), len(lines)
        backoff = BACKOFF_S
        while True:
            try:
                with uninterrupted():  # a shutdown lets the batch finish: see `uninterrupted`
                    await self._insert(journal, rows)
                break
            except Exception as exc:  # the database is away (or failing): wait, retry; the journal keeps the lines
                self._went_down(exc)
                if not retry:
                    return 0
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        if self._down:
            self._down = False
            log.warning("audit.db_back", extra={"chain": journal.chain})
        self._positions[journal.chain] = after
        await anyio.to_thread.run_sync(journal.commit, after)
        if rows:
            self._stored_seq[journal.chain] = max(self._stored_seq.get(journal.chain, 0), rows[-1][1]["seq"])
        self._stored.set()
        self._stored = anyio.Event()
        return taken

    def _from_buffer(self, journal: ChainJournal) -> tuple[list[tuple[bytes, dict[str, Any]]], Position]:
        """The next batch from memory when it continues exactly at the committed position, else nothing."""
        position = self._positions[journal.chain]
        buffer = self._buffer
        if not journal.appending:
            return [], position
        while buffer and buffer[0].start < position:  # stored already (read from the journal meanwhile)
            buffer.popleft()
        if not buffer or buffer[0].start != position:
            return [], position
        taken = [buffer.popleft()]
        while buffer and len(taken) < self._batch_size and buffer[0].start == taken[-1].end:
            taken.append(buffer.popleft())  # stops at a gap (a line the buffer missed): the journal has it
        return [(p.line, p.values) for p in taken], taken[-1].end

    async def _insert(self, journal: ChainJournal, rows: list[tuple[bytes, dict[str, Any]]]) -> None:
        try:
            await store.insert(self._database, [values for _, values in rows])
        except REFUSED:
            for line, values in rows:  # something in the batch is refused: find it, keep the rest
                try:
                    await store.insert(self._database, [values])
                except REFUSED as one:
                    await anyio.to_thread.run_sync(journal.reject, line)
                    log.error("audit.record_rejected", extra={"chain": journal.chain, "error": type(one).__name__})

    def _went_down(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            log.warning("audit.db_down", extra={"error": type(exc).__name__, "detail": str(exc)[:200]})


def _rows(journal: ChainJournal, lines: list[bytes]) -> list[tuple[bytes, dict[str, Any]]]:
    rows = []
    for line in lines:
        try:
            rows.append((line, store.row_values(json.loads(line))))
        except (ValueError, KeyError, TypeError):
            journal.reject(line)
            log.error("audit.journal_bad_line", extra={"chain": journal.chain})
    return rows
