"""The benchmark's upstream: one `echo` tool, as fast as the official SDK serves it.

    python -m bench.upstream          # prints `LISTENING http://127.0.0.1:<port>/mcp` once it accepts connections

The low-level `Server` with JSON responses (no SSE framing), a stateful session manager for
handshake-era clients (one long-lived session loop each, no per-request transport) and
`get_tool_input_schema`, so a 2026-07-28 call's `Mcp-Param-*` check is a dict lookup instead of a
`tools/list` run. Both the direct and the via-hub measurements call this same process.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp.server import Server, ServerRequestContext
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from starlette.applications import Starlette
from starlette.routing import Route

ECHO_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
_TOOLS = types.ListToolsResult(
    tools=[types.Tool(name="echo", description="Returns its text argument.", input_schema=ECHO_SCHEMA)]
)
_SCHEMAS: dict[str, Mapping[str, Any]] = {"echo": ECHO_SCHEMA}


async def _list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> Any:
    return _TOOLS


async def _call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
    text = str((params.arguments or {}).get("text", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def build_app() -> Starlette:
    server: Server[Any] = Server(
        "bench-echo",
        version="1.0.0",
        get_tool_input_schema=_SCHEMAS.get,
        on_list_tools=_list_tools,
        on_call_tool=_call_tool,
    )
    manager = StreamableHTTPSessionManager(app=server, json_response=True, session_idle_timeout=None)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    return Starlette(routes=[Route("/mcp", endpoint=StreamableHTTPASGIApp(manager))], lifespan=lifespan)


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"LISTENING http://{host}:{port}/mcp", flush=True)


def main() -> None:
    config = uvicorn.Config(build_app(), host="127.0.0.1", port=0, log_level="warning", access_log=False)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(_AnnouncingServer(config).serve)


if __name__ == "__main__":
    main()
