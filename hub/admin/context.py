"""What every admin route needs: the database, the running hub's catalog, the token, the write lock."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from hub.admin.auth import AdminCredentials
from hub.live import LiveCatalog
from hub.storage.engine import Database
from hub.storage.repositories import all_keys


@dataclass
class AdminContext:
    database: Database
    live: LiveCatalog
    admins: AdminCredentials
    # Writes run one at a time, so a cross-reference checked in the database still holds when the
    # running hub applies the change, and the hub applies changes in the order they were stored.
    writes: anyio.Lock = field(default_factory=anyio.Lock)

    async def reload_keys(self) -> None:
        """Hand the running hub every key that is not revoked (expiry is checked per request)."""
        async with self.database.transaction() as session:
            keys = await all_keys(session)
        self.live.set_keys(k.stored() for k in keys if k.revoked_at is None)
