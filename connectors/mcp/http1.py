"""The lean tools/call path's HTTP client: keep-alive HTTP/1.1 requests to one upstream origin.

The lean path (connectors/mcp/lean_calls.py) sends one kind of request to one upstream: a POST with
a JSON body, answered by a JSON body or an SSE stream (and, when an upstream ends that stream early
for the client to resume, a GET with `Last-Event-ID`). aiohttp did this for it, and was a tenth of
the hub's instructions per tools/call: a request and response object graph, a writer task, cookie,
redirect, trace and timeout machinery per POST (measured, docs/performance.md). This client does
only what that request needs:

- connections to the upstream's origin (http, or https with the system's default trust), opened
  with a connect timeout, kept alive and reused LIFO while the server keeps them alive, dropped
  after `keepalive_s` idle (below the server's own idle close, so a reused connection is one the
  server still holds), at most `limit` open at once;
- the request written in one send: request line, `Host`, the caller's headers, `Content-Length`
  (none for a GET without a body) and the body (header names and values are checked: a CR, LF or
  NUL in them is refused, never sent);
- the response parsed by httptools (llhttp, the parser uvicorn serves with): status and headers
  first, then the body read whole or chunk by chunk (chunked, `Content-Length` or until close), with
  reading paused while a slow consumer has more than `_HIGH_WATER` bytes unread;
- a response released before its body ended, or whose server asked to close, closes its connection;
  so does cancellation. Nothing is retried: a POST that may have reached the upstream is not resent.
- a read timeout: no byte from the server for `read_timeout_s` fails the response with
  `TimeoutError` (checked lazily, with one timer per response rather than one per read).

Nothing else: no redirects (the caller sees the 3xx), no cookies, no proxies (aiohttp did not use the
environment's either), no compression (none is offered, so none should come back).
"""

from __future__ import annotations

import asyncio
import collections
import re
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from typing import cast

import httptools
import yarl

_HIGH_WATER = 256 * 1024  # unread body bytes at which reading from the socket pauses
_FORBIDDEN = re.compile("[\r\n\0]")


class HttpConnectionError(ConnectionError):
    """The connection failed or closed before the response was complete (or could not be opened)."""


class Headers:
    """Response headers: `get` and `in` by case-insensitive name, `items()` in wire order."""

    def __init__(self, raw: list[tuple[str, str]]) -> None:
        self._raw = raw
        self._by_name: dict[str, str] = {}
        for name, value in raw:
            key = name.lower()
            self._by_name[key] = f"{self._by_name[key]}, {value}" if key in self._by_name else value

    def get(self, name: str, default: str = "") -> str:
        return self._by_name.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._by_name

    def items(self) -> list[tuple[str, str]]:
        return list(self._raw)


