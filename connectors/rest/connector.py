"""A REST service upstream: tools from an OpenAPI document and/or hand-written ones, over one pooled HTTP client.

The supervisor (`run`) opens the client, reads the document (retrying with backoff while it is
unreachable or invalid: health says "down" with the reason meanwhile), builds the catalog and
keeps the client open until cancelled. A call checks its arguments against the tool's schema,
builds the request on the admin's base URL, sends it (with retries when the method is
idempotent) and maps the response to a CallToolResult.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio
import httpx2

from connectors.keepalive import UPSTREAM_KEEPALIVE_S
from connectors.rest.arguments import check_arguments
from connectors.rest.credentials import Credentials
from connectors.rest.document import load_document
from connectors.rest.errors import upstream_failures
from connectors.rest.hosts import HostPolicy
from connectors.rest.openapi import read_operations, server_url
from connectors.rest.operation import Operation
from connectors.rest.request import BaseUrl, build
from connectors.rest.response import to_result
from connectors.rest.sender import RetryPolicy, Sender
from connectors.rest.tools import operation_for
from hub.config.model import RestUpstreamConfig
from hub.core.catalog import Catalog
from hub.core.connector import CallContext, ChangeListener, UpstreamHealth, UpstreamState
from hub.errors import ConfigError, InvalidParamsError, NotFoundError, UpstreamUnavailableError

log = logging.getLogger(__name__)
POOL = httpx2.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=UPSTREAM_KEEPALIVE_S)
"""httpx's default pool, with idle connections dropped before the service drops them."""

FIRST_BACKOFF_S = 0.5


class RestConnector:
    def __init__(self, config: RestUpstreamConfig, auth: httpx2.Auth | None = None) -> None:
        """`auth` adds the upstream's `auth:` credential (built by the vault) to requests to the base URL's origin."""
        self.name = config.name
        self._auth = auth
        self.call_timeout_s = config.call_timeout_s
        self._config = config
        self._retry = RetryPolicy(config.retries, config.retry_backoff_s)
        self._operations: dict[str, Operation] = {}
        self._sender: Sender | None = None
        self._catalog: Catalog | None = None
        self._state: UpstreamState = "starting"
        self._detail = ""
        self._attempts = 0
        self._listeners: list[ChangeListener] = []
        self._state_changed = anyio.Event()

    # --- Connector protocol ------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog | None:
        return self._catalog

    @property
    def health(self) -> UpstreamHealth:
        return UpstreamHealth(self.name, self._state, self._detail, self._attempts)

    def subscribe_changes(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def request(self, method: str, params: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
        if method != "tools/call":
            raise InvalidParamsError(f"upstream {self.name!r} is a REST service: it serves tools only, not {method}")
        sender = self._sender
        if sender is None:
            raise UpstreamUnavailableError(
                f"upstream {self.name!r} is not available right now ({self._detail or self._state}); try again shortly",
                upstream=self.name,
            )
        name = str(params.get("name", ""))
        operation = self._operations.get(name)
        if operation is None:
            raise NotFoundError(f"Unknown tool: {name}")
        arguments = check_arguments(name, operation.validator, params.get("arguments"))
        outgoing = build(operation, arguments, sender.base)
        with upstream_failures(self.name, ctx.deadline):
            reply = await sender.send(outgoing, self._retry if operation.idempotent else None)
        return to_result(reply, operation.response)

    async def ensure_started(self) -> None:
        with anyio.move_on_after(self._config.connect_timeout_s):
            while self._state == "starting":
                await self._state_changed.wait()

    async def run(self) -> None:
        timeout = httpx2.Timeout(self._config.call_timeout_s, connect=self._config.connect_timeout_s)
        try:
            async with httpx2.AsyncClient(timeout=timeout, limits=POOL, follow_redirects=False) as client:
                await self._load_until_ready(client)
                await anyio.sleep_forever()
        finally:
            self._sender, self._catalog = None, None
            self._set_state("stopped", "")

    # --- supervision ---------------------------------------------------------------------------

    async def _load_until_ready(self, client: httpx2.AsyncClient) -> None:
        backoff = FIRST_BACKOFF_S
        while True:
            try:
                with anyio.fail_after(self._config.connect_timeout_s):
                    await self._load(client)
                return
            except Exception as exc:  # a bad or unreachable document must never end the hub
                detail = _describe(exc)
                self._attempts += 1
                self._set_state("down", detail)
                log.warning("upstream.down", extra={"upstream": self.name, "error": detail})
            await anyio.sleep(backoff)
            backoff = min(backoff * 2, self._config.spec_retry_backoff_max_s)

    async def _load(self, client: httpx2.AsyncClient) -> None:
        config = self._config
        hosts = HostPolicy(config.allowed_hosts)
        operations: list[Operation] = []
        base_url = config.base_url
        if config.openapi is not None:
            document, uri = await load_document(config.openapi.source, client, hosts)
            operations = await anyio.to_thread.run_sync(read_operations, document, uri, config.openapi)
            base_url = base_url or server_url(document, uri)
        if base_url is None:
            raise ConfigError("the document names no absolute server URL; set base_url")
        base = BaseUrl.parse(base_url)
        if hosts.restricted and not hosts.allows(base.url):
            raise ConfigError(f"the base URL's host {base.url.host!r} is not in allowed_hosts")
        by_name = {op.name: op for op in operations}
        by_name.update((tool.name, operation_for(tool)) for tool in config.tools)  # hand-written ones win
        self._operations = by_name
        credentials = Credentials.from_config(config)
        self._sender = Sender(
            client, base, hosts.with_home(base.url.host), credentials, config.max_response_bytes, self._auth
        )
        self._catalog = Catalog(tools=tuple(op.tool for op in by_name.values()))
        self._set_state("ready", "")
        log.info("upstream.ready", extra={"upstream": self.name, "tools": len(by_name)})

    def _set_state(self, state: UpstreamState, detail: str) -> None:
        changed = state != self._state
        self._state, self._detail = state, detail
        if changed:
            self._state_changed.set()
            self._state_changed = anyio.Event()
            for listener in self._listeners:
                listener(self.name)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "reading the OpenAPI document timed out"
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text)[:300]
