"""A test upstream whose tools make concurrency, progress, slowness, cancellation and crashes observable.

    python tests/servers/echo.py                                        # stdio
    python tests/servers/echo.py --transport streamable-http --port 0   # prints `LISTENING <url>`

Tools:

* `echo(text)` - returns `text`;
* `rendezvous(text, group, parties)` - reports progress "arrived <text>", waits until `parties` calls
  of `group` are in flight at once, reports "leaving <text>", then returns `text`: a call that
  returns proves the calls overlapped, without any sleep;
* `slow(seconds)` - sleeps, then returns "slept";
* `hold(seconds)` - reports progress "holding", sleeps, then returns "held": a caller knows the
  call is in flight when the progress arrives;
* `block(key)` - reports progress "blocked" and never returns; `await_cancelled(key)` returns once
  the hub has cancelled it;
* `crash()` - ends the process at once (exit status 3), as a crashing upstream would;
* `pid()` - this process's id;
* `headers()` - the HTTP request headers the call arrived with, as a JSON object (`{}` over stdio);
* `regional(region)` - `region` is an `x-mcp-header` argument: returns it and the `Mcp-Param-Region`
  header it arrived with;
* `chatty(text)` - sends a log message "echoing <text>", then returns `text`;
* `fail(message)` - raises, so the call answers with `isError` and `message`;
* `ask(question)` - asks the client (`elicitation/create`, handshake era) for an `answer`, then
  returns "<action> <answer>";
* `cut()` - over HTTP, answered by `_CutStreams` with an SSE stream that ends at once, with no event
  id and no response, as a proxy cutting a long answer short would leave it; over stdio, "whole".
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from typing import Annotated, Any

import anyio
import uvicorn
from mcp.server import MCPServer
from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

mcp: MCPServer[Any] = MCPServer("echo", version="1.0.0")

RENDEZVOUS_TIMEOUT = 20.0
"""Seconds a rendezvous waits for its other parties before failing."""

_arrived: dict[str, int] = {}
_complete: dict[str, anyio.Event] = {}
_cancelled: dict[str, anyio.Event] = {}


@mcp.tool()
def echo(text: str) -> str:
    """Returns `text` unchanged."""
    return text


@mcp.tool()
async def rendezvous(text: str, ctx: Context[Any, Any], group: str = "default", parties: int = 2) -> str:
    """Waits until `parties` calls of `group` are in flight together, then returns `text`."""
    await ctx.report_progress(0, 1, f"arrived {text}")
    event = _complete.setdefault(group, anyio.Event())
    _arrived[group] = _arrived.get(group, 0) + 1
    if _arrived[group] >= parties:
        event.set()
    with anyio.fail_after(RENDEZVOUS_TIMEOUT):
        await event.wait()
    await ctx.report_progress(1, 1, f"leaving {text}")
    return text


@mcp.tool()
async def slow(seconds: float) -> str:
    """Sleeps `seconds`, then returns "slept"."""
    await anyio.sleep(seconds)
    return "slept"


@mcp.tool()
async def hold(seconds: float, ctx: Context[Any, Any]) -> str:
    """Reports progress "holding", sleeps `seconds`, then returns "held"."""
    await ctx.report_progress(0, None, "holding")
    await anyio.sleep(seconds)
    return "held"


@mcp.tool()
async def block(key: str, ctx: Context[Any, Any]) -> str:
    """Reports progress "blocked", then waits until cancelled; `await_cancelled(key)` returns once it is."""
    cancelled = _cancelled.setdefault(key, anyio.Event())
    await ctx.report_progress(0, None, "blocked")
    try:
        await anyio.sleep_forever()
    finally:
        cancelled.set()
    return "unreachable"


@mcp.tool()
async def await_cancelled(key: str) -> str:
    """Returns "cancelled" once `block(key)` has been cancelled (fails after RENDEZVOUS_TIMEOUT)."""
    with anyio.fail_after(RENDEZVOUS_TIMEOUT):
        await _cancelled.setdefault(key, anyio.Event()).wait()
    return "cancelled"


@mcp.tool()
def crash() -> str:
    """Ends this process at once, without answering."""
    os._exit(3)


@mcp.tool()
def pid() -> int:
    """This process's id."""
    return os.getpid()


@mcp.tool()
def headers(ctx: Context[Any, Any]) -> str:
    """The HTTP request headers this call arrived with, as a JSON object."""
    return json.dumps(dict(ctx.headers or {}), sort_keys=True)


@mcp.tool()
def regional(
    region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})], ctx: Context[Any, Any]
) -> str:
    """Returns `region` and the Mcp-Param-Region header it arrived with."""
    return f"{region} {(ctx.headers or {}).get('mcp-param-region')}"


@mcp.tool()
async def chatty(text: str, ctx: Context[Any, Any]) -> str:
    """Sends the log message "echoing <text>", then returns `text`."""
    await ctx.info(f"echoing {text}")
    return text


@mcp.tool()
def fail(message: str) -> str:
    """Raises: the call answers with isError and `message`."""
    raise ValueError(message)


class Answer(BaseModel):
    answer: str


@mcp.tool()
async def ask(question: str, ctx: Context[Any, Any]) -> str:
    """Asks the client for an `answer` to `question` (elicitation/create), then returns "<action> <answer>"."""
    result = await ctx.elicit(question, Answer)
    return f"{result.action} {result.data.answer if isinstance(result, AcceptedElicitation) else ''}".rstrip()


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"LISTENING http://{host}:{port}/mcp", flush=True)


@mcp.tool()
def cut() -> str:
    """Over HTTP the call never gets here: `_CutStreams` answers it with an SSE stream cut short."""
    return "whole"


class _CutStreams:
    """ASGI: a tools/call of `cut` gets `200 text/event-stream` with an empty body; all else goes to the app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        messages, body, more = [], b"", True
        while more:
            message = await receive()
            messages.append(message)
            body, more = body + message.get("body", b""), message.get("more_body", False)
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        params = request.get("params") if isinstance(request, dict) else None
        if isinstance(params, dict) and request.get("method") == "tools/call" and params.get("name") == "cut":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]}
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        replay = iter(messages)

        async def replayed() -> Any:
            return next(replay, None) or await receive()

        await self.app(scope, replayed, send)


def main() -> None:
    parser = argparse.ArgumentParser(description="echo test upstream")
    parser.add_argument("--transport", choices=["stdio", "streamable-http"], default="stdio")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.transport == "stdio":
        mcp.run("stdio")
        return
    app = _CutStreams(mcp.streamable_http_app(host="127.0.0.1"))
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning")
    anyio.run(_AnnouncingServer(config).serve)


if __name__ == "__main__":
    main()
