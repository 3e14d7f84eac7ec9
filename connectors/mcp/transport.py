"""Open the SDK client transport an upstream's config names, and notice when it closes.

stdio upstreams get their stderr captured line by line into the hub's log. Every transport's read
side is watched so the supervisor learns at once that the upstream went away (process exit, SSE
stream closed) instead of on the next call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Self

import anyio
import httpx2
from mcp.client._transport import TransportStreams
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import MCP_SESSION_ID, streamable_http_client
from mcp.shared._stream_protocols import ReadStream
from mcp.shared.message import SessionMessage

from connectors.keepalive import UPSTREAM_KEEPALIVE_S
from hub.config.dump import MASK, secrets_of
from hub.config.model import SseUpstreamConfig, StdioUpstreamConfig, StreamableHttpUpstreamConfig

log = logging.getLogger(__name__)

McpUpstreamConfig = StdioUpstreamConfig | SseUpstreamConfig | StreamableHttpUpstreamConfig


class WatchedReadStream:
    """A read stream that sets `closed` when the transport behind it ends."""

    def __init__(self, inner: ReadStream[SessionMessage | Exception], closed: anyio.Event) -> None:
        self._inner = inner
        self._closed = closed

    async def receive(self) -> SessionMessage | Exception:
        try:
            return await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._closed.set()
            raise

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SessionMessage | Exception:
        try:
            return await self.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self.aclose()
        return None

    def __getattr__(self, name: str) -> Any:  # e.g. `last_context`, read by the SDK when present
        return getattr(self._inner, name)


class SessionIdTap:
    """The `Mcp-Session-Id` a Streamable HTTP transport sends, seen on its HTTP client's requests.

    The SDK transport keeps the id the upstream gave it at `initialize` on its
    `StreamableHTTPTransport`, an object local to `streamable_http_client` that nothing hands out;
    it then sends that id on every later request. The lean path (connectors/mcp/lean_calls.py)
    reads it here. Requests without the header (the `initialize` itself, an OAuth token fetch) leave
    it unchanged: the SDK never clears an id once it has one.

    It also sees the upstream end the session. A 404 to a request carrying the id means the upstream
    no longer knows it (it restarted, or expired it), and the client MUST then start a new session
    (Streamable HTTP, "Session Management"); the SDK client only reports the error and keeps the dead
    id, so `on_gone` tells the supervisor, which reconnects.
    """

    def __init__(self, on_gone: Callable[[], None] | None = None) -> None:
        self.value: str | None = None
        self._on_gone = on_gone

    async def __call__(self, request: httpx2.Request) -> None:
        session_id = request.headers.get(MCP_SESSION_ID)
        if session_id is not None:
            self.value = session_id

    async def response(self, response: httpx2.Response) -> None:
        if response.status_code == 404 and MCP_SESSION_ID in response.request.headers:
            self.gone()

    def gone(self) -> None:
        """The upstream answered this session's id with 404: the session is over."""
        if self._on_gone is not None:
            self._on_gone()


@asynccontextmanager
async def open_transport(
    config: McpUpstreamConfig,
    closed: anyio.Event,
    auth: httpx2.Auth | None = None,
    session_id: SessionIdTap | None = None,
) -> AsyncIterator[TransportStreams]:
    """Open the transport for `config`; `closed` is set when its read side ends; `auth` signs HTTP requests.

    `session_id` learns the Streamable HTTP session's id (other transports have none).
    """
    if isinstance(config, StdioUpstreamConfig):
        transport = _stdio(config)
    elif isinstance(config, SseUpstreamConfig):
        transport = _sse(config, auth)
    else:
        transport = _streamable_http(config, auth, session_id)
    async with transport as (read, write):
        yield WatchedReadStream(read, closed), write


@asynccontextmanager
async def _stdio(config: StdioUpstreamConfig) -> AsyncIterator[TransportStreams]:
    env = dict(os.environ)
    env.update({k: v.get_secret_value() for k, v in config.env.items()})
    params = StdioServerParameters(
        command=config.command,
        args=list(config.args),
        env=env,
        cwd=str(config.cwd) if config.cwd else None,
        encoding_error_handler="replace",
    )
    read_fd, write_fd = os.pipe()
    errlog = os.fdopen(write_fd, "w", encoding="utf-8", errors="replace")
    async with anyio.create_task_group() as tg:
        tg.start_soon(_pump_stderr, config.name, read_fd, scrubber(config))
        try:
            async with stdio_client(params, errlog=errlog) as streams:
                yield streams
        finally:
            errlog.close()  # the child holds its own copy; the pump ends when the child exits too
            tg.cancel_scope.cancel()  # don't wait on grandchildren that inherited the pipe


async def _pump_stderr(upstream: str, fd: int, scrub: Callable[[str], str]) -> None:
    """Copy an upstream's stderr into the log, one record a line, without the credentials it was given."""

    def read_lines() -> None:
        with os.fdopen(fd, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    log.info("upstream.stderr", extra={"upstream": upstream, "line": scrub(line)[:2000]})

    await anyio.to_thread.run_sync(read_lines, abandon_on_cancel=True)


def scrubber(config: McpUpstreamConfig) -> Callable[[str], str]:
    """A function that blanks every credential of `config` out of a text (an error, a stderr line)."""
    values = sorted({v for v in secrets_of(config).values() if len(v) >= _MIN_SCRUBBED}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for value in values:
            text = text.replace(value, MASK)
        return text

    return scrub


_MIN_SCRUBBED = 4  # shorter values would blank ordinary words


def _headers(config: SseUpstreamConfig | StreamableHttpUpstreamConfig) -> dict[str, str]:
    return {k: v.get_secret_value() for k, v in config.headers.items()}


def _sse(config: SseUpstreamConfig, auth: httpx2.Auth | None) -> Any:
    return sse_client(config.url, headers=_headers(config), timeout=config.connect_timeout_s, auth=auth)


@asynccontextmanager
async def _streamable_http(
    config: StreamableHttpUpstreamConfig, auth: httpx2.Auth | None, session_id: SessionIdTap | None
) -> AsyncIterator[TransportStreams]:
    timeout = httpx2.Timeout(config.connect_timeout_s, read=max(config.call_timeout_s, 300.0))
    limits = httpx2.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=UPSTREAM_KEEPALIVE_S)
    hooks: dict[str, list[Callable[..., Any]]] = (
        {"request": [session_id], "response": [session_id.response]} if session_id is not None else {}
    )
    async with (
        httpx2.AsyncClient(
            headers=_headers(config), auth=auth, timeout=timeout, limits=limits, event_hooks=hooks
        ) as http,
        streamable_http_client(config.url, http_client=http) as streams,
    ):
        yield streams
