"""An MCP server upstream (stdio, legacy SSE or Streamable HTTP), supervised and shared by every agent.

One SDK client session per upstream carries every agent's calls; the SDK numbers its own request
ids, so agents' JSON-RPC ids never meet upstream. The supervisor connects, reads the catalog,
refreshes it on list-changed notifications, and reconnects with exponential backoff when the
upstream dies. While the upstream is down, calls fail at once with UpstreamUnavailableError.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import httpx2
import mcp_types as types
from anyio.abc import TaskStatus
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import TypeAdapter

from connectors.mcp.catalog import read_catalog
from connectors.mcp.errors import upstream_failures
from connectors.mcp.lean_calls import LeanCalls, lean_path_applies
from connectors.mcp.relay import InFlightCalls
from connectors.mcp.subscriptions import SubscriptionTable
from connectors.mcp.transport import McpUpstreamConfig, SessionIdTap, open_transport, scrubber
from hub.config.model import StdioUpstreamConfig, StreamableHttpUpstreamConfig
from hub.core.catalog import Catalog
from hub.core.connector import CallContext, ChangeListener, UpstreamHealth, UpstreamState
from hub.errors import InvalidParamsError, UpstreamRejectedError, UpstreamUnavailableError

log = logging.getLogger(__name__)

_RAW: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])
_REQUESTS: dict[str, type[types.Request[Any, Any]]] = {
    "tools/call": types.CallToolRequest,
    "resources/read": types.ReadResourceRequest,
    "resources/subscribe": types.SubscribeRequest,
    "resources/unsubscribe": types.UnsubscribeRequest,
    "prompts/get": types.GetPromptRequest,
    "completion/complete": types.CompleteRequest,
    "logging/setLevel": types.SetLevelRequest,
}
_MAX_INPUT_ROUNDS = 8
_LIST_CHANGED = (
    types.ToolListChangedNotification,
    types.ResourceListChangedNotification,
    types.PromptListChangedNotification,
)


@dataclass(frozen=True, slots=True)
class _LeanPaths:
    """The lean tools/call path (connectors/mcp/lean_calls.py) of each upstream session that has one."""

    main: LeanCalls | None = None
    legacy: LeanCalls | None = None


class McpConnector:
    def __init__(self, config: McpUpstreamConfig, auth: httpx2.Auth | None = None) -> None:
        self.name = config.name
        self.call_timeout_s = config.call_timeout_s
        self._config = config
        self._auth = auth  # the upstream's credential on each HTTP request (from its `auth:` block)
        self._scrub = scrubber(config)
        self._client: Client | None = None
        # For an upstream that speaks both eras, a second, handshake-era session: calls from 2025-era
        # agents go there, so the upstream can send them elicitation, sampling and subscriptions.
        self._legacy_client: Client | None = None
        # tools/call without progress, on `_client` and `_legacy_client`: one plain POST each.
        self._leans = _LeanPaths()
        self._subscriptions = SubscriptionTable()
        self._catalog: Catalog | None = None
        on_demand = isinstance(config, StdioUpstreamConfig) and config.start == "on_demand"
        self._state: UpstreamState = "idle" if on_demand else "starting"
        self._wanted = anyio.Event()
        if not on_demand:
            self._wanted.set()
        self._state_changed = anyio.Event()
        self._detail = ""
        self._restarts = 0
        self._listeners: list[ChangeListener] = []
        self._broken = anyio.Event()
        self._refresh = anyio.Event()
        self._calls = InFlightCalls(config.name)

    # --- Connector protocol ------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog | None:
        return self._catalog

    @property
    def health(self) -> UpstreamHealth:
        version = self._client.protocol_version if self._client is not None else None
        return UpstreamHealth(self.name, self._state, self._detail, self._restarts, version)

    def subscribe_changes(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def request(self, method: str, params: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
        client = self._client_for(ctx)
        if method not in _REQUESTS:
            raise InvalidParamsError(f"method {method!r} cannot be forwarded")
        with self._calls.track(ctx):
            if method in ("resources/subscribe", "resources/unsubscribe") and ctx.peer is not None:
                return await self._subscription(client, method, params, ctx)
            result = await self._send(client, method, params, ctx)
            return await self._answer_input_requests(client, method, params, ctx, result)

    async def _answer_input_requests(
        self, client: Client, method: str, params: Mapping[str, Any], ctx: CallContext, result: dict[str, Any]
    ) -> dict[str, Any]:
        """A 2026-07-28 upstream's input_required result, for a handshake-era agent: ask, then retry.

        A 2026-07-28 agent answers input requests itself, so the result passes through to it.
        """
        for _ in range(_MAX_INPUT_ROUNDS):
            if result.get("resultType") != "input_required" or ctx.peer is None or not ctx.peer.can_request:
                return result
            answers = {
                key: await ctx.peer.request(str(req.get("method")), req.get("params"))
                for key, req in (result.get("inputRequests") or {}).items()
            }
            retry = {**params, "inputResponses": answers}
            if result.get("requestState") is not None:
                retry["requestState"] = result["requestState"]
            result = await self._send(client, method, retry, ctx)
        raise UpstreamRejectedError(
            types.INTERNAL_ERROR, f"upstream {self.name!r} kept asking for input after {_MAX_INPUT_ROUNDS} rounds"
        )

    def _client_for(self, ctx: CallContext) -> Client:
        client = self._client if ctx.modern_agent or self._legacy_client is None else self._legacy_client
        if client is None:
            raise UpstreamUnavailableError(
                f"upstream {self.name!r} is not available right now ({self._detail or self._state}); try again shortly",
                upstream=self.name,
            )
        return client

    async def _subscription(
        self,
        client: Client,
        method: str,
        params: Mapping[str, Any],
        ctx: CallContext,
    ) -> dict[str, Any]:
        """One upstream subscription per URI, however many agent sessions subscribe to it."""
        assert ctx.peer is not None
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            raise UpstreamRejectedError(
                types.METHOD_NOT_FOUND, f"upstream {self.name!r} speaks only 2026-07-28, which has no {method}"
            )
        uri = str(params.get("uri", ""))
        if method == "resources/unsubscribe":
            last = self._subscriptions.remove(uri, ctx.peer)
            return await self._send(client, method, params, ctx) if last else {}
        if not self._subscriptions.add(uri, ctx.peer):
            return {}
        try:
            return await self._send(client, method, params, ctx)
        except BaseException:
            self._subscriptions.remove(uri, ctx.peer)
            raise

    async def _send(
        self,
        client: Client,
        method: str,
        params: Mapping[str, Any],
        ctx: CallContext,
    ) -> dict[str, Any]:
        lean = self._lean_for(client) if ctx.progress is None and method == "tools/call" else None
        with upstream_failures(self.name, ctx.deadline, on_broken=self._broken.set):
            if lean is not None:
                answer = await lean.call(params)
                if answer is not None:  # None: the upstream redirected; the SDK client knows the rules
                    return answer
            request = _REQUESTS[method].model_validate({"method": method, "params": dict(params)})
            result = await client.session.send_request(
                request,
                _RAW,  # type: ignore[type-var]  # raw passthrough: keep every wire field the upstream sent
                progress_callback=ctx.progress,  # type: ignore[arg-type]  # same (progress, total, message) shape
            )
        return result

    def _lean_for(self, client: Client) -> LeanCalls | None:
        if client is self._client:
            return self._leans.main
        return self._leans.legacy if client is self._legacy_client else None

    async def ensure_started(self) -> None:
        self._wanted.set()
        with anyio.move_on_after(self._config.connect_timeout_s):
            while self._state in ("idle", "starting"):
                await self._state_changed.wait()

    async def run(self) -> None:
        await self._wanted.wait()  # at once, unless the upstream starts on demand
        self._set_state("starting", "")
        backoff = self._backoff_start()
        while True:
            self._broken = anyio.Event()
            try:
                await self._serve_once()
                backoff = self._backoff_start()
            except anyio.get_cancelled_exc_class() as exc:
                _cut_context_cycle(exc)
                self._set_state("stopped", "")
                raise
            except Exception as exc:  # one upstream failing must never end the hub
                self._set_state("down", self._scrub(_describe(exc)))
                log.warning("upstream.down", extra={"upstream": self.name, "error": self._scrub(_describe(exc))})
            self._restarts += 1
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, self._backoff_max())

    # --- supervision ---------------------------------------------------------------------------

    async def _serve_once(self) -> None:
        closed = self._broken
        # stdio and SSE speak the handshake era: no discover probe for them.
        mode = self._config.protocol if isinstance(self._config, StreamableHttpUpstreamConfig) else "legacy"
        deadline = anyio.current_time() + self._config.connect_timeout_s
        with anyio.CancelScope(deadline=deadline) as connecting:
            async with AsyncExitStack() as stack:
                session_id = SessionIdTap(on_gone=closed.set)
                client = await stack.enter_async_context(self._new_client(mode, closed, session_id))
                if mode in MODERN_PROTOCOL_VERSIONS:  # pinned: the SDK adopted a bare stand-in; ask for the real one
                    raw = await client.session.send_discover(mode)
                    client.session.adopt(types.DiscoverResult.model_validate(raw))
                legacy, legacy_lean = None, None
                if mode == "auto" and client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                    legacy, legacy_lean = await self._open_legacy_too(stack, closed)
                leans = _LeanPaths(self._lean_path(stack, client, session_id), legacy_lean)
                connecting.deadline = math.inf
                await self._serve_connected(client, legacy, leans, closed)
        if connecting.cancelled_caught:
            raise TimeoutError(f"no handshake within {self._config.connect_timeout_s:g}s")

    async def _open_legacy_too(
        self, stack: AsyncExitStack, closed: anyio.Event
    ) -> tuple[Client | None, LeanCalls | None]:
        """Also open a handshake-era session, if the upstream has one; its loss counts as the connection's."""
        legacy_closed = anyio.Event()
        session_id = SessionIdTap(on_gone=legacy_closed.set)
        try:
            legacy = await stack.enter_async_context(self._new_client("legacy", legacy_closed, session_id))
        except Exception as exc:
            log.info("upstream.modern_only", extra={"upstream": self.name, "detail": self._scrub(_describe(exc))})
            return None, None

        async def watch(*, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
            task_status.started()
            await legacy_closed.wait()
            closed.set()

        watcher = await stack.enter_async_context(anyio.create_task_group())
        await watcher.start(watch)
        stack.callback(watcher.cancel_scope.cancel)
        return legacy, self._lean_path(stack, legacy, session_id)

    def _lean_path(self, stack: AsyncExitStack, client: Client, session_id: SessionIdTap) -> LeanCalls | None:
        """The lean tools/call path on `client`'s session, closed with it; None where it does not apply."""
        if not lean_path_applies(self._config, client):
            return None
        assert isinstance(self._config, StreamableHttpUpstreamConfig)
        lean = LeanCalls(self._config, client, self._calls.on_log, self._on_message, self._auth, session_id)
        stack.push_async_callback(lean.aclose)
        return lean

    def _new_client(self, mode: str, closed: anyio.Event, session_id: SessionIdTap) -> Client:
        return Client(
            open_transport(self._config, closed, self._auth, session_id),
            mode=mode,
            message_handler=self._on_message,
            logging_callback=self._calls.on_log,
            elicitation_callback=self._calls.on_elicit,
            sampling_callback=self._calls.on_sample,
            list_roots_callback=self._calls.on_roots,
            cache=None,
            log_level="debug",
            client_info=types.Implementation(name="hub", version="0.1.0"),
        )

    async def _serve_connected(
        self, client: Client, legacy: Client | None, leans: _LeanPaths, closed: anyio.Event
    ) -> None:
        try:
            self._catalog = await self._read_catalog(client)
            handshake_era = legacy or (client if client.protocol_version not in MODERN_PROTOCOL_VERSIONS else None)
            if handshake_era is not None:
                await _ask_for_all_logs(handshake_era)
                await _resubscribe(handshake_era, self._subscriptions.uris())
            self._client, self._legacy_client, self._leans = client, legacy, leans
            self._set_state("ready", "")
            log.info("upstream.ready", extra={"upstream": self.name, "protocol": client.protocol_version})
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._refresh_on_change, client)
                await closed.wait()
                tg.cancel_scope.cancel()
            raise ConnectionError("the connection to the upstream closed")
        finally:
            self._client = self._legacy_client = None
            self._leans = _LeanPaths()
            self._catalog = None

    async def _read_catalog(self, client: Client) -> Catalog:
        with anyio.fail_after(self._config.connect_timeout_s):
            return await read_catalog(client)

    async def _refresh_on_change(self, client: Client) -> None:
        while True:
            await self._refresh.wait()
            self._refresh = anyio.Event()
            try:
                self._catalog = await self._read_catalog(client)
            except Exception as exc:
                log.warning(
                    "upstream.catalog_failed", extra={"upstream": self.name, "error": self._scrub(_describe(exc))}
                )
                self._broken.set()
                return
            self._notify()

    def _set_state(self, state: UpstreamState, detail: str) -> None:
        changed = state != self._state
        self._state, self._detail = state, detail
        if changed:
            self._state_changed.set()
            self._state_changed = anyio.Event()
            self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            listener(self.name)

    def _backoff_start(self) -> float:
        return self._config.restart_backoff_s if isinstance(self._config, StdioUpstreamConfig) else 0.5

    def _backoff_max(self) -> float:
        return self._config.restart_backoff_max_s if isinstance(self._config, StdioUpstreamConfig) else 30.0

    # --- what the upstream sends us ---------------------------------------------------------------

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, _LIST_CHANGED):
            self._refresh.set()
        elif isinstance(message, types.ResourceUpdatedNotification):
            await self._subscriptions.deliver(str(message.params.uri))
        elif isinstance(message, Exception):
            log.warning(
                "upstream.transport_error", extra={"upstream": self.name, "error": self._scrub(_describe(message))}
            )


async def _resubscribe(client: Client, uris: list[str]) -> None:
    """After a reconnect the upstream has forgotten our subscriptions; the agents have not."""
    for uri in uris:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                await client.subscribe_resource(uri)
        except Exception as exc:
            log.warning("upstream.resubscribe_failed", extra={"uri": uri, "error": _describe(exc)})


async def _ask_for_all_logs(client: Client) -> None:
    """Have a handshake-era upstream send every log message; each agent's own level filters what it gets."""
    if client.server_capabilities.logging is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await client.set_logging_level("debug")


def _cut_context_cycle(exc: BaseException) -> None:
    """Break a loop in `exc`'s `__context__` chain, in place.

    Tearing the SDK client down by cancellation can leave the CancelledError as its own context
    (CPython 3.11's AsyncExitStack re-links contexts while the client's DELETE is being cancelled);
    anyio's task group walks that chain when the task ends and would spin forever.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None:
        seen.add(id(current))
        context = current.__context__
        if context is not None and id(context) in seen:
            current.__context__ = None
            return
        current = context


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in exc.exceptions)
    text = str(exc) or type(exc).__name__
    return text[:300]
