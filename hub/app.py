"""Composition root: config → database, key ring, agents, upstreams, virtual servers, pipeline, ASGI app, lifespan.

The only module that names concrete connectors and wires everything together.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import anyio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from connectors.mcp.connector import McpConnector
from connectors.rest.connector import RestConnector
from connectors.sql.connector import SqlConnector
from hub.admin.api import AdminApi
from hub.admin.auth import AdminCredentials
from hub.admin.context import AdminContext
from hub.auth.api_keys import KeyRing
from hub.auth.authenticator import Authenticator
from hub.auth.config_keys import keys_from_config
from hub.auth.directory import AgentDirectory
from hub.auth.jwt_tokens import JwtVerifier
from hub.catalog_sync import CatalogSync, ChangeNotices
from hub.config.model import HubConfig, RestUpstreamConfig, SqlUpstreamConfig, StdioUpstreamConfig, UpstreamConfig
from hub.core.connector import Connector
from hub.core.llm import LlmBackend
from hub.governance.audit import Auditor
from hub.governance.audit.auditor import default_journal_dir
from hub.governance.limits import Limits, LocalRateLimiter, RateLimiter
from hub.governance.vault.http_auth import http_auth
from hub.live import LiveCatalog
from hub.llm.audit import LlmAudit
from hub.llm.budgets import Budgets, LocalSpendCounter, SpendCounter, budget_key, period_start
from hub.llm.cache.backend import CacheBackend
from hub.llm.cache.cache import LlmCache
from hub.llm.cache.embedder import DeploymentEmbedder, Embedder
from hub.llm.cache.local_embedder import LocalEmbedder
from hub.llm.cache.memory import MemoryBackend
from hub.llm.cache.metrics import CacheCollector
from hub.llm.cache.wire import WireCache
from hub.llm.cache_embeddings import CacheEmbeddings
from hub.llm.gateway import LlmGateway, LlmObserver
from hub.llm.limits import LlmLimits
from hub.llm.routing import ModelRouter
from hub.llm.sampling import sampling_for
from hub.observability.llm_metrics import LlmMetrics
from hub.observability.mcp_metrics import McpMetrics, UpstreamHealthCollector
from hub.pipeline import Pipeline
from hub.storage.engine import Database, open_database
from hub.storage.llm_usage import UsageWriter, spent_since
from hub.storage.migrate import upgrade
from hub.storage.repositories import Snapshot
from hub.storage.seed import seed
from hub.transports.http_limits import RequestLimitsMiddleware
from hub.transports.llm_http import LlmEndpoints
from hub.transports.mcp_http import McpEndpoints
from hub.upstreams import UpstreamSet
from hub.virtual.registry import Registry

log = logging.getLogger(__name__)


def make_connector(config: UpstreamConfig) -> Connector:
    if isinstance(config, SqlUpstreamConfig):
        return SqlConnector(config)
    if isinstance(config, StdioUpstreamConfig):
        return McpConnector(config)
    auth = http_auth(config.auth, config.name, config.connect_timeout_s)
    if isinstance(config, RestUpstreamConfig):
        return RestConnector(config, auth=auth)
    return McpConnector(config, auth=auth)


STORAGE_CLOSE_TIMEOUT_S = 5.0


@dataclass
class LlmParts:
    """The LLM layer, present when the config has `models:`."""

    gateway: LlmGateway
    endpoints: LlmEndpoints
    usage: UsageWriter
    budgets: Budgets | None
    cache: LlmCache | None


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
    authenticator: Authenticator
    closers: list[Callable[[], Awaitable[None]]]  # clients to close at shutdown (JWKS, Redis)
    database: Database
    live: LiveCatalog
    sync: CatalogSync
    audit: Auditor
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
    llm: LlmParts | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Open the database, serve what it holds, supervise upstreams until the context exits; then stop."""
        try:
            await self.open_storage()
            async with self.audit.running(), anyio.create_task_group() as tg:
                self.upstreams.attach(tg)
                await tg.start(self.endpoints.run)
                await tg.start(self.sync.run)
                if self.llm is not None:
                    await tg.start(self.llm.usage.run)
                    if self.llm.cache is not None:
                        tg.start_soon(self.llm.cache.warm)  # in the background: readiness does not wait for it
                try:
                    yield
                finally:
                    tg.cancel_scope.cancel()
        finally:
            with anyio.move_on_after(STORAGE_CLOSE_TIMEOUT_S, shield=True):
                await self.database.dispose()
                for close in self.closers:
                    await close()

    async def open_storage(self) -> None:
        """Migrate, seed from the config file, and serve the database's catalog (its source of truth)."""
        await upgrade(self.database)
        await seed(self.database, self.config)
        await self.sync.load()
        if self.llm is not None and self.llm.budgets is not None:
            await _seed_budgets(self.database, self.llm.budgets)


