"""A virtual server, spoken as an MCP server through the official SDK's low-level Server.

One SDK Server per virtual server; every transport (Streamable HTTP of both eras, legacy SSE,
stdio) drives the same handlers. Handlers read the authenticated Principal the edge left in the
ASGI scope (or the fixed one of a local stdio session) and hand the call to the pipeline.
"""

from __future__ import annotations

import logging
import warnings
import weakref
from collections.abc import Hashable, Mapping
from contextvars import ContextVar
from typing import Any

import anyio
import mcp_types as types
from mcp.server import NotificationOptions, Server, ServerRequestContext
from mcp.server.caching import CACHEABLE_METHODS, CacheableMethod, CacheHint
from mcp.server.connection import Connection
from mcp.server.session import ServerSession
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.message import ServerMessageMetadata
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from opentelemetry import trace
from pydantic import BaseModel

from hub.core.catalog import ItemKind
from hub.core.principal import Principal
from hub.errors import AuthenticationError
from hub.pipeline import Caller, Pipeline
from hub.transports.mcp_errors import as_mcp_error
from hub.transports.request_audit import mark_audited

log = logging.getLogger(__name__)

PRINCIPAL_SCOPE_KEY = "hub.principal"
# The caller of the HTTP request being handled, for SDK hooks that run in that request's task.
CALLER: ContextVar[Principal | None] = ContextVar("hub_caller", default=None)
_RESERVED_META = ("progressToken",)
_REQUEST_RESULTS: dict[str, type[BaseModel]] = {
    "elicitation/create": types.ElicitResult,
    "sampling/createMessage": types.CreateMessageResult,
    "roots/list": types.ListRootsResult,
}
_REQUESTS: dict[str, type[BaseModel]] = {
    "elicitation/create": types.ElicitRequest,
    "sampling/createMessage": types.CreateMessageRequest,
    "roots/list": types.ListRootsRequest,
}


_PRIVATE_NO_CACHE: dict[CacheableMethod, CacheHint] = dict.fromkeys(
    CACHEABLE_METHODS,  # type: ignore[arg-type]  # CACHEABLE_METHODS holds exactly the CacheableMethod literals
    CacheHint(ttl_ms=0, scope="private"),
)


class _HubServer(Server[Any]):
    """Advertises list-changed support: the hub tells agents when a virtual server's lists change.

    The SDK always passes a NotificationOptions (all False by default), so the flags are set here
    rather than defaulted. 2026-07-28 capabilities follow from the `subscriptions/listen` handler.
    """

    def get_capabilities(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
        *,
        protocol_version: str | None = None,
    ) -> types.ServerCapabilities:
        return super().get_capabilities(
            NotificationOptions(prompts_changed=True, resources_changed=True, tools_changed=True),
            experimental_capabilities,
            extensions,
            protocol_version=protocol_version,
        )


_LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")


class _AgentPeer:
    """What an upstream sends back during a call goes to the agent on that call's own stream."""

    def __init__(
        self,
        session: ServerSession,
        connection: Connection,
        request_id: types.RequestId | None,
        min_level: str | None,
    ) -> None:
        self._session = session
        self._connection = connection
        self._request_id = request_id
        self._min_level = _LOG_LEVELS.index(min_level) if min_level in _LOG_LEVELS else 0

    @property
    def can_request(self) -> bool:
        return self._session.can_send_request

    @property
    def session_key(self) -> Hashable:
        return self._connection  # the same for every request of one agent session

    async def resource_updated(self, uri: str) -> None:
        await self._session.send_resource_updated(uri)

    async def log(self, params: Mapping[str, Any]) -> None:
        level = params.get("level")
        if level not in _LOG_LEVELS or _LOG_LEVELS.index(level) < self._min_level:
            return
        logger = params.get("logger")
        with warnings.catch_warnings():  # relaying an upstream's log is not using the deprecated feature ourselves
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await self._session.send_log_message(
                level, params.get("data"), str(logger) if logger is not None else None, self._request_id
            )

    async def request(self, method: str, params: Mapping[str, Any] | None) -> dict[str, Any]:
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = dict(params)
        request = _REQUESTS[method].model_validate(message)
        result = await self._session.send_request(
            request,  # type: ignore[arg-type]  # one of the ServerRequest union members, chosen by method
            _REQUEST_RESULTS[method],
            metadata=ServerMessageMetadata(related_request_id=self._request_id),
        )
        return result.model_dump(by_alias=True, mode="json", exclude_none=True)


