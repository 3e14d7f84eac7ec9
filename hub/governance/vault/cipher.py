"""The vault's cipher: Fernet tokens (AES-128-CBC + HMAC-SHA256) under a primary key and older keys.

New secrets are encrypted with the primary key; a token made with any configured key decrypts, so
the hub keeps serving while `hub vault rotate` re-encrypts the stored secrets with a new primary.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hub.errors import ConfigError


class Vault:
    def __init__(self, keys: Sequence[bytes]) -> None:
        """`keys[0]` is the primary key; the others only decrypt."""
        if not keys:
            raise ValueError("a vault needs at least one key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The plaintext; ConfigError if no configured key made `token` (or it was altered)."""
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise _undecryptable() from exc

    def reencrypt(self, token: str) -> str:
        """`token`'s plaintext encrypted again with the primary key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise _undecryptable() from exc


def generate_key() -> str:
    """A new random vault key, as `vault.key` and key files hold it."""
    return Fernet.generate_key().decode("ascii")


def _undecryptable() -> ConfigError:
    return ConfigError(
        "a stored secret cannot be decrypted with any configured vault key; give the key it was made with"
        " in vault.key or vault.previous_keys"
    )
