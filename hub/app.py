"""Composition root: config → key ring, agents, upstreams, virtual servers, pipeline, ASGI app, lifespan.

The only module that names concrete connectors and wires everything together.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from connectors.mcp.connector import McpConnector
from hub.auth.api_keys import KeyRing, StoredKey, digest, key_id
from hub.auth.authenticator import ApiKeyAuthenticator
from hub.auth.directory import AgentDirectory
from hub.config.model import AgentConfig, HubConfig, UpstreamConfig
from hub.core.connector import Connector
from hub.core.principal import Principal
from hub.pipeline import Pipeline
from hub.transports.mcp_http import McpEndpoints
from hub.upstreams import UpstreamSet
from hub.virtual.registry import Registry

log = logging.getLogger(__name__)


def make_connector(config: UpstreamConfig) -> Connector:
    return McpConnector(config)


def keys_from_config(agents: tuple[AgentConfig, ...]) -> list[StoredKey]:
    keys: list[StoredKey] = []
    for agent in agents:
        for key in agent.keys:
            if key.key is not None:
                plain = key.key.get_secret_value()
                keys.append(StoredKey(agent.name, key_id(plain), digest(plain)))
            elif key.sha256 is not None:
                keys.append(StoredKey(agent.name, "sha256:" + key.sha256[:8], key.sha256))
    return keys


@dataclass
class Hub:
    """The running hub's parts, for the admin API, the CLI and tests."""

    config: HubConfig
    keys: KeyRing
    agents: AgentDirectory
    upstreams: UpstreamSet
    registry: Registry
    pipeline: Pipeline
    endpoints: McpEndpoints
    authenticator: ApiKeyAuthenticator
    extra_routes: list[Route | Mount] = field(default_factory=list)

    def authenticate(self, request: Request) -> Principal:
        return self.authenticator.authenticate(request.headers)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Supervise upstreams and serve endpoints until the context exits; then drain and stop."""
        async with anyio.create_task_group() as tg:
            self.upstreams.attach(tg)
            await tg.start(self.endpoints.run)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()


def build_hub(config: HubConfig) -> Hub:
    keys = KeyRing(keys_from_config(config.agents))
    agents = AgentDirectory(config.agents)
    registry: Registry
    upstreams = UpstreamSet(on_change=lambda name: registry.upstream_changed(name))
    registry = Registry(upstreams.catalogs)
    pipeline = Pipeline(registry, upstreams)
    authenticator = ApiKeyAuthenticator(keys, agents)
    hub = Hub(
        config=config,
        keys=keys,
        agents=agents,
        upstreams=upstreams,
        registry=registry,
        pipeline=pipeline,
        endpoints=McpEndpoints(pipeline, lambda request: authenticator.authenticate(request.headers), config.server),
        authenticator=authenticator,
    )
    registry.subscribe(hub.endpoints.lists_changed)
    for vs in config.virtual_servers:
        registry.put(vs)
    for upstream in config.upstreams:
        if upstream.enabled:
            upstreams.put(make_connector(upstream))
    return hub


def build_app(hub: Hub) -> Starlette:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        states = {h.name: h.state for h in hub.upstreams.health()}
        ready = all(state == "ready" for state in states.values())
        return JSONResponse({"ready": ready, "upstreams": states}, status_code=200 if ready else 503)

    async def protected_resource(request: Request) -> JSONResponse:
        base = (hub.config.server.public_url or str(request.base_url)).rstrip("/")
        return JSONResponse(
            {"resource": base, "authorization_servers": [], "bearer_methods_supported": ["header"]},
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            yield

    routes: list[Route | Mount] = [
        Route("/health", health),
        Route("/ready", ready),
        Route("/.well-known/oauth-protected-resource", protected_resource),
        Mount("/servers", app=hub.endpoints),
        *hub.extra_routes,
    ]
    return Starlette(routes=routes, lifespan=lifespan)
