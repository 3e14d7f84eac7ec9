"""The audit log's entry point: `Auditor.record(entry)` on a call's path, and its background work.

`record` is synchronous and small: redact the payloads, number and hash the record, append one
line to the journal, nudge the database writer. When it returns, the record survives the process
being killed. If the journal cannot be written it raises AuditUnavailableError, and the caller
withholds the call's answer: no answered call goes unrecorded.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy import make_url

from hub.config.model import AuditConfig
from hub.errors import AuditUnavailableError, ConfigError
from hub.governance.audit import store
from hub.governance.audit.journal import ChainJournal
from hub.governance.audit.record import (
    AuditEntry,
    AuditRecord,
    canonical_of,
    digest,
    journal_line,
    json_size,
)
from hub.governance.audit.redaction import Redactor, bounded_text
from hub.governance.audit.writer import DatabaseWriter, Pending
from hub.storage.engine import Database

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0
_IDS_PER_DRAW = 256
_NAME = 128  # the width of the name columns (agent, team, server, upstream, key id)


class Auditor:
    def __init__(self, config: AuditConfig, database: Database, journal_dir: Path) -> None:
        self.config = config
        self.journal_dir = journal_dir
        self._database = database
        self._redactor = Redactor(config.redact)
        self._journal: ChainJournal | None = None
        self._writer: DatabaseWriter | None = None
        self._ids: list[str] = []
        self.retained = anyio.Event()  # set after each retention pass (replaced by the next one)

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    @property
    def writer(self) -> DatabaseWriter | None:
        return self._writer

    def record(self, entry: AuditEntry) -> None:
        """Journal one record; raises AuditUnavailableError if that is impossible. Call on the event loop."""
        if not self.config.enabled:
            return
        journal, writer = self._journal, self._writer
        if journal is None or writer is None:
            raise AuditUnavailableError("the audit log is not running; the call's answer is withheld")
        limit = self.config.redact.max_string_length
        request, request_text = self._redactor.payload_text(entry.request)
        response, response_text = self._redactor.payload_text(entry.response)
        seq = journal.head_seq + 1
        record = AuditRecord(
            id=self._new_id(),
            chain=journal.chain,
            seq=seq,
            ts=datetime.now(UTC),
            kind=bounded_text(entry.kind, 16) or "",
            method=bounded_text(entry.method, 64) or "",
            outcome=entry.outcome,
            error_code=None if entry.error_code is None else int(entry.error_code),
            error=bounded_text(entry.error, limit),
            agent=bounded_text(entry.agent, _NAME),
            team=bounded_text(entry.team, _NAME),
            key_id=bounded_text(entry.key_id, _NAME),
            server=bounded_text(entry.server, _NAME),
            target=bounded_text(entry.target, limit),
            upstream=bounded_text(entry.upstream, _NAME),
            latency_us=int(entry.latency_us),
            request_bytes=_size(entry.request, request, request_text, entry.request_bytes),
            response_bytes=_size(entry.response, response, response_text, entry.response_bytes),
            request=None,  # the payloads are encoded once, above, and written into the canonical text
            response=None,
            prev_hash=journal.head_hash,
        )
        canonical = canonical_of(record, request_text, response_text)
        hash_ = digest(canonical)
        line = journal_line(canonical, hash_)
        try:
            start, end = journal.append(line, seq, hash_)
        except OSError as exc:
            log.error("audit.journal_failed", extra={"chain": journal.chain, "error": str(exc)})
            raise AuditUnavailableError("the audit log cannot be written; the call's answer is withheld") from exc
        values = store.record_values(record, request_text, response_text)
        values["hash"] = hash_  # the record was built before its hash was known
        writer.notify(Pending(start, end, line, values))

    def _new_id(self) -> str:
        """16 random bytes as hex; the OS is asked for random bytes a few hundred ids at a time (one syscall)."""
        if not self._ids:
            drawn = os.urandom(16 * _IDS_PER_DRAW).hex()
            self._ids = [drawn[i : i + 32] for i in range(0, len(drawn), 32)]
        return self._ids.pop()

    async def flushed(self) -> None:
        """Return once the database holds every record journaled so far (for tests and tools)."""
        journal, writer = self._journal, self._writer
        if journal is not None and writer is not None:
            await writer.stored(journal.chain, journal.head_seq)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the journals (replaying what they hold), store records in the background until the block ends."""
        if not self.config.enabled:
            yield
            return
        try:
            journals = await anyio.to_thread.run_sync(
                ChainJournal.open_all, self.journal_dir, self.config.fsync, self.config.segment_bytes
            )
        except OSError as exc:
            raise ConfigError(
                f"audit.journal_dir: {self.journal_dir} cannot be used ({exc.strerror or exc});"
                " point it at a writable directory on persistent local disk"
            ) from exc
        writer = DatabaseWriter(journals, self._database, self.config)
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(writer.run)
                self._journal, self._writer = journals[0], writer
                log.info("audit.started", extra={"chain": journals[0].chain, "journal": str(self.journal_dir)})
                if self.config.retention_days is not None:
                    tg.start_soon(self._retain, timedelta(days=self.config.retention_days))
                try:
                    yield
                finally:
                    self._journal = None  # calls still finishing now are refused rather than left unrecorded
                    tg.cancel_scope.cancel()
        finally:
            self._journal = self._writer = None
            for journal in journals:
                journal.close()

    async def _retain(self, keep: timedelta) -> None:
        while True:
            try:
                deleted = await store.delete_before(self._database, datetime.now(UTC) - keep)
                if deleted:
                    log.info("audit.retention", extra={"deleted": deleted})
            except Exception as exc:  # a background loop: the database may be away; try again later
                log.warning("audit.retention_failed", extra={"error": type(exc).__name__})
            self.retained.set()
            self.retained = anyio.Event()
            await anyio.sleep(RETENTION_EVERY_S)


def _size(value: Any, redacted: Any, text: str, known: int | None) -> int:
    """A payload's size in bytes of compact JSON (0 for none), unless its caller knew it already.

    When redaction left the payload as it was (the same object), its canonical text is its compact
    encoding with the keys in another order: the same length, so no second encoding is needed.
    """
    if known is not None:
        return int(known)
    if value is None:
        return 0
    return len(text) if redacted is value else json_size(value)


def default_journal_dir(config: AuditConfig, storage_url: str) -> Path:
    """`audit.journal_dir`, else "audit" beside a SQLite database file, else data/audit."""
    if config.journal_dir is not None:
        return config.journal_dir
    try:
        url = make_url(storage_url)
    except Exception:  # the storage URL is checked (and reported) where the database is made
        return Path("data/audit")
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).parent / "audit"
    return Path("data/audit")
