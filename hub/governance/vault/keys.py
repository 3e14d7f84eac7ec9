"""Where the vault's keys come from: `vault.key`, a key file, or a key file made beside a SQLite database.

A key file is created once, with mode 0600, and read on every later start. Losing it loses every
stored upstream credential (they must then be entered again), so back it up apart from the database.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy import URL

from hub.config.model import VaultConfig, is_vault_key
from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault, generate_key

log = logging.getLogger(__name__)

DEFAULT_KEY_FILE = "vault.key"
"""The file made beside a SQLite database when no key is configured."""


def open_vault(config: VaultConfig, storage: URL) -> Vault:
    """The vault `config` describes, for the database at `storage`."""
    if config.key is not None:
        primary = config.key.get_secret_value()
    else:
        key_file = config.key_file or default_key_file(storage)
        # No file for an in-memory SQLite database: its key lives exactly as long as its data.
        primary = generate_key() if key_file is None else read_or_create_key_file(key_file)
    keys = [primary, *(k.get_secret_value() for k in config.previous_keys)]
    return Vault([k.encode("ascii") for k in keys])


def default_key_file(storage: URL) -> Path | None:
    """`vault.key` beside a SQLite file; None for an in-memory database (the config model demands a key otherwise)."""
    if storage.get_backend_name() != "sqlite" or storage.database in (None, "", ":memory:"):
        return None
    return Path(storage.database).parent / DEFAULT_KEY_FILE


def read_or_create_key_file(path: Path) -> str:
    """The key in `path`; a new one if the file does not exist yet (mode 0600, logged once)."""
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key_file(path)
    except OSError as exc:
        raise ConfigError(f"vault: cannot create the key file {str(path)!r} ({exc.strerror})") from exc
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
    log.info("vault.key_created", extra={"path": str(path), "hint": "back it up apart from the database"})
    return key


def _read_key_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"vault: cannot read the key file {str(path)!r} ({exc})") from exc
    if not is_vault_key(text):
        raise ConfigError(f"vault: {str(path)!r} does not hold a vault key; make one with `hub vault keygen`")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("vault.key_file_readable", extra={"path": str(path), "hint": "chmod 600 it"})
    return text
