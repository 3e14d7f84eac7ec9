"""Hub API keys: generated, shown once, stored as SHA-256 digests, looked up in one dict read.

Keys are 32 random bytes, so a fast digest is as strong as a slow one here: nobody can guess a
preimage, and the lookup stays off the hot path's budget. The first characters after the `hub_`
tag are the key's public id, shown in listings and the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

KEY_PREFIX = "hub_"


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id(key: str) -> str:
    """The public, non-secret identifier of a key: its tag and first 8 characters."""
    return key[: len(KEY_PREFIX) + 8]


@dataclass(frozen=True, slots=True)
class StoredKey:
    agent: str
    key_id: str
    sha256: str
    expires_at: datetime | None = None
    revoked: bool = False

    def usable(self, now: datetime | None = None) -> bool:
        if self.revoked:
            return False
        return self.expires_at is None or self.expires_at > (now or datetime.now(UTC))


class KeyRing:
    """Digest → key record. Replaced wholesale on change, so readers never see half an update."""

    def __init__(self, keys: list[StoredKey] | None = None) -> None:
        self._by_digest = {k.sha256: k for k in keys or []}

    def replace(self, keys: list[StoredKey]) -> None:
        self._by_digest = {k.sha256: k for k in keys}

    def match(self, presented: str) -> StoredKey | None:
        hashed = digest(presented)
        record = self._by_digest.get(hashed)
        if record is None or not hmac.compare_digest(record.sha256, hashed) or not record.usable():
            return None
        return record