class Http1Client:
    """A keep-alive connection pool to one origin; `request` sends one request and returns its response."""

    def __init__(
        self,
        url: yarl.URL,
        *,
        headers: Mapping[str, str],
        connect_timeout_s: float,
        read_timeout_s: float,
        keepalive_s: float,
        limit: int = 256,
    ) -> None:
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {url}")
        self._origin = url.origin()
        self._host = url.raw_host or url.host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._ssl = ssl.create_default_context() if url.scheme == "https" else None
        self._headers = {"host": url.host_port_subcomponent or self._host, **headers}
        self._names = {name.lower() for name in self._headers}
        self._fixed = _header_lines(self._headers)
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._keepalive_s = keepalive_s
        self._slots = asyncio.Semaphore(limit)
        self._idle: collections.deque[_Connection] = collections.deque()
        self._closed = False

    async def request(self, method: str, url: yarl.URL, headers: Mapping[str, str], body: bytes = b"") -> Response:
        """Send one request to `url` (on this client's origin) and return the response once its headers arrived.

        A GET without a body goes out without a content-length.
        """
        if url.origin() != self._origin:
            raise ValueError(f"{url} is not on this client's origin {self._origin}")
        target = url.raw_path_qs or "/"
        fixed = self._fixed
        if any(name.lower() in self._names for name in headers):  # the request's own value wins
            overridden = {name.lower() for name in headers}
            fixed = _header_lines({k: v for k, v in self._headers.items() if k.lower() not in overridden})
        length = b"" if method == "GET" and not body else b"content-length: %d\r\n" % len(body)
        head = b"".join(
            (
                method.encode("ascii"),
                b" ",
                target.encode("ascii"),
                b" HTTP/1.1\r\n",
                fixed,
                _header_lines(headers),
                length,
                b"\r\n",
            )
        )
        await self._slots.acquire()
        connection: _Connection | None = None
        try:
            connection = await self._connection()
            connection.send(head + body)
            await connection.headers_received(self._read_timeout_s)
        except BaseException:
            if connection is not None:
                connection.close()
            self._slots.release()
            raise
        return Response(connection, self._done)

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    async def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        now = loop.time()
        while self._idle:
            connection = self._idle.pop()
            if connection.open and now - connection.idle_since < self._keepalive_s:
                return connection
            connection.close()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, connection = await loop.create_connection(
                    _Connection,
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except (OSError, TimeoutError) as exc:
            raise HttpConnectionError(f"cannot connect to {self._origin}: {exc or type(exc).__name__}") from exc
        return connection

    def _done(self, connection: _Connection, reuse: bool) -> None:
        """A response is over: its connection goes back to the pool if it can be reused, else closes."""
        self._slots.release()
        if reuse and not self._closed and connection.open:
            connection.idle_since = asyncio.get_running_loop().time()
            self._idle.append(connection)
        else:
            connection.close()


class Response:
    """One response: `status` and `headers` at once, the body through `read` or `chunks`; then `release`."""

    def __init__(self, connection: _Connection, done: _Done) -> None:
        self._connection = connection
        self._done: _Done | None = done
        self.status = connection.status
        self.headers = Headers(connection.raw_headers)

    async def read(self) -> bytes:
        chunks = []
        while (chunk := await self._connection.next_chunk()) is not None:
            chunks.append(chunk)
        return b"".join(chunks)

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self._connection.next_chunk()) is not None:
            yield chunk

    def release(self) -> None:
        """Done with the response: its connection is reused if the whole body has arrived, else closed."""
        self._finish(reuse=self._connection.complete)

    def close(self) -> None:
        self._finish(reuse=False)

    def _finish(self, *, reuse: bool) -> None:
        if self._done is not None:
            done, self._done = self._done, None
            done(self._connection, reuse)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: the socket's protocol and the parser's callbacks, one response at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[None] | None = None
        self._chunks: collections.deque[bytes] = collections.deque()
        self._unread = 0
        self._paused = False
        self._headers_done = False
        self._awaiting = False  # a request was sent and its response has not ended
        self._framed = False  # the body has a length or is chunked, so the end of the connection is not its end
        self._error: BaseException | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_read = 0.0
        self._read_timeout_s = 0.0
        self.status = 0
        self.raw_headers: list[tuple[str, str]] = []
        self.complete = False
        self.reusable = False
        self.idle_since = 0.0

    # --- used by the client and the response ----------------------------------------------------

    def send(self, data: bytes) -> None:
        assert self._transport is not None
        self.reusable = False
        self.status, self.raw_headers, self._headers_done, self.complete, self._framed = 0, [], False, False, False
        self._awaiting = True
        self._last_read = self._loop.time()
        self._transport.write(data)

    async def headers_received(self, read_timeout_s: float) -> None:
        self._read_timeout_s = read_timeout_s
        self._timer = self._loop.call_later(read_timeout_s, self._check_read_timeout)
        while not self._headers_done:
            await self._wait()

    async def next_chunk(self) -> bytes | None:
        """The next piece of the body, or None at its end."""
        while not self._chunks:
            if self.complete:
                return None
            await self._wait()
        chunk = self._chunks.popleft()
        self._unread -= len(chunk)
        if self._paused and self._unread < _HIGH_WATER // 2 and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()
        return chunk

    @property
    def open(self) -> bool:
        """Reusable: the last response ended cleanly and neither side has closed the connection."""
        return self.reusable and self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        self.reusable = False
        self._cancel_timer()
        if self._transport is not None:
            self._transport.close()

    # --- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's does not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if not self.complete:  # a response that did end stays good; only the connection is dropped
                self._fail(HttpConnectionError(f"malformed HTTP response: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost ends the response if it was open-ended

    def connection_lost(self, exc: Exception | None) -> None:
        self.reusable = False
        self._cancel_timer()
        if self._headers_done and not self.complete and not self._framed and self._error is None:
            self.complete = True  # a body delimited by the end of the connection
            self._wake()
        elif not self.complete:
            self._fail(HttpConnectionError(f"connection closed before the response was complete ({exc or 'EOF'})"))

    # --- httptools callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if not self._awaiting:  # bytes nobody asked for: this connection cannot be trusted with another request
            raise HttpConnectionError("the upstream sent a response to no request")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.raw_headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        names = {name.lower() for name, _ in self.raw_headers}
        self._framed = "content-length" in names or "transfer-encoding" in names
        self._headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._unread += len(body)
        if not self._paused and self._unread > _HIGH_WATER and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self._awaiting = False
        self.complete = True
        self.reusable = self._parser.should_keep_alive()
        self._cancel_timer()
        self._wake()

    # --- internals -------------------------------------------------------------------------------

    async def _wait(self) -> None:
        if self._error is not None:
            raise self._error
        self._waiter = self._loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
        if self._error is not None:
            raise self._error

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _check_read_timeout(self) -> None:
        self._timer = None
        if self.complete:
            return
        silent = self._loop.time() - self._last_read
        if silent < self._read_timeout_s:
            self._timer = self._loop.call_later(self._read_timeout_s - silent, self._check_read_timeout)
            return
        self._fail(TimeoutError(f"no data from the upstream for {self._read_timeout_s:g} s"))
        self.close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


_Done = Callable[[_Connection, bool], None]


def _header_lines(headers: Mapping[str, str]) -> bytes:
    """`name: value\\r\\n` lines; a header that could split the request, or is not Latin-1, is refused."""
    lines = []
    for name, value in headers.items():
        if not name or ":" in name or _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
            raise ValueError(f"header {name!r} cannot be sent: an empty name, a colon, a line break or NUL")
        lines.append(f"{name}: {value}\r\n")
    try:
        return "".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ValueError(f"a header cannot be sent: {exc}") from exc
