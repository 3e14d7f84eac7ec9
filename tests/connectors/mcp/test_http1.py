"""The lean path's HTTP/1.1 client against scripted servers on loopback, for what a real upstream rarely does.

The ordinary exchange (a uvicorn upstream answering JSON or SSE) is covered end to end by
test_lean_calls.py; here each server writes exact bytes, so framing, keep-alive, failures and
timeouts are each shown on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
import yarl

from connectors.mcp.http1 import Http1Client, HttpConnectionError

pytestmark = pytest.mark.anyio

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Server"], Awaitable[None]]


@pytest.fixture(params=[pytest.param(False, id="asyncio"), pytest.param(True, id="uvloop")])
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, bool]]:
    """An asyncio loop, plain and uvloop's (which `hub serve` runs on, and whose transports differ)."""
    return "asyncio", {"use_uvloop": request.param}


@dataclass
class Server:
    url: yarl.URL
    connections: int = 0
    requests: list[tuple[bytes, dict[str, str], bytes]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # a client connection reached EOF


async def read_request(reader: asyncio.StreamReader, server: Server) -> bool:
    """Read one request into `server.requests`; False at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        server.closed.set()
        return False
    line, *lines = head[:-4].split(b"\r\n")
    headers: dict[str, str] = {}
    for raw in lines:
        name, _, value = raw.decode("latin-1").partition(":")
        assert name.lower() not in headers, f"header {name} sent twice"
        headers[name.lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    server.requests.append((line, headers, body))
    return True


def response(body: bytes, *extra: bytes) -> bytes:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % len(body)
    return head + b"".join(h + b"\r\n" for h in extra) + b"\r\n" + body


@asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[Server]:
    server: Server | None = None
    writers: list[asyncio.StreamWriter] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert server is not None
        server.connections += 1
        writers.append(writer)
        try:
            await handler(reader, writer, server)
        finally:
            writer.close()

    listener = await asyncio.start_server(on_connection, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server = Server(yarl.URL(f"http://127.0.0.1:{port}/mcp?x=1"))
    try:
        yield server
    finally:
        listener.close()
        for writer in writers:
            writer.close()
        await listener.wait_closed()


def client(server: Server, **options: float) -> Http1Client:
    settings = {"connect_timeout_s": 2.0, "read_timeout_s": 5.0, "keepalive_s": 4.0, **options}
    limit = int(settings.pop("limit", 256))
    return Http1Client(server.url, headers={"x-configured": "c", "user-agent": "test"}, limit=limit, **settings)


async def echo_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
    while await read_request(reader, server):
        writer.write(response(server.requests[-1][2]))


async def test_a_post_sends_the_request_as_given_and_reuses_the_connection() -> None:
    async with scripted(echo_forever) as server:
        http = client(server)
        for n in range(3):
            answer = await http.request(
                "POST", server.url, {"accept": "application/json", "mcp-method": "x"}, b'{"n":%d}' % n
            )
            assert (answer.status, answer.headers.get("Content-Type"), await answer.read()) == (
                200,
                "application/json",
                b'{"n":%d}' % n,
            )
            answer.release()
        await http.aclose()
    assert server.connections == 1
    line, headers, _ = server.requests[0]
    assert line == b"POST /mcp?x=1 HTTP/1.1"
    assert headers == {
        "host": f"127.0.0.1:{server.url.port}",
        "x-configured": "c",
        "user-agent": "test",
        "accept": "application/json",
        "mcp-method": "x",
        "content-length": "7",
    }


async def test_a_get_has_no_body_and_no_content_length() -> None:
    async with scripted(echo_forever) as server:
        http = client(server)
        answer = await http.request("GET", server.url, {"last-event-id": "e-1"})
        assert (answer.status, await answer.read()) == (200, b"")
        answer.release()
        await http.aclose()
    line, headers, body = server.requests[0]
    assert line == b"GET /mcp?x=1 HTTP/1.1"
    assert headers["last-event-id"] == "e-1"
    assert "content-length" not in headers
    assert body == b""


async def test_a_request_header_replaces_a_configured_one_of_the_same_name() -> None:
    async with scripted(echo_forever) as server:
        http = client(server)
        answer = await http.request("POST", server.url, {"X-Configured": "from the request"}, b"{}")
        answer.release()
        await http.aclose()
    assert server.requests[0][1]["x-configured"] == "from the request"


async def test_a_header_that_would_split_the_request_is_refused_before_anything_is_sent() -> None:
    async with scripted(echo_forever) as server:
        http = client(server)
        for headers in ({"x-a": "1\r\nx-injected: 2"}, {"x-a\n": "1"}, {"x-a": "\0"}, {"": "1"}, {"x-a": "ü€"}):
            with pytest.raises(ValueError, match="cannot be sent"):
                await http.request("POST", server.url, headers, b"{}")
        await http.aclose()
    assert server.requests == []


async def test_chunked_and_streamed_bodies_arrive_piece_by_piece() -> None:
    release = asyncio.Event()

    async def stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"6\r\nfirst\n\r\n")
        await release.wait()
        writer.write(b"7\r\nsecond\n\r\n0\r\n\r\n")
        await echo_forever(reader, writer, server)

    async with scripted(stream) as server:
        http = client(server)
        answer = await http.request("POST", server.url, {}, b"{}")
        pieces = answer.chunks()
        assert await anext(pieces) == b"first\n"  # before the server sent the rest
        release.set()
        assert [piece async for piece in pieces] == [b"second\n"]
        answer.release()
        again = await http.request("POST", server.url, {}, b"{}")  # read to its end: the connection is reused
        again.release()
        await http.aclose()
    assert server.connections == 1


async def test_a_body_ended_by_closing_the_connection_is_read_whole_and_the_connection_not_reused() -> None:
    async def until_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{"until":')
        await writer.drain()
        writer.write(b'"close"}')
        writer.close()

    async with scripted(until_close) as server:
        http = client(server)
        for _ in range(2):
            answer = await http.request("POST", server.url, {}, b"{}")
            assert await answer.read() == b'{"until":"close"}'
            answer.release()
        await http.aclose()
    assert server.connections == 2


async def test_connection_close_an_unfinished_body_and_an_idle_close_each_lead_to_a_new_connection() -> None:
    idle_closed = asyncio.Event()

    async def varied(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        while await read_request(reader, server):
            n = len(server.requests)
            if n == 1:
                writer.write(response(b"{}", b"connection: close"))
                return
            if n == 2:
                writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n{"n')  # the rest never comes
                continue
            writer.write(response(b'{"n":%d}' % n))
            if n == 3:
                await writer.drain()
                writer.close()  # a connection the client holds idle
                await writer.wait_closed()
                idle_closed.set()
                return

    async with scripted(varied) as server:
        http = client(server)
        first = await http.request("POST", server.url, {}, b"{}")  # the server asked to close
        await first.read()
        first.release()
        second = await http.request("POST", server.url, {}, b"{}")  # released before its body ended: closed
        second.release()
        await asyncio.wait_for(server.closed.wait(), 5)
        third = await http.request("POST", server.url, {}, b"{}")
        await third.read()
        third.release()
        await asyncio.wait_for(idle_closed.wait(), 5)
        await asyncio.sleep(0.1)  # the client's loop sees the close
        fourth = await http.request("POST", server.url, {}, b"{}")
        assert await fourth.read() == b'{"n":4}'
        fourth.release()
        await http.aclose()
    assert server.connections == 4


async def test_a_connection_lost_mid_body_fails_the_response() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"partial')

    async with scripted(cut) as server:
        http = client(server)
        answer = await http.request("POST", server.url, {}, b"{}")
        with pytest.raises(HttpConnectionError, match="before the response was complete"):
            await answer.read()
        answer.close()
        await http.aclose()


async def test_a_malformed_response_fails_clearly() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await reader.read()

    async with scripted(garbage) as server:
        http = client(server)
        with pytest.raises(HttpConnectionError, match="malformed HTTP response"):
            await http.request("POST", server.url, {}, b"{}")
        await http.aclose()


async def test_a_silent_server_times_out_and_the_connection_is_closed() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        await reader.read()  # until the client closes
        server.closed.set()

    async with scripted(silent) as server:
        http = client(server, read_timeout_s=0.2)
        with pytest.raises(TimeoutError, match="no data from the upstream"):
            await http.request("POST", server.url, {}, b"{}")
        await asyncio.wait_for(server.closed.wait(), 5)
        await http.aclose()


async def test_a_cancelled_post_closes_its_connection_and_frees_its_slot() -> None:
    async def slow_then_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        await read_request(reader, server)
        await reader.read()
        server.closed.set()

    async with scripted(slow_then_echo) as server:
        http = client(server, limit=1)
        waiting = asyncio.ensure_future(http.request("POST", server.url, {}, b"{}"))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await asyncio.wait_for(server.closed.wait(), 5)
        with pytest.raises(TimeoutError):  # the slot is free again: a new post is admitted and times out
            await asyncio.wait_for(http.request("POST", server.url, {}, b"{}"), 0.3)
        await http.aclose()
    assert server.connections == 2


async def test_the_limit_holds_a_post_until_a_response_is_released() -> None:
    async with scripted(echo_forever) as server:
        http = client(server, limit=1)
        first = await http.request("POST", server.url, {}, b"1")
        second = asyncio.ensure_future(http.request("POST", server.url, {}, b"2"))
        await asyncio.sleep(0.1)
        assert not second.done()
        assert len(server.requests) == 1
        assert await first.read() == b"1"
        first.release()
        answer = await asyncio.wait_for(second, 5)
        assert await answer.read() == b"2"
        answer.release()
        await http.aclose()
    assert server.connections == 1


async def test_a_refused_connection_fails_with_a_connection_error() -> None:
    async with scripted(echo_forever) as server:
        url = server.url
    http = Http1Client(url, headers={}, connect_timeout_s=2.0, read_timeout_s=1.0, keepalive_s=1.0)
    with pytest.raises(HttpConnectionError, match="cannot connect"):
        await http.request("POST", url, {}, b"{}")
    with pytest.raises(ValueError, match="origin"):
        await http.request("POST", url.with_port(1), {}, b"{}")
    await http.aclose()


async def test_bytes_after_a_complete_response_end_the_connection_not_the_response() -> None:
    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: Server) -> None:
        while await read_request(reader, server):
            writer.write(response(b'{"n":%d}' % len(server.requests)) + response(b'{"unasked":true}'))

    async with scripted(chatty) as server:
        http = client(server)
        first = await http.request("POST", server.url, {}, b"{}")
        assert await first.read() == b'{"n":1}'
        first.release()
        second = await http.request("POST", server.url, {}, b"{}")  # on a new connection: the first one was closed
        assert await second.read() == b'{"n":2}'
        second.release()
        await http.aclose()
    assert server.connections == 2
