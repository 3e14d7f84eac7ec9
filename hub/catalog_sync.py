"""Keeps this replica's live catalog in step with the database that every replica writes.

Every catalog write (admin API, seeding) bumps the catalog version in its own transaction. Each
hub polls that version every `storage.sync_interval_s` (one single-row read) and, when it moved,
reloads the whole snapshot (upstreams, virtual servers, teams, agents, keys, limits) and applies it. So a
key revoked on one replica is refused by every other within one interval plus one reload.

Reloads and this replica's own admin writes hold the same lock, so they apply in the order they
were stored and an older snapshot never overwrites a newer one.
"""

from __future__ import annotations

import logging

import anyio
from anyio.abc import TaskStatus

from hub.live import LiveCatalog
from hub.storage.catalog_version import read_version
from hub.storage.engine import Database
from hub.storage.repositories import load_snapshot

log = logging.getLogger(__name__)


class CatalogSync:
    def __init__(self, database: Database, live: LiveCatalog, interval_s: float) -> None:
        self._database = database
        self._live = live
        self._interval_s = interval_s
        self.lock = anyio.Lock()  # held by admin writes (stored, then applied) and by reloads
        self._applied = -1  # the catalog version the live catalog shows
        self._failing = False

    async def load(self) -> None:
        """Apply the database's current snapshot, and remember its version."""
        async with self.lock:
            await self._load_locked()

    def wrote(self, version: int) -> None:
        """This replica stored change `version` and applied it itself (call with the lock held)."""
        if version == self._applied + 1:  # nothing from elsewhere in between: no reload needed
            self._applied = version

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Poll the version until cancelled; reload when it moves. A failing database is logged, not fatal."""
        task_status.started()
        while True:
            await anyio.sleep(self._interval_s)
            try:
                await self._poll()
            except Exception as exc:  # a background loop: the database may be away for a while
                if not self._failing:
                    log.warning("catalog.sync_failed", extra={"error": str(exc)[:200]})
                self._failing = True
            else:
                if self._failing:
                    log.info("catalog.sync_recovered")
                self._failing = False

    async def _poll(self) -> None:
        async with self._database.transaction() as session:
            version = await read_version(session)
        if version == self._applied:
            return
        async with self.lock:
            await self._load_locked()

    async def _load_locked(self) -> None:
        async with self._database.transaction() as session:
            version = await read_version(session)  # first: the snapshot is at least this new
            snapshot = await load_snapshot(session)
        self._live.load(snapshot)
        if version != self._applied:
            log.info("catalog.reloaded", extra={"version": version})
        self._applied = version
