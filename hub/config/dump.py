"""Config models back to plain JSON data, with secrets revealed (for storage) or masked (for display)."""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, SecretStr

MASK = "***"
"""What a secret reads as wherever config is shown (admin API responses)."""

SecretMode = Literal["reveal", "mask"]


def to_data(model: BaseModel, secrets: SecretMode) -> dict[str, Any]:
    """`model` as JSON-ready data; every `SecretStr` becomes its value ("reveal") or `MASK` ("mask")."""
    data = _plain(model.model_dump(mode="python"), secrets)
    assert isinstance(data, dict)
    return data


def _plain(value: object, secrets: SecretMode) -> object:
    if isinstance(value, SecretStr):
        return value.get_secret_value() if secrets == "reveal" else MASK
    if isinstance(value, dict):
        return {str(k): _plain(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, secrets) for v in value]
    if isinstance(value, PurePath):
        return str(value)
    return value
