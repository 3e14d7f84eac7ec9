"""What the admin API answers (and the few bodies that are not config models).

Config is returned as the config model's data with every secret (each `SecretStr`: upstream `env`
and `headers` values, `auth` tokens, passwords and client secrets) read as "***"; sending "***"
back in a PUT keeps the stored value.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeFloat, field_serializer

from hub.config.dump import to_data
from hub.config.model import AgentConfig, TeamConfig, UpstreamConfig, VirtualServerConfig
from hub.core.connector import UpstreamState

Source = Literal["config", "admin"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HealthOut(_Out):
    name: str
    state: UpstreamState
    detail: str = ""
    restarts: int = 0
    protocol_version: str | None = None


class _ItemOut(_Out):
    name: str
    source: Source = Field(description="who owns the item: the config file (re-seeded at start) or the admin API")
    created_at: datetime
    updated_at: datetime


class UpstreamOut(_ItemOut):
    config: UpstreamConfig
    health: HealthOut

    @field_serializer("config")
    def _masked(self, config: UpstreamConfig) -> dict[str, Any]:
        return to_data(config, secrets="mask")


class VirtualServerOut(_ItemOut):
    config: VirtualServerConfig

    @field_serializer("config")
    def _masked(self, config: VirtualServerConfig) -> dict[str, Any]:
        return to_data(config, secrets="mask")


class AgentOut(_ItemOut):
    config: AgentConfig = Field(description="the agent; its keys are managed under /admin/agents/{name}/keys")

    @field_serializer("config")
    def _masked(self, config: AgentConfig) -> dict[str, Any]:
        return to_data(config, secrets="mask")


class TeamOut(_ItemOut):
    config: TeamConfig

    @field_serializer("config")
    def _masked(self, config: TeamConfig) -> dict[str, Any]:
        return to_data(config, secrets="mask")


class KeyOut(_Out):
    agent: str
    key_id: str = Field(description="the key's public id: its first characters")
    source: Source
    state: Literal["active", "expired", "revoked"]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class NewKeyOut(KeyOut):
    key: str = Field(description="the key itself: shown in this response only, never again")


class KeyCreate(_In):
    expires_at: AwareDatetime | None = None


class KeyRotate(_In):
    overlap_s: NonNegativeFloat = Field(
        3600.0, description="seconds the old key keeps working beside the new one (0: stops at once)"
    )
    expires_at: AwareDatetime | None = Field(None, description="when the new key expires (default: never)")


class KeyRotated(_Out):
    key: NewKeyOut
    previous: KeyOut


class FieldError(_Out):
    loc: str
    message: str


class ErrorDetail(_Out):
    code: int
    message: str
    errors: list[FieldError] | None = None


class ErrorOut(_Out):
    error: ErrorDetail
