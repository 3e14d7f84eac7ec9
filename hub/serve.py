"""Run the hub under uvicorn and tell the person at the terminal where to connect."""

from __future__ import annotations

import socket

import uvicorn

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
    limits = config.server.limits
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_keep_alive=5,
        http=slow_header_guard(limits.slow_client_timeout_s),
        timeout_graceful_shutdown=int(config.server.shutdown_grace_s),
        lifespan="on",
    )
    server = uvicorn.Server(uv_config)
    sock = _bind(host, port)  # bound here so that port 0 can be reported as the port really in use
    _banner(config, host, sock.getsockname()[1])
    server.run(sockets=[sock])
    return 0


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
