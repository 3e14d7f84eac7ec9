"""Agent keys declared in the config file, as key records (digest, public id, expiry)."""

from __future__ import annotations

from datetime import UTC

from hub.auth.api_keys import StoredKey, digest, key_id
from hub.config.model import AgentConfig, AgentKeyConfig


def keys_from_config(agents: tuple[AgentConfig, ...]) -> list[StoredKey]:
    """Every key the config gives its agents; plaintext keys are hashed here and not kept."""
    return [_stored(agent.name, key) for agent in agents for key in agent.keys]


def _stored(agent: str, key: AgentKeyConfig) -> StoredKey:
    expires_at = key.expires_at.astimezone(UTC) if key.expires_at is not None else None
    if key.key is not None:
        plain = key.key.get_secret_value()
        return StoredKey(agent, key_id(plain), digest(plain), expires_at)
    assert key.sha256 is not None  # the model requires exactly one of the two
    return StoredKey(agent, "sha256:" + key.sha256[:8], key.sha256, expires_at)
