"""`hub vault rotate`: encrypt every stored secret again with the primary key, in one transaction.

The procedure (docs/security.md): make a new key, configure it as `vault.key` with the old one in
`vault.previous_keys`, restart, run this, then drop the old key. Until this has run, old keys
still decrypt, so the hub serves throughout. Secrets stored before the vault existed (plaintext)
are encrypted too. If any secret cannot be decrypted, nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.config.model import HubConfig
from hub.storage.engine import open_database
from hub.storage.migrate import upgrade
from hub.storage.repositories import CATALOG


@dataclass(frozen=True, slots=True)
class Rotated:
    rows: int  # catalog rows rewritten
    secrets: int  # secrets in them, now under the primary key


async def rotate(config: HubConfig) -> Rotated:
    database = open_database(config)
    try:
        await upgrade(database)
        rows = secrets = 0
        async with database.transaction() as session:
            for repo in CATALOG:
                r, s = await repo.reseal_all(session)
                rows, secrets = rows + r, secrets + s
        return Rotated(rows, secrets)
    finally:
        await database.dispose()