def build_hub(config: HubConfig) -> Hub:
    """The hub's parts, serving the config file's catalog until `running()` loads the database's."""
    keys = KeyRing()
    agents = AgentDirectory()
    registry: Registry
    upstreams = UpstreamSet(on_change=lambda name: registry.upstream_changed(name))
    registry = Registry(upstreams.catalogs)
    closers: list[Callable[[], Awaitable[None]]] = []
    database = open_database(config)
    audit = Auditor(config.audit, database, default_journal_dir(config.audit, config.storage.url))
    limiter = _limiter(config, closers)
    limits = Limits(config.limits, limiter)  # rules change at run time (catalog, /admin/limits)
    metrics = CollectorRegistry()
    metrics.register(UpstreamHealthCollector(upstreams.health))
    pipeline = Pipeline(registry, upstreams, limits, audit, McpMetrics(metrics))
    jwt = None
    if config.oauth is not None:
        audience = config.oauth.audience or config.server.public_url
        assert audience is not None  # the config model requires one of the two
        jwt = JwtVerifier(config.oauth, audience)
        closers.append(jwt.aclose)
    oauth = config.oauth
    authenticator = Authenticator(
        keys, agents, jwt, oauth.agent_claim if oauth else "sub", oauth.team_claim if oauth else None
    )
    live = LiveCatalog(upstreams, registry, agents, keys, make_connector, limits)
    hub = Hub(
        config=config,
        keys=keys,
        agents=agents,
        upstreams=upstreams,
        registry=registry,
        pipeline=pipeline,
        endpoints=McpEndpoints(
            pipeline, lambda request: authenticator.authenticate(request.headers), config.server, audit
        ),
        authenticator=authenticator,
        closers=closers,
        database=database,
        live=live,
        sync=CatalogSync(database, live, config.storage.sync_interval_s, _change_notices(config, closers)),
        audit=audit,
        metrics=metrics,
    )
    if config.models:
        hub.llm = _llm(config, hub, limiter, closers)
        pipeline.sampling = sampling_for(hub.llm.gateway, registry.config)
    registry.subscribe(hub.endpoints.lists_changed)
    live.load(
        Snapshot(
            config.upstreams,
            config.virtual_servers,
            config.agents,
            tuple(keys_from_config(config.agents)),
            config.teams,
            config.limits,
        )
    )
    return hub


def _limiter(config: HubConfig, closers: list[Callable[[], Awaitable[None]]]) -> RateLimiter:
    limiter: RateLimiter = LocalRateLimiter()
    if config.storage.redis_url is not None:
        # Redis is an optional extra (hub[redis]): imported only when a Redis URL is configured.
        from hub.governance.redis_limits import RedisRateLimiter

        shared = RedisRateLimiter(config.storage.redis_url, LocalRateLimiter())
        closers.append(shared.aclose)
        limiter = shared
    return limiter


def _llm(
    config: HubConfig, hub: Hub, limiter: RateLimiter | None, closers: list[Callable[[], Awaitable[None]]]
) -> LlmParts:
    # litellm is an optional extra (hub[llm]): imported only when models are configured.
    from connectors.llm.connector import LiteLlmBackend

    backend = LiteLlmBackend(config.models, config.llm)
    closers.append(backend.aclose)
    limits = LlmLimits(config.llm.limits, limiter) if config.llm.limits and limiter else None
    budgets = Budgets(config.llm.budgets, _spend_counter(config, closers)) if config.llm.budgets else None
    usage = UsageWriter(hub.database)
    router = ModelRouter(config.models, config.llm)
    metrics = LlmMetrics(hub.metrics)
    cache = _llm_cache(config, CacheEmbeddingsParts(backend, usage, budgets, metrics), hub.metrics, closers)
    audit = LlmAudit(hub.audit) if hub.audit.enabled else None
    wire = WireCache(cache) if cache is not None else None
    gateway = LlmGateway(backend, router, limits, budgets, usage, metrics, wire, audit)
    authenticate = hub.authenticator.authenticate
    return LlmParts(gateway, LlmEndpoints(gateway, authenticate), usage, budgets, cache)


@dataclass(frozen=True)
class CacheEmbeddingsParts:
    """What the cache's calls to an embedding deployment go through and are counted in."""

    backend: LlmBackend
    usage: UsageWriter
    budgets: Budgets | None
    observer: LlmObserver


def _spend_counter(config: HubConfig, closers: list[Callable[[], Awaitable[None]]]) -> SpendCounter:
    if config.storage.redis_url is None:
        return LocalSpendCounter()
    # Redis is an optional extra (hub[redis]): imported only when a Redis URL is configured.
    from hub.llm.redis_budgets import RedisSpendCounter

    shared = RedisSpendCounter(config.storage.redis_url, LocalSpendCounter())
    closers.append(shared.aclose)
    return shared


