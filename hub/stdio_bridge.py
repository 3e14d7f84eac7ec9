"""`hub stdio`: one virtual server on stdin/stdout, either served locally or bridged to a remote hub.

The bridge moves JSON-RPC messages between the SDK's stdio server transport and its Streamable HTTP
client transport unchanged, so the desktop client and the remote hub negotiate directly.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import anyio
import httpx2
from mcp.client.streamable_http import streamable_http_client
from mcp.server.stdio import stdio_server

from hub.config.model import HubConfig
from hub.errors import ConfigError
from hub.observability.logging import configure_logging
from hub.transports.mcp_server import VirtualMcpServer

log = logging.getLogger(__name__)


def serve_local(config: HubConfig, server: str, agent: str) -> int:
    # Imported here: the remote bridge needs none of the hub, and importing every connector, the
    # storage layer and the admin API would more than double its start time.
    from hub.app import build_hub

    configure_logging(config.observability.log_level, config.observability.log_format)  # stderr only
    hub = build_hub(config)
    principal = hub.agents.principal(agent)
    if principal is None:
        raise ConfigError(f"agent {agent!r} is not defined")
    hub.pipeline.open(principal, server)  # fail now, not on the first request

    async def main() -> None:
        vs = VirtualMcpServer(server, hub.pipeline.description(server), hub.pipeline, fixed=principal)

        def lists_changed(name: str) -> None:
            if name == server:
                tg.start_soon(vs.announce_lists_changed)

        hub.registry.subscribe(lists_changed)
        async with hub.running(), anyio.create_task_group() as tg:
            with anyio.move_on_after(10):  # let upstreams come up so the first tools/list is complete
                await hub.upstreams.wait_settled()
            async with stdio_server() as (read, write):
                await vs.server.run(read, write, vs.server.create_initialization_options())
            tg.cancel_scope.cancel()

    anyio.run(main)
    return 0


def bridge_remote(url: str, key: str) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)

    async def main() -> None:
        headers = {"Authorization": f"Bearer {key}"}
        timeout = httpx2.Timeout(30.0, read=300.0)
        async with (
            httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
            streamable_http_client(url, http_client=http) as (remote_read, remote_write),
            stdio_server() as (local_read, local_write),
            anyio.create_task_group() as tg,
        ):

            async def pump(source: Any, sink: Any) -> None:
                """Copy one direction; when it ends, close both directions so every transport can wind down."""
                try:
                    async for message in source:
                        if isinstance(message, Exception):
                            log.warning("bridge.transport_error", extra={"error": str(message)})
                            continue
                        await sink.send(message)
                finally:
                    with anyio.CancelScope(shield=True):
                        await remote_write.aclose()
                        await local_write.aclose()
                    tg.cancel_scope.cancel()

            tg.start_soon(pump, local_read, remote_write)
            tg.start_soon(pump, remote_read, local_write)

    anyio.run(main)
    return 0
