"""Agent-facing MCP over HTTP: /servers/{name}/mcp (Streamable HTTP, both eras) and /servers/{name}/sse.

The edge authenticates every request, refuses virtual servers the agent is not granted exactly as
it refuses unknown ones, and then hands the request to the SDK's transport for that virtual server.
Sessions are owned by the agent that opened them (the SDK compares the credential's identity).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache, partial
from uuid import uuid4

import anyio
from anyio.abc import TaskGroup, TaskStatus
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, AuthorizationContext
from mcp.server.auth.provider import AccessToken
from mcp.server.runner import serve_loop
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from hub.config.model import ServerConfig
from hub.core.principal import Principal
from hub.errors import HubError, MethodNotAllowedError, NotFoundError
from hub.governance.audit import AuditEntry, Auditor
from hub.governance.audit.mcp_requests import refused_entry
from hub.pipeline import Pipeline
from hub.sessions.event_store import SessionEventStore
from hub.transports.agent_sessions import AgentSessions
from hub.transports.handshake_posts import LeanPostTransport
from hub.transports.http_errors import error_response
from hub.transports.lean_tool_calls import LeanToolCalls, lean_request
from hub.transports.limit_status import limit_status
from hub.transports.mcp_server import CALLER, PRINCIPAL_SCOPE_KEY, VirtualMcpServer
from hub.transports.open_streams import OpenStreams
from hub.transports.rebinding import RebindingGuard
from hub.transports.request_audit import AnswerRecorder, body_entry, request_audited
from hub.transports.request_body import MessageBody, read_message_body

log = logging.getLogger(__name__)

Authenticate = Callable[[Request], Awaitable[Principal]]
STREAM_CHECK_INTERVAL_S = 0.5  # an open stream whose key was revoked ends within this (after the catalog sync)


@dataclass
class _Endpoint:
    mcp: VirtualMcpServer
    sessions: StreamableHTTPSessionManager
    sse: SseServerTransport
    scope: anyio.CancelScope


class McpEndpoints:
    """ASGI app mounted at /servers; one SDK server and transport pair per virtual server, made on first use."""

    def __init__(
        self, pipeline: Pipeline, authenticate: Authenticate, config: ServerConfig, audit: Auditor | None = None
    ) -> None:
        self._pipeline = pipeline
        self._audit = audit if audit is not None and audit.enabled else None
        self._authenticate = authenticate
        self._config = config
        self._security = _security_settings(config)
        self._guard = RebindingGuard(self._security.allowed_hosts, self._security.allowed_origins)
        self._lean = LeanToolCalls(self._security) if config.lean_tool_calls else None
        self._streams = OpenStreams(self._readmit, STREAM_CHECK_INTERVAL_S)
        self._agent_sessions = AgentSessions(config.limits.max_sessions_per_agent)
        self._endpoints: dict[str, _Endpoint] = {}
        self._posts_in_flight = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._lock = anyio.Lock()
        self._tg: TaskGroup | None = None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Own every endpoint's background work until cancelled."""
        async with anyio.create_task_group() as tg:
            self._tg = tg
            if self._lean is not None:
                self._lean.attach(tg)  # the watchers of long lean calls
            tg.start_soon(self._streams.run)
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                self._tg = None
                if self._lean is not None:
                    self._lean.attach(None)

    async def _readmit(self, request: Request, server: str) -> Principal:
        """Check a request again as it was checked on arrival: its credential, then its grant of `server`."""
        principal = await self._authenticate(request)
        self._pipeline.open(principal, server)
        return principal

    def lists_changed(self, server: str) -> None:
        """Registry listener: a virtual server's lists changed (or it went away)."""
        endpoint = self._endpoints.get(server)
        if endpoint is None or self._tg is None:
            return
        if self._pipeline.registry_has(server):
            self._tg.start_soon(endpoint.mcp.announce_lists_changed)
        else:
            self._endpoints.pop(server, None)
            endpoint.scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        parts = scope["path"].removeprefix(scope.get("root_path", "")).strip("/").split("/")
        request = Request(scope, receive)
        principal: Principal | None = None
        try:
            self._guard.check(request.headers)  # DNS rebinding: before anything else is revealed
            if len(parts) < 2 or parts[1] not in ("mcp", "sse", "messages"):
                raise NotFoundError("not found")
            principal = await self._authenticate(request)
            self._pipeline.open(principal, parts[0])  # unknown and ungranted answer alike
            endpoint = await self._endpoint(parts[0])
        except HubError as exc:
            self._refused(principal, parts[0], scope, exc)
            await error_response(exc, self._resource_metadata_url(request))(scope, receive, send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        CALLER.set(principal)
        scope["user"] = _user(principal.key_id, principal.agent)
        if parts[1] == "mcp" and scope["method"] == "GET":  # the handshake era's standalone stream
            async with self._streams.watch(request, parts[0], principal, receive, send) as (receive, send):
                await endpoint.sessions.handle_request(scope, receive, send)
        elif parts[1] == "mcp":
            with self._counted() if scope["method"] == "POST" else nullcontext():
                await self._serve_mcp(endpoint, principal, request, receive, send)
        elif parts[1] == "sse":
            async with self._streams.watch(request, parts[0], principal, receive, send) as (receive, send):
                await self._serve_sse(endpoint, scope, receive, send)
        else:
            await endpoint.sse.handle_post_message(scope, receive, send)

    def _refused(self, principal: Principal | None, server: str, scope: Scope, exc: HubError) -> None:
        """Audit a request refused at the edge."""
        self._record(refused_entry(principal, server or None, scope["method"], scope["path"], exc))

    def _record(self, entry: AuditEntry) -> None:
        """Audit what the edge answered itself; if that cannot be journaled, the answer stands anyway."""
        if self._audit is None:
            return
        try:
            self._audit.record(entry)
        except HubError:
            log.warning("audit.edge_unrecorded", extra={"server": entry.server, "method": entry.method})

    async def drained(self) -> None:
        """Return once no POSTed message is being answered (open GET streams do not count)."""
        while not self._idle.is_set():
            await self._idle.wait()

    @contextmanager
    def _counted(self) -> Iterator[None]:
        self._posts_in_flight += 1
        self._idle = anyio.Event() if self._idle.is_set() else self._idle
        try:
            yield
        finally:
            self._posts_in_flight -= 1
            if self._posts_in_flight == 0:
                self._idle.set()

    async def _serve_mcp(
        self, endpoint: _Endpoint, principal: Principal, request: Request, receive: Receive, send: Send
    ) -> None:
        """Streamable HTTP: a POSTed message is checked first, and recorded if no handler of ours does."""
        scope = request.scope
        if scope["method"] != "POST":
            await endpoint.sessions.handle_request(scope, receive, send)
            return
        started = time.perf_counter()
        checked = await read_message_body(receive)
        if isinstance(checked, Response):
            self._record(body_entry(principal, endpoint.mcp.name, started, checked.status_code, bytes(checked.body)))
            await checked(scope, receive, send)
            return
        recorder = None
        if self._audit is not None and "id" in checked.message:
            recorder = AnswerRecorder(scope, principal, endpoint.mcp.name, checked.message, send)
            send = recorder.send
        try:
            await self._serve_post(endpoint, principal, request, checked, send)
        finally:
            if recorder is not None and not request_audited(scope):
                self._record(recorder.entry())

    async def _serve_post(
        self, endpoint: _Endpoint, principal: Principal, request: Request, checked: MessageBody, send: Send
    ) -> None:
        """A 2026-07-28 request (lean path, listen stream or SDK), a message of an open session, or a new session."""
        scope, receive, headers = request.scope, checked.receive, request.headers
        if _modern(headers):
            send = limit_status(send)
            lean = self._lean if lean_request(checked.message) else None
            if lean is not None and await lean.serve(endpoint.mcp, checked.message, scope, receive, send):
                return
            if checked.message.get("method") == "subscriptions/listen":  # a stream, not a call
                streams = self._streams.watch(request, endpoint.mcp.name, principal, receive, send)
                async with streams as (receive, send):
                    await endpoint.sessions.handle_request(scope, receive, send)
                return
            await endpoint.sessions.handle_request(scope, receive, send)
            return
        if "mcp-session-id" in headers:
            await endpoint.sessions.handle_request(scope, receive, send)
            return
        live = endpoint.sessions._server_instances  # the SDK manager's open sessions (no public view)
        try:
            send, done = self._agent_sessions.admit(principal.agent, live, send)
        except HubError as exc:
            self._refused(principal, endpoint.mcp.name, scope, exc)
            await error_response(exc)(scope, receive, send)
            return
        try:
            await endpoint.sessions.handle_request(scope, receive, send)
        finally:
            done()

    async def _serve_sse(self, endpoint: _Endpoint, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "GET":
            refused = MethodNotAllowedError("use GET to open the SSE stream", allow="GET")
            await error_response(refused)(scope, receive, send)
            return
        try:
            async with endpoint.sse.connect_sse(scope, receive, send) as (read, write):
                await serve_loop(endpoint.mcp.server, read, write, lifespan_state={})
        except ValueError:  # the transport already answered (e.g. a refused Host/Origin)
            return

    async def _endpoint(self, name: str) -> _Endpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is not None:
            return endpoint
        async with self._lock:
            endpoint = self._endpoints.get(name)
            if endpoint is None:
                endpoint = await self._start_endpoint(name)
                self._endpoints[name] = endpoint
        return endpoint

    async def _start_endpoint(self, name: str) -> _Endpoint:
        if self._tg is None:
            raise RuntimeError("McpEndpoints.run() is not running")
        limits = self._config.limits
        vs = VirtualMcpServer(name, self._pipeline.description(name), self._pipeline)
        sessions = _ResumableSessions(
            app=vs.server,
            security_settings=self._security,
            max_request_body_size=limits.max_body_bytes,
            session_idle_timeout=limits.session_idle_timeout_s,
            max_sessions=limits.max_sessions,
        )
        if self._config.lean_handshake_posts:
            sessions.transport_class = partial(LeanPostTransport, json_within_s=self._config.handshake_json_within_s)
        sse = SseServerTransport(
            f"/{name}/messages/", security_settings=self._security, max_request_body_size=limits.max_body_bytes
        )
        cancel = anyio.CancelScope()

        async def run_sessions(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            with cancel:
                async with sessions.run():
                    task_status.started()
                    await anyio.sleep_forever()

        await self._tg.start(run_sessions)
        return _Endpoint(vs, sessions, sse, cancel)

    def _resource_metadata_url(self, request: Request) -> str:
        base = self._config.public_url or str(request.base_url)
        return base.rstrip("/") + "/.well-known/oauth-protected-resource"


def _modern(headers: Headers) -> bool:
    """A 2026-07-28 request: self-contained, it opens no session."""
    version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
    return version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS


class _ResumableSessions(StreamableHTTPSessionManager):
    """Gives each handshake-era session its own bounded event log (Last-Event-ID resumption).

    The SDK shares one event store across a manager's sessions, and its stream ids are JSON-RPC
    request ids, which collide between sessions; a per-session log means a Last-Event-ID can only
    ever replay the events of the session it is presented on. The SDK has no public hook for this
    (nor for the transport's class), so `_admit_session` is mcp 2.3.0's, with the session's own
    store and a transport of `transport_class`.
    """

    transport_class: Callable[..., StreamableHTTPServerTransport] = StreamableHTTPServerTransport

    def _admit_session(self, requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
            return None
        session_id = uuid4().hex
        transport = self.transport_class(
            mcp_session_id=session_id,
            is_json_response_enabled=self.json_response,
            event_store=SessionEventStore(),
            security_settings=self.security_settings,
            retry_interval=self.retry_interval,
            idle_timeout=self.session_idle_timeout,
        )
        if requestor is not None:
            self._session_owners[session_id] = requestor
        self._server_instances[session_id] = transport
        return transport


@lru_cache(maxsize=4096)
def _user(key_id: str, agent: str) -> AuthenticatedUser:
    """An agent's key as the SDK's auth context reads it (`scope["user"]`), made once: its token is a pydantic model."""
    return AuthenticatedUser(AccessToken(token=key_id, client_id=agent, scopes=[]))


def _security_settings(config: ServerConfig) -> TransportSecuritySettings:
    hosts = list(config.allowed_hosts)
    origins = list(config.allowed_origins)
    if not hosts:
        hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
        if config.host not in ("127.0.0.1", "localhost", "::1", "0.0.0.0", "::"):
            hosts += [config.host, f"{config.host}:*"]
    if not origins:
        origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)
