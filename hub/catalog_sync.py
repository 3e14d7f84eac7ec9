"""Keeps this replica's live catalog in step with the database that every replica writes.

Every catalog write (admin API, seeding) bumps the catalog version in its own transaction. Each
hub polls that version every `storage.sync_interval_s` (one single-row read) and, when it moved,
reloads the whole snapshot (upstreams, virtual servers, teams, agents, keys, limits) and applies it. So a
key revoked on one replica is refused by every other within one interval plus one reload.

With `storage.redis_url` set, a replica that wrote a change also publishes a notice on Redis, and
the others poll at once on hearing it (`hub/storage/redis_changes.py`); polling stays the net.

Reloads and this replica's own admin writes hold the same lock, so they apply in the order they
were stored and an older snapshot never overwrites a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from hub.live import LiveCatalog
from hub.storage.catalog_version import read_version
from hub.storage.engine import Database
from hub.storage.repositories import load_snapshot

log = logging.getLogger(__name__)


class ChangeNotices(Protocol):
    """A channel on which replicas tell each other that the catalog changed."""

    async def publish(self, version: int) -> None: ...

    async def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` on every notice, until cancelled."""
        ...


class CatalogSync:
    def __init__(
        self, database: Database, live: LiveCatalog, interval_s: float, notices: ChangeNotices | None = None
    ) -> None:
        self._database = database
        self._live = live
        self._interval_s = interval_s
        self._notices = notices
        self._woken = anyio.Event()
        self.lock = anyio.Lock()  # held by admin writes (stored, then applied) and by reloads
        self._applied = -1  # the catalog version the live catalog shows
        self._failing = False

    async def load(self) -> None:
        """Apply the database's current snapshot, and remember its version."""
        async with self.lock:
            await self._load_locked()

    async def wrote(self, version: int) -> None:
        """This replica stored change `version` and applies it itself (call with the lock held)."""
        if version == self._applied + 1:  # nothing from elsewhere in between: no reload needed
            self._applied = version
        if self._notices is not None:
            await self._notices.publish(version)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Poll the version until cancelled; reload when it moves. A failing database is logged, not fatal."""
        async with anyio.create_task_group() as tg:
            if self._notices is not None:
                tg.start_soon(self._notices.listen, self._wake)
            task_status.started()
            while True:
                with anyio.move_on_after(self._interval_s):
                    await self._woken.wait()
                self._woken = anyio.Event()
                await self._poll_logged()

    def _wake(self) -> None:
        self._woken.set()

    async def _poll_logged(self) -> None:
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
