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
from hub.config.model import AgentConfig, LimitConfig, TeamConfig, UpstreamConfig, VirtualServerConfig
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


class LimitOut(_ItemOut):
    config: LimitConfig


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


class AuditExportQuery(_In):
    """Filters on audit records; every one given must match."""

    agent: str | None = None
    server: str | None = Field(None, description="virtual server")
    tool: str | None = Field(None, description="a tools/call of this (exposed) tool name")
    target: str | None = Field(None, description="tool, resource URI, prompt, model... of any method")
    method: str | None = Field(None, description="e.g. tools/call, tools/list, http/POST (refused at the edge)")
    kind: str | None = Field(None, description="mcp, llm or a2a")
    outcome: Literal["ok", "tool_error", "error", "cancelled"] | None = None
    error_code: int | None = Field(None, description="the JSON-RPC code of an error, e.g. -32007 (rate limited)")
    since: AwareDatetime | None = Field(None, description="ISO 8601 with a zone; inclusive")
    until: AwareDatetime | None = Field(None, description="ISO 8601 with a zone; exclusive")


class AuditQuery(AuditExportQuery):
    cursor: str | None = Field(None, description="`next_cursor` of the previous page")
    limit: int = Field(100, ge=1, le=1000)


class AuditRecordOut(_Out):
    id: str
    chain: str = Field(description="the hash chain (one per hub process) the record belongs to")
    seq: int = Field(description="the record's place in its chain")
    ts: datetime = Field(description="when the call was answered")
    kind: str
    method: str
    outcome: str
    error_code: int | None
    error: str | None
    agent: str | None
    team: str | None
    key_id: str | None
    server: str | None
    target: str | None
    upstream: str | None
    latency_us: int
    request_bytes: int
    response_bytes: int
    request: Any = Field(description="the arguments, redacted")
    response: Any = Field(description="the result, redacted")
    prev_hash: str
    hash: str


class AuditPageOut(_Out):
    records: list[AuditRecordOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next (older) page; null: no more")