def _llm_cache(
    config: HubConfig,
    parts: CacheEmbeddingsParts,
    metrics: CollectorRegistry,
    closers: list[Callable[[], Awaitable[None]]],
) -> LlmCache | None:
    """The response cache `llm.cache` describes: in this process, or in Redis for every replica."""
    settings = config.llm.cache
    if settings is None or not settings.enabled:
        return None
    store: CacheBackend = MemoryBackend(settings.max_entries, settings.max_partition_entries)
    if settings.backend == "redis":
        # Redis is an optional extra (hub[redis]): imported only when the cache is shared through it.
        from hub.llm.cache.redis import RedisBackend

        assert config.storage.redis_url is not None  # the config model requires it for this backend
        store = RedisBackend(config.storage.redis_url, settings.redis_prefix, settings.max_partition_entries)
    embedder: Embedder = LocalEmbedder()
    if settings.embedder != "local":
        call = CacheEmbeddings(parts.backend, settings.embedder, parts.usage, parts.budgets, parts.observer)
        embedder = DeploymentEmbedder(settings.embedder, call)
    cache = LlmCache(settings, store, embedder)
    closers.append(cache.aclose)
    metrics.register(CacheCollector(cache.stats))
    return cache


async def _seed_budgets(database: Database, budgets: Budgets) -> None:
    """Count this period's spending already in the usage table, so a restart does not reset budgets.

    Only for in-process counters: Redis keeps its counts across restarts, and every replica would add them again.
    """
    if not isinstance(budgets.counter, LocalSpendCounter):
        return
    now = datetime.now(UTC)
    for rule in budgets.rules:
        spent = await spent_since(database, rule.per, period_start(rule.period, now))
        for who, (tokens, cost) in spent.items():
            await budgets.counter.add(budget_key(rule, who, now), tokens, cost, 0)


def _change_notices(config: HubConfig, closers: list[Callable[[], Awaitable[None]]]) -> ChangeNotices | None:
    if config.storage.redis_url is None:
        return None
    # Redis is an optional extra (hub[redis]): imported only when a Redis URL is configured.
    from hub.storage.redis_changes import RedisChangeNotices

    notices = RedisChangeNotices(config.storage.redis_url)
    closers.append(notices.aclose)
    return notices


class _Front:
    """The app uvicorn runs: agents' MCP requests go straight to the MCP endpoints, the rest to Starlette.

    `/servers/...` carries every agent request, and Starlette's router and exception middlewares,
    which the endpoints do not need (they answer their own errors), were a visible share of a
    tools/call's CPU (docs/performance.md). The endpoints see the scope a `Mount("/servers")` gives.
    """

    def __init__(self, app: Starlette, servers: ASGIApp) -> None:
        self._app = app
        self._servers = servers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        if scope["type"] == "http" and scope["path"].removeprefix(root).startswith("/servers/"):
            mounted = {**scope, "app_root_path": scope.get("app_root_path", root), "root_path": root + "/servers"}
            await self._servers(mounted, receive, send)
            return
        await self._app(scope, receive, send)


def build_app(hub: Hub) -> ASGIApp:
    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> JSONResponse:
        states = {h.name: h.state for h in hub.upstreams.health()}
        ready = all(state in ("ready", "idle") for state in states.values())  # idle: starts on first use
        body: dict[str, object] = {"ready": ready, "upstreams": states}
        if hub.llm is not None and hub.llm.cache is not None:
            # Shown, not waited for: MCP and uncached LLM calls are served while the cache's model loads.
            body["llm_cache_embedder"] = hub.llm.cache.embedder_state
        return JSONResponse(body, status_code=200 if ready else 503)

    async def protected_resource(request: Request) -> JSONResponse:
        base = (hub.config.server.public_url or str(request.base_url)).rstrip("/")
        oauth = hub.config.oauth
        return JSONResponse(
            {
                "resource": (oauth.audience if oauth and oauth.audience else base),
                "authorization_servers": [oauth.issuer] if oauth else [],
                "scopes_supported": list(oauth.required_scopes) if oauth else [],
                "bearer_methods_supported": ["header"],
            },
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with hub.running():
            yield

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(hub.metrics), media_type=CONTENT_TYPE_LATEST)

    routes: list[Route | Mount] = [
        Route("/health", health),
        Route("/metrics", metrics),
        Route("/ready", ready),
        Route("/.well-known/oauth-protected-resource", protected_resource),
        Mount("/servers", app=hub.endpoints),
        Mount(
            "/admin", app=AdminApi(AdminContext(hub.database, hub.live, AdminCredentials(hub.config.server), hub.sync))
        ),
    ]
    if hub.llm is not None:
        routes.append(Mount("/v1", app=hub.llm.endpoints))
    limits = hub.config.server.limits

    def bounded(app: ASGIApp) -> ASGIApp:
        return RequestLimitsMiddleware(
            app,
            max_body_bytes=limits.max_body_bytes,
            max_header_count=limits.max_header_count,
            max_header_bytes=limits.max_header_bytes,
            body_timeout_s=limits.slow_client_timeout_s,
        )

    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(bounded)])
    return _Front(app, bounded(hub.endpoints))
