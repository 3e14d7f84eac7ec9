"""Run the hub under uvicorn and tell the person at the terminal where to connect."""

from __future__ import annotations

import sys

import uvicorn

from hub.app import build_app, build_hub
from hub.config.model import HubConfig
from hub.observability.logging import configure_logging


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
        timeout_graceful_shutdown=int(config.server.shutdown_grace_s),
        lifespan="on",
    )
    server = uvicorn.Server(uv_config)
    _banner(config, host, port)
    server.run()
    return 0


def _banner(config: HubConfig, host: str, port: int) -> None:
    base = config.server.public_url or f"http://{host}:{port}"
    lines = [f"hub listening on {base}"]
    for vs in config.virtual_servers:
        lines.append(f"  {vs.name}: {base}/servers/{vs.name}/mcp  (legacy SSE: {base}/servers/{vs.name}/sse)")
    if host in ("127.0.0.1", "localhost", "::1"):
        for agent in config.agents:
            for key in agent.keys:
                if key.key is not None:
                    lines.append(f"  agent {agent.name!r} key: {key.key.get_secret_value()}")
    print("\n".join(lines), file=sys.stderr, flush=True)
