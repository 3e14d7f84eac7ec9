"""Config data with every secret sealed: a `SecretStr` is stored as `{"$enc": "<Fernet token>"}`.

Sealing is generic: whatever `SecretStr` fields a config model has (today's and tomorrow's upstream
kinds alike) are encrypted, and nothing else. Opening turns the markers back into plain strings,
which the config model validates into `SecretStr` again. The one-key object `{"$enc": ...}` is
therefore reserved and refused in plain config values.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from hub.config.dump import to_data
from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault

MARKER = "$enc"


def seal(model: BaseModel, vault: Vault | None) -> dict[str, Any]:
    """`model` as data, each secret encrypted; ConfigError if it has secrets and there is no vault."""
    _refuse_markers(to_data(model, secrets="mask"))

    def encrypt(value: str) -> object:
        if vault is None:
            raise ConfigError("there is no vault key to encrypt secrets with")
        return {MARKER: vault.encrypt(value)}

    return to_data(model, secrets=encrypt)


def unseal(data: object, vault: Vault | None) -> Any:
    """`data` with each sealed secret decrypted (secrets stored before the vault existed pass as they are)."""
    if _is_sealed(data):
        if vault is None:
            raise ConfigError("a stored secret is encrypted, and there is no vault key to decrypt it")
        return vault.decrypt(data[MARKER])  # type: ignore[index]  # _is_sealed checked the shape
    if isinstance(data, dict):
        return {k: unseal(v, vault) for k, v in data.items()}
    if isinstance(data, list):
        return [unseal(v, vault) for v in data]
    return data


def sealed_count(data: object) -> int:
    """How many sealed secrets `data` holds."""
    if _is_sealed(data):
        return 1
    if isinstance(data, dict):
        return sum(sealed_count(v) for v in data.values())
    if isinstance(data, list):
        return sum(sealed_count(v) for v in data)
    return 0


def _is_sealed(data: object) -> bool:
    return isinstance(data, dict) and len(data) == 1 and isinstance(data.get(MARKER), str)


def _refuse_markers(data: object) -> None:
    if isinstance(data, dict):
        if MARKER in data:
            raise ConfigError(f"{MARKER!r} is reserved for encrypted secrets and cannot be a key in config values")
        for v in data.values():
            _refuse_markers(v)
    elif isinstance(data, list):
        for v in data:
            _refuse_markers(v)
