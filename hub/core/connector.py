"""The seam between the hub and anything it forwards calls to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hub.core.catalog import Catalog
from hub.core.principal import Principal

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
ChangeListener = Callable[[str], None]
UpstreamState = Literal["idle", "starting", "ready", "down", "stopped"]  # idle: on demand, not yet wanted


class AgentPeer(Protocol):
    """The calling agent's side of one call: for what an upstream sends back while the call runs."""

    @property
    def can_request(self) -> bool:
        """Whether the agent's era and transport let it answer requests (elicitation, sampling, roots)."""
        ...

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]: ...

    async def log(self, params: Mapping[str, Any]) -> None:
        """Deliver a notifications/message from the upstream, on this call's own stream."""
        ...

    @property
    def session_key(self) -> Hashable:
        """Identifies the agent's session (the same for every call it makes)."""
        ...

    async def resource_updated(self, uri: str) -> None:
        """Tell the agent's session that a resource it subscribed to changed."""
        ...


Sampler = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]
"""Answers an upstream's sampling/createMessage params with a CreateMessageResult, through the hub's LLM layer."""


@dataclass(frozen=True, slots=True)
class CallContext:
    """Everything an outbound call needs to know about the call that caused it."""

    principal: Principal
    server: str
    deadline: float  # anyio.current_time() value after which the call is abandoned
    progress: ProgressFn | None = None
    peer: AgentPeer | None = None
    modern_agent: bool = False  # the agent speaks 2026-07-28 (no server-to-client requests)
    sampler: Sampler | None = None  # set when the virtual server answers sampling through the LLM layer


@dataclass(frozen=True, slots=True)
class UpstreamHealth:
    name: str
    state: UpstreamState
    detail: str = ""
    restarts: int = 0
    protocol_version: str | None = None


class Connector(Protocol):
    """An upstream, as the hub sees it. Implementations translate their own failures into HubErrors."""

    name: str
    call_timeout_s: float

    @property
    def catalog(self) -> Catalog | None:
        """The last catalog the upstream reported, or None while it is not ready."""
        ...

    @property
    def health(self) -> UpstreamHealth: ...

    def subscribe_changes(self, listener: ChangeListener) -> None:
        """`listener(upstream_name)` runs whenever the catalog changes or the upstream goes up or down."""
        ...

    async def request(self, method: str, params: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
        """Forward one request (tools/call, resources/read, prompts/get, ...) and return its wire result."""
        ...

    async def run(self) -> None:
        """Keep the upstream connected until cancelled (supervision, restarts, catalog refresh)."""
        ...

    async def ensure_started(self) -> None:
        """Start an on-demand upstream now; return once it is ready or failed (bounded by its connect timeout)."""
        ...
