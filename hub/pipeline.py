"""The one place a call walks the path: grant → virtual server → limits → connector → audit, metrics.

Transports hand over a Principal, a virtual server name, an MCP method and its wire params; the
pipeline answers with a wire result or raises a HubError. It never names a transport or a concrete
connector.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import anyio

from hub.core.catalog import ItemKind, WireItem
from hub.core.connector import AgentPeer, CallContext, Connector, ProgressFn, Sampler
from hub.core.principal import Grant, Principal
from hub.errors import AuditUnavailableError, InvalidParamsError, NotFoundError, UpstreamUnavailableError
from hub.governance.audit import AuditEntry, Auditor
from hub.governance.audit.mcp_requests import LIST_METHODS, list_entry, mcp_entry, outcome_of
from hub.governance.audit.record import Outcome
from hub.governance.limits import Limits
from hub.virtual.registry import Registry
from hub.virtual.view import Exposed, View

log = logging.getLogger(__name__)

T = TypeVar("T")


class CallObserver(Protocol):
    """Told how every request the pipeline takes ended, and how long it took (hub/observability/mcp_metrics.py)."""

    def finished(self, principal: Principal, server: str, method: str, outcome: Outcome, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Caller:
    """The agent-side facts a call carries through the pipeline."""

    principal: Principal
    server: str
    progress: ProgressFn | None = None
    peer: AgentPeer | None = None
    modern: bool = False


@dataclass(slots=True)
class _Route:
    upstream: str | None = None  # known once the call is routed


class Pipeline:
    def __init__(
        self,
        registry: Registry,
        connectors: Mapping[str, Connector],
        limits: Limits | None = None,
        audit: Auditor | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self._registry = registry
        self._connectors = connectors
        self._limits = limits
        self._audit = audit if audit is not None and audit.enabled else None
        self._observer = observer
        # Answers upstreams' sampling for a (principal, virtual server), or None; set by the app (hub/llm/sampling.py).
        self.sampling: Callable[[Principal, str], Sampler | None] | None = None

    def registry_has(self, server: str) -> bool:
        return self._registry.view(server) is not None

    def description(self, server: str) -> str:
        view = self._registry.view(server)
        return view.description if view is not None else ""

    def exposed_tool(self, server: str, name: str) -> WireItem | None:
        """A tool as the virtual server lists it, whoever asks (for transport-level checks only)."""
        view = self._registry.view(server)
        exposed = view.tools.get(name) if view is not None else None
        return exposed.item if exposed is not None else None

    def open(self, principal: Principal, server: str) -> tuple[View, Grant]:
        """The view an agent may use. Not granted and not existing read the same."""
        grant = principal.grant_for(server)
        view = self._registry.view(server) if grant is not None else None
        if view is None or grant is None:
            raise NotFoundError(f"virtual server {server!r} not found")
        return view, grant

    async def list_items(self, principal: Principal, server: str, kind: ItemKind) -> list[WireItem]:
        listed = self._audited_list(principal, server, kind)
        if self._observer is None:
            return await listed
        return await self._observed(principal, server, LIST_METHODS[kind], listed)

    async def _audited_list(self, principal: Principal, server: str, kind: ItemKind) -> list[WireItem]:
        if self._audit is None:
            return await self._list_items(principal, server, kind)
        started = time.perf_counter()
        try:
            items = await self._list_items(principal, server, kind)
        except BaseException as exc:
            self._record_failure(list_entry(principal, server, LIST_METHODS[kind], started, error=exc), exc)
            raise
        self._audit.record(list_entry(principal, server, LIST_METHODS[kind], started, items))
        return items

    async def _list_items(self, principal: Principal, server: str, kind: ItemKind) -> list[WireItem]:
        view, grant = await self._open_started(principal, server)
        if kind == "tool":
            return [e.item for name, e in view.tools.items() if grant.allows_tool(name)]
        if kind == "prompt":
            return [e.item for e in view.prompts.values()]
        if kind == "resource":
            return [e.item for e in view.resources.values()]
        return [e.item for e in view.templates]

    async def _open_started(self, principal: Principal, server: str) -> tuple[View, Grant]:
        """`open`, after starting any on-demand upstream the view includes that is still idle."""
        view, grant = self.open(principal, server)
        idle = [c for name in view.unavailable if (c := self._connectors.get(name)) and c.health.state == "idle"]
        if not idle:
            return view, grant
        async with anyio.create_task_group() as tg:
            for connector in idle:
                tg.start_soon(connector.ensure_started)
        return self.open(principal, server)

    async def forward(self, caller: Caller, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Forward one request; with the audit log on, its record is journaled before the answer is returned."""
        forwarded = self._audited_forward(caller, method, params)
        if self._observer is None:
            return await forwarded
        return await self._observed(caller.principal, caller.server, method, forwarded)

    async def _observed(self, principal: Principal, server: str, method: str, request: Awaitable[T]) -> T:
        """`request`'s answer, its outcome and duration told to the observer (a failed audit record included)."""
        assert self._observer is not None
        started = time.perf_counter()
        outcome: Outcome = "error"
        try:
            answer = await request
            outcome = outcome_of(answer if isinstance(answer, Mapping) else None, None)
            return answer
        except BaseException as exc:
            outcome = outcome_of(None, exc)
            raise
        finally:
            self._observer.finished(principal, server, method, outcome, time.perf_counter() - started)

    async def _audited_forward(self, caller: Caller, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        route = _Route()
        if self._audit is None:
            return await self._forward(caller, method, params, route)
        started = time.perf_counter()
        try:
            result = await self._forward(caller, method, params, route)
        except BaseException as exc:
            entry = mcp_entry(
                caller.principal, caller.server, method, params, started, upstream=route.upstream, error=exc
            )
            self._record_failure(entry, exc)
            raise
        entry = mcp_entry(
            caller.principal, caller.server, method, params, started, upstream=route.upstream, result=result
        )
        self._audit.record(entry)
        return result

    def _record_failure(self, entry: AuditEntry, exc: BaseException) -> None:
        """Journal a failed call; a journal failure replaces the call's error, never a cancellation."""
        assert self._audit is not None
        try:
            self._audit.record(entry)
        except AuditUnavailableError:
            if isinstance(exc, Exception):
                raise

    async def _forward(self, caller: Caller, method: str, params: Mapping[str, Any], route: _Route) -> dict[str, Any]:
        view, grant = await self._open_started(caller.principal, caller.server)
        target, upstream_params = _route(view, grant, method, params)
        route.upstream = target.upstream
        connector = self._connectors.get(target.upstream)
        if connector is None:
            raise NotFoundError(_not_found_message(method, params))
        ctx = CallContext(
            principal=caller.principal,
            server=caller.server,
            deadline=anyio.current_time() + connector.call_timeout_s,
            progress=caller.progress,
            peer=caller.peer,
            modern_agent=caller.modern,
            sampler=self.sampling(caller.principal, caller.server) if self.sampling is not None else None,
        )
        if self._limits is None:
            return await connector.request(method, upstream_params, ctx)
        tool = str(params.get("name", "")) if method == "tools/call" else ""
        async with self._limits.admit(caller.principal, caller.server, tool):
            return await connector.request(method, upstream_params, ctx)


def _route(view: View, grant: Grant, method: str, params: Mapping[str, Any]) -> tuple[Exposed, dict[str, Any]]:
    """Find the exposed item a request names and rewrite its params to the upstream's names."""
    out = dict(params)
    target: Exposed | None = None
    if method == "tools/call":
        name = str(params.get("name", ""))
        target = view.tools.get(name) if grant.allows_tool(name) else None
        if target is not None:
            out["name"] = target.original
    elif method == "prompts/get":
        target = view.prompts.get(str(params.get("name", "")))
        if target is not None:
            out["name"] = target.original
    elif method in ("resources/read", "resources/subscribe", "resources/unsubscribe"):
        target = view.resolve_resource(str(params.get("uri", "")))
    elif method == "completion/complete":
        target, out["ref"] = _route_completion(view, params.get("ref"))
    else:
        raise InvalidParamsError(f"method {method!r} is not forwarded")
    if target is None:
        offline = view.offline_tools.get(str(params.get("name", ""))) if method == "tools/call" else None
        if offline is not None and grant.allows_tool(str(params.get("name", ""))):
            raise UpstreamUnavailableError(
                f"upstream {offline!r} is not available right now; try again shortly", upstream=offline
            )
        raise NotFoundError(_not_found_message(method, params))
    return target, out


def _route_completion(view: View, ref: Any) -> tuple[Exposed | None, Any]:
    if not isinstance(ref, Mapping):
        raise InvalidParamsError("completion/complete needs params.ref")
    if ref.get("type") == "ref/prompt":
        target = view.prompts.get(str(ref.get("name", "")))
        return target, ({**ref, "name": target.original} if target else ref)
    uri = str(ref.get("uri", ""))
    for template in view.templates:
        if template.original == uri:
            return template, ref
    return view.resources.get(uri), ref


def _not_found_message(method: str, params: Mapping[str, Any]) -> str:
    if method == "tools/call":
        return f"Unknown tool: {params.get('name')}"
    if method == "prompts/get":
        return f"Unknown prompt: {params.get('name')}"
    if method == "completion/complete":
        return "Unknown completion reference"
    return f"Unknown resource: {params.get('uri')}"
