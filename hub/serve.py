"""Run the hub under uvicorn and tell the person at the terminal where to connect."""

from __future__ import annotations

import gc
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Final

import anyio
import sniffio
import uvicorn
from sse_starlette.sse import AppStatus
from starlette.types import ASGIApp

from hub.app import build_app, build_hub
from hub.config.model import HubConfig
from hub.observability.logging import configure_logging
from hub.transports.http_limits import slow_header_guard


def serve(config: HubConfig, host: str | None = None, port: int | None = None) -> int:
    configure_logging(config.observability.log_level, config.observability.log_format)
    hub = build_hub(config)
    app = build_app(hub)
    host = host or config.server.host
    port = config.server.port if port is None else port
    uv_config = uvicorn_config(app, config, host, port)
    server = _DrainingServer(uv_config, hub.endpoints.drained, config.server.shutdown_grace_s)
    sock = _bind(host, port)  # bound here so that port 0 can be reported as the port really in use
    _banner(config, host, sock.getsockname()[1])
    with asyncio_named():
        server.run(sockets=[sock])
    return 0


def uvicorn_config(app: ASGIApp, config: HubConfig, host: str, port: int) -> uvicorn.Config:
    """uvicorn's settings from `server`: header bounds, the slow-client guard, keep-alive, shutdown grace."""
    limits = config.server.limits
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=config.server.keep_alive_s,
        http=slow_header_guard(limits.slow_client_timeout_s),
        timeout_graceful_shutdown=int(config.server.shutdown_grace_s),
        lifespan="on",
    )


@contextmanager
def asyncio_named() -> Iterator[None]:
    """Name this thread's event loop to sniffio once, so anyio stops sniffing for it on every call.

    anyio asks sniffio which event loop it runs on for every cancel scope, deadline, event and task
    group. `anyio.run` sets sniffio's context variable; uvicorn's loop sets nothing, so each ask
    re-imports asyncio and looks up the current task: about 5 % of the hub's instructions per
    tools/call (docs/performance.md). sniffio's thread-local name answers first; the loop runs in
    this thread only, and threads the hub starts keep sniffing for themselves.
    """
    previous = sniffio.thread_local.name
    sniffio.thread_local.name = "asyncio"
    try:
        yield
    finally:
        sniffio.thread_local.name = previous


class _DrainingServer(uvicorn.Server):
    """On shutdown, in-flight MCP calls finish and are answered before streams are closed.

    sse-starlette would end every SSE response the moment uvicorn is told to stop, cutting off calls
    whose answers ride on one; here open streams are only ended once no POSTed message is still
    being answered (or the grace period is over), and uvicorn then waits for those connections.
    """

    def __init__(self, config: uvicorn.Config, drained: Callable[[], Awaitable[None]], grace_s: float) -> None:
        super().__init__(config)
        self._drained = drained
        self._grace_s = grace_s
        AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]  # sse-starlette is untyped here

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # the app's lifespan has started: upstreams, catalogs, models
        settle_heap()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        async def end_streams_when_drained() -> None:
            with anyio.move_on_after(self._grace_s):
                await self._drained()
            AppStatus.should_exit = True

        async with anyio.create_task_group() as tg:
            tg.start_soon(end_streams_when_drained)
            await super().shutdown(sockets)


# Net new tracked objects between young collections (CPython's default: 700). docs/performance.md
YOUNG_COLLECTION_THRESHOLD: Final = 10_000


def settle_heap() -> None:
    """Keep the cyclic garbage collector off what startup built and off the objects of calls in flight.

    Startup leaves some 200 000 long-lived objects (modules, models, schemas). CPython's full
    collection walks all of them: under load the hub ran one every few seconds, each stopping the
    event loop 100-187 ms. Collected once and frozen here, they are never walked again, and a full
    collection walks only what was made since. Frozen objects are never freed: what startup built
    and later drops (a replaced catalog, say) stays allocated, once.

    A call allocates hundreds of objects and frees nearly all of them by reference counting, but at
    the default threshold of 700 the young generation was collected every dozen calls while those
    objects were still alive, promoting them to be walked again. With a threshold far above what
    calls in flight hold at once, young collections run for real garbage (reference cycles) only.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say they are TCP, and
    # without it every response body waits for the client's delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _banner(config: HubConfig, host: str, port: int) -> None:
    base = config.server.public_url or f"http://{host}:{port}"
    lines = [f"LISTENING {base}"]
    for vs in config.virtual_servers:
        lines.append(f"  {vs.name}: {base}/servers/{vs.name}/mcp  (legacy SSE: {base}/servers/{vs.name}/sse)")
    if host in ("127.0.0.1", "localhost", "::1"):
        for agent in config.agents:
            for key in agent.keys:
                if key.key is not None:
                    lines.append(f"  agent {agent.name!r} key: {key.key.get_secret_value()}")
    print("\n".join(lines), flush=True)
