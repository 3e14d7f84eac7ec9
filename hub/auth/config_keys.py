"""Agent keys declared in the config file, as key records (digest, public id, expiry)."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.auth.api_keys import StoredKey, digest, key_id
from hub.config.model import AgentConfig, AgentKeyConfig
from hub.errors import ConfigError


def keys_from_config(agents: tuple[AgentConfig, ...]) -> list[StoredKey]:
    """Every key the config gives its agents; plaintext keys are hashed here and not kept."""
    keys: list[StoredKey] = []
    for i, agent in enumerate(agents):
        for j, key in enumerate(agent.keys):
            keys.append(_stored(agent.name, key, f"agents[{i}].keys[{j}]"))
    return keys


def _stored(agent: str, key: AgentKeyConfig, where: str) -> StoredKey:
    expires_at = _expiry(key.expires_at, where)
    if key.key is not None:
        plain = key.key.get_secret_value()
        return StoredKey(agent, key_id(plain), digest(plain), expires_at)
    assert key.sha256 is not None  # the model requires exactly one of the two
    return StoredKey(agent, "sha256:" + key.sha256[:8], key.sha256, expires_at)


def _expiry(value: str | None, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{where}.expires_at: {value!r} is not an ISO 8601 date-time") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
