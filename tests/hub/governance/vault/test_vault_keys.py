"""Where the vault key comes from: vault.key, a key file, or a key file made beside a SQLite database."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from hub.config.model import HubConfig, VaultConfig
from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault, generate_key
from hub.governance.vault.keys import open_vault
from hub.storage.engine import async_url


def sqlite(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'hub.db'}"


def test_without_a_key_a_key_file_is_made_beside_the_sqlite_database_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hub.governance.vault.keys")
    first = open_vault(VaultConfig(), async_url(sqlite(tmp_path)))
    key_file = tmp_path / "db" / "vault.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = first.encrypt("x")
    again = open_vault(VaultConfig(), async_url(sqlite(tmp_path)))
    assert again.decrypt(token) == "x"  # the same key, read back
    assert [r.getMessage() for r in caplog.records].count("vault.key_created") == 1
    key = key_file.read_text().strip()
    assert key not in caplog.text


def test_an_explicit_key_and_previous_keys_are_used(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    token = Vault([old.encode()]).encrypt("x")
    config = VaultConfig.model_validate({"key": new, "previous_keys": [old]})
    vault = open_vault(config, async_url(sqlite(tmp_path)))
    assert vault.decrypt(token) == "x"
    assert Vault([new.encode()]).decrypt(vault.encrypt("y")) == "y"
    assert not (tmp_path / "db" / "vault.key").exists()


def test_a_named_key_file_is_created_or_read(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "hub.key"
    made = open_vault(VaultConfig(key_file=path), async_url(sqlite(tmp_path)))
    assert Vault([path.read_text().strip().encode()]).decrypt(made.encrypt("x")) == "x"
    path.write_text("not a key\n")
    with pytest.raises(ConfigError, match="does not hold a vault key"):
        open_vault(VaultConfig(key_file=path), async_url(sqlite(tmp_path)))


def test_a_readable_key_file_is_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "hub.key"
    path.write_text(generate_key() + "\n")
    path.chmod(0o644)
    open_vault(VaultConfig(key_file=path), async_url(sqlite(tmp_path)))
    assert "vault.key_file_readable" in [r.getMessage() for r in caplog.records]


def test_bad_keys_and_a_server_database_without_a_key_are_config_errors() -> None:
    with pytest.raises(ValueError, match=r"key: not a vault key .*hub vault keygen"):
        VaultConfig.model_validate({"key": "short"})
    with pytest.raises(ValueError, match=r"previous_keys\[1\]: not a vault key"):
        VaultConfig.model_validate({"key": generate_key(), "previous_keys": [generate_key(), "x" * 44]})
    with pytest.raises(ValueError, match="not both"):
        VaultConfig.model_validate({"key": generate_key(), "key_file": "/tmp/k"})
    with pytest.raises(ValueError, match="vault: set key"):
        HubConfig.model_validate({"storage": {"url": "postgresql+psycopg://postgres@127.0.0.1/test"}})
    HubConfig.model_validate({"storage": {"url": "postgresql://h/db"}, "vault": {"key": generate_key()}})