class VirtualMcpServer:
    """Builds and serves the SDK Server for one virtual server; tracks its sessions for notifications."""

    def __init__(self, name: str, description: str, pipeline: Pipeline, fixed: Principal | None = None) -> None:
        self.name = name
        self._pipeline = pipeline
        self._fixed = fixed
        # Per client connection: `ctx.session` is a per-request proxy, gone as soon as its request is.
        self._sessions: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._bus = InMemorySubscriptionBus()  # 2026-07-28 agents hear of changes on subscriptions/listen
        self._log_levels: weakref.WeakKeyDictionary[Connection, str] = weakref.WeakKeyDictionary()
        self.server = _HubServer(
            f"hub/{name}",
            version="0.1.0",
            description=description or None,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
            on_subscribe_resource=self._subscribe,
            on_unsubscribe_resource=self._unsubscribe,
            on_list_prompts=self._list_prompts,
            on_get_prompt=self._get_prompt,
            on_completion=self._complete,
            on_subscriptions_listen=ListenHandler(self._bus),
            # Lists depend on the agent's grants and can change at any time: private, immediately stale.
            cache_hints=_PRIVATE_NO_CACHE,
            get_tool_input_schema=self.header_checked_schema,
        )
        self._stamp = self.server.server_info_stamp  # the SDK's 2026-07-28 `serverInfo` stamp, made once
        if not _tracing():
            self.server.middleware = []  # the SDK's span middleware, which is a no-op without a tracer provider
        self.server.add_notification_handler("notifications/initialized", types.NotificationParams, self._initialized)
        # Registered directly: the constructor argument is deprecated (2026-07-28 has no logging/setLevel).
        self.server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, self._set_level)

    # --- list-changed fan-out --------------------------------------------------------------------

    async def announce_lists_changed(self) -> None:
        """Tell every open session and listen stream that tools, prompts and resources may have changed."""
        for event in (ToolsListChanged(), PromptsListChanged(), ResourcesListChanged()):
            await self._bus.publish(event)
        for session in list(self._sessions):
            try:
                with anyio.move_on_after(2):
                    await session.send_tool_list_changed()
                    await session.send_prompt_list_changed()
                    await session.send_resource_list_changed()
            except Exception:  # a gone session must not stop the others
                self._sessions.discard(session)

    def header_checked_schema(self, name: str) -> Mapping[str, Any] | None:
        """The schema the SDK checks 2026-07-28 Mcp-Param headers against, without re-listing per call.

        The SDK calls this in the HTTP request's own task, where the edge has set the caller. A tool
        the caller cannot see gets an empty schema, exactly like a missing one, so header checks
        cannot reveal that it exists.
        """
        principal = CALLER.get()
        grant = principal.grant_for(self.name) if principal is not None else None
        item = self._pipeline.exposed_tool(self.name, name) if grant and grant.allows_tool(name) else None
        schema = (item or {}).get("inputSchema")
        return schema if isinstance(schema, Mapping) else {}

    async def _set_level(self, ctx: ServerRequestContext[Any], params: types.SetLevelRequestParams) -> Any:
        """The agent's own log level: upstream log messages for its calls below it are not relayed."""
        self._log_levels[_connection_of(ctx)] = params.level
        return {}

    async def _initialized(self, ctx: ServerRequestContext[Any], params: types.NotificationParams) -> None:
        self._sessions.add(_connection_of(ctx))

    # --- handlers ---------------------------------------------------------------------------------

    def _principal(self, ctx: ServerRequestContext[Any]) -> Principal:
        request = ctx.request
        principal = request.scope.get(PRINCIPAL_SCOPE_KEY) if request is not None else self._fixed
        if not isinstance(principal, Principal):
            raise as_mcp_error(AuthenticationError("no credential"))
        return principal

    async def _list(self, ctx: ServerRequestContext[Any], kind: ItemKind, field: str) -> dict[str, Any]:
        _mark_audited(ctx)
        try:
            return self._for_era(ctx, {field: await self._pipeline.list_items(self._principal(ctx), self.name, kind)})
        except Exception as exc:
            raise as_mcp_error(exc) from exc

    async def _list_tools(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        return await self._list(ctx, "tool", "tools")

    async def _list_resources(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        return await self._list(ctx, "resource", "resources")

    async def _list_templates(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        return await self._list(ctx, "resource_template", "resourceTemplates")

    async def _list_prompts(self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
        return await self._list(ctx, "prompt", "prompts")

    async def _forward(self, ctx: ServerRequestContext[Any], method: str, params: BaseModel) -> Any:
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True)
        meta = wire.pop("_meta", None)
        wants_progress = isinstance(meta, dict) and "progressToken" in meta
        if isinstance(meta, dict):
            kept = {k: v for k, v in meta.items() if k not in _RESERVED_META and not k.startswith("io.modelcontext")}
            if kept:
                wire["_meta"] = kept
        session = ctx.session

        async def progress(value: float, total: float | None, message: str | None) -> None:
            await session.report_progress(value, total, message)

        _mark_audited(ctx)
        try:
            caller = Caller(
                principal=self._principal(ctx),
                server=self.name,
                progress=progress if wants_progress else None,
                peer=_AgentPeer(
                    session, _connection_of(ctx), ctx.request_id, self._log_levels.get(_connection_of(ctx))
                ),
                modern=ctx.protocol_version in MODERN_PROTOCOL_VERSIONS,
            )
            result = await self._pipeline.forward(caller, method, wire)
        except Exception as exc:
            raise as_mcp_error(exc) from exc

        return self._for_era(ctx, _unstamped(result))

    def _for_era(self, ctx: ServerRequestContext[Any], result: dict[str, Any]) -> dict[str, Any]:
        """A handler's result as its era has it: at 2026-07-28, complete and stamped (handshake era: as it is).

        2026-07-28 results must say they are complete (`resultType`), and carry the server's
        `serverInfo` stamp. The SDK stamps a result that has none, as here, with a deep copy of its
        server's info made per call; `self._stamp` is that copy made once. The SDK's result check
        dumps the result anew, so the wire never shares it.
        """
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return result
        result.setdefault("resultType", "complete")
        meta = result.get("_meta")
        if meta is None:
            result["_meta"] = {types.SERVER_INFO_META_KEY: self._stamp}
        elif isinstance(meta, dict) and meta.get(types.SERVER_INFO_META_KEY) is None:
            result["_meta"] = {**meta, types.SERVER_INFO_META_KEY: self._stamp}
        return result

    async def _call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
        return await self._forward(ctx, "tools/call", params)

    async def _read_resource(self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams) -> Any:
        return await self._forward(ctx, "resources/read", params)

    async def _subscribe(self, ctx: ServerRequestContext[Any], params: types.SubscribeRequestParams) -> Any:
        return await self._forward(ctx, "resources/subscribe", params)

    async def _unsubscribe(self, ctx: ServerRequestContext[Any], params: types.UnsubscribeRequestParams) -> Any:
        return await self._forward(ctx, "resources/unsubscribe", params)

    async def _get_prompt(self, ctx: ServerRequestContext[Any], params: types.GetPromptRequestParams) -> Any:
        return await self._forward(ctx, "prompts/get", params)

    async def _complete(self, ctx: ServerRequestContext[Any], params: types.CompleteRequestParams) -> Any:
        return await self._forward(ctx, "completion/complete", params)


def _tracing() -> bool:
    """Whether an OpenTelemetry tracer provider is installed (the API's own proxy is there until one is).

    Without one the SDK's per-message SERVER span is a no-op that still costs a few percent of a
    call's CPU, so the hub drops that middleware (the SDK's documented opt-out). A provider installed
    after a virtual server first served does not reach it until the hub restarts.
    """
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _mark_audited(ctx: ServerRequestContext[Any]) -> None:
    """The pipeline records this request (it records every one it is handed, success or failure)."""
    if ctx.request is not None:
        mark_audited(ctx.request.scope)


def _connection_of(ctx: ServerRequestContext[Any]) -> Connection:
    """The agent's per-client connection: `ctx.session` is a per-request proxy (mcp 2.3.0 has no public accessor)."""
    return ctx.session._connection


def _unstamped(result: dict[str, Any]) -> dict[str, Any]:
    """The upstream's result without its `serverInfo` stamp, so that it carries the virtual server's.

    A 2026-07-28 upstream stamps its own name on every result, and the SDK keeps a stamp the
    handler returns: agents saw the upstream's name on its tools' results and the virtual server's
    on the rest.
    """
    meta = result.get("_meta")
    if isinstance(meta, dict) and types.SERVER_INFO_META_KEY in meta:
        rest = {key: value for key, value in meta.items() if key != types.SERVER_INFO_META_KEY}
        if rest:
            result["_meta"] = rest
        else:
            del result["_meta"]
    return result
