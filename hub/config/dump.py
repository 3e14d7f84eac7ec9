"""Config models back to plain JSON data, with secrets revealed (for storage) or masked (for display)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

MASK = "***"
"""What a secret reads as wherever config is shown (admin API responses)."""

SecretMode = Literal["reveal", "mask"] | Callable[[str], object]
"""How a `SecretStr` is written: its value, `MASK`, or whatever the function makes of its value."""

Path = tuple[str | int, ...]
"""Where a value sits in a model's data: keys and list indexes from the root."""


def to_data(model: BaseModel, secrets: SecretMode) -> dict[str, Any]:
    """`model` as JSON-ready data; every `SecretStr` becomes its value ("reveal"), `MASK`, or `secrets(value)`."""
    if secrets == "reveal":
        secrets = _reveal
    elif secrets == "mask":
        secrets = _mask
    data = _plain(model.model_dump(mode="python"), secrets)
    assert isinstance(data, dict)
    return data


def secrets_of(model: BaseModel) -> dict[Path, str]:
    """Every secret in `model`, by where it sits in the model's data."""
    found: dict[Path, str] = {}
    _walk_secrets(model.model_dump(mode="python"), (), found)
    return found


def _reveal(value: str) -> object:
    return value


def _mask(value: str) -> object:
    return MASK


def _plain(value: object, secrets: Callable[[str], object]) -> object:
    if isinstance(value, SecretStr):
        return secrets(value.get_secret_value())
    if isinstance(value, dict):
        return {str(k): _plain(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, secrets) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value


def _walk_secrets(value: object, path: Path, found: dict[Path, str]) -> None:
    if isinstance(value, SecretStr):
        found[path] = value.get_secret_value()
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk_secrets(v, (*path, str(k)), found)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _walk_secrets(v, (*path, i), found)
