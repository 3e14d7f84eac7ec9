"""What every admin route needs: the database, the running hub's catalog, the token, the write lock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from hub.admin.auth import AdminCredentials
from hub.catalog_sync import CatalogSync
from hub.live import LiveCatalog
from hub.storage.catalog_version import bump_version
from hub.storage.engine import Database
from hub.storage.repositories import all_keys


@dataclass
class AdminContext:
    database: Database
    live: LiveCatalog
    admins: AdminCredentials
    # Writes run one at a time (and never beside a reload of another replica's changes), so a
    # cross-reference checked in the database still holds when the running hub applies the change,
    # and the hub applies changes in the order they were stored.
    sync: CatalogSync

    @property
    def writes(self) -> anyio.Lock:
        return self.sync.lock

    @asynccontextmanager
    async def change(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that bumps the catalog version, so other replicas reload. Hold `writes`."""
        async with self.database.transaction() as session:
            yield session
            version = await bump_version(session)
        await self.sync.wrote(version)

    async def reload_keys(self) -> None:
        """Hand the running hub every key that is not revoked (expiry is checked per request)."""
        async with self.database.transaction() as session:
            keys = await all_keys(session)
        self.live.set_keys(k.stored() for k in keys if k.revoked_at is None)
