"""HTTP bounds, on a real uvicorn server on loopback: header count, body size, slow bodies and headers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import httpx2
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from hub.transports.http_limits import RequestLimitsMiddleware, slow_header_guard

SLOW_S = 0.5


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    body = message.get("body", b"")
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def server_port() -> AsyncIterator[int]:
    app = RequestLimitsMiddleware(
        _echo, max_body_bytes=1000, max_header_count=20, max_header_bytes=2000, body_timeout_s=SLOW_S
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # connections queue in the backlog until uvicorn accepts them: no start-up wait needed
    config = uvicorn.Config(app, http=slow_header_guard(SLOW_S), log_config=None, lifespan="off")
    server = uvicorn.Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        yield sock.getsockname()[1]
        server.should_exit = True


@pytest.mark.anyio
async def test_requests_within_bounds_pass_unchanged(server_port: int) -> None:
    async with httpx2.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{server_port}/", content=b"x" * 1000)
    assert response.status_code == 200
    assert response.content == b"x" * 1000


@pytest.mark.anyio
async def test_too_many_headers_get_431(server_port: int) -> None:
    headers = {f"x-h{i}": "v" for i in range(30)}
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server_port}/", headers=headers)
    assert response.status_code == 431
    assert "too many request headers" in response.json()["error"]["message"]


@pytest.mark.anyio
async def test_oversized_headers_get_431(server_port: int) -> None:
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server_port}/", headers={"x-big": "v" * 3000})
    assert response.status_code == 431
    assert "request headers larger than 2000 bytes" in response.json()["error"]["message"]


@pytest.mark.anyio
async def test_oversized_body_gets_413_declared_or_streamed(server_port: int) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    async with httpx2.AsyncClient() as client:
        declared = await client.post(f"http://127.0.0.1:{server_port}/", content=b"x" * 1001)
        streamed = await client.post(f"http://127.0.0.1:{server_port}/", content=chunks())
    assert declared.status_code == 413
    assert streamed.status_code == 413


async def _raw(port: int, data: bytes, pause_s: float, rest: bytes) -> bytes:
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(data)
        await anyio.sleep(pause_s)  # the slow client under test: this pause is the behaviour itself
        try:
            if rest:
                await stream.send(rest)
            received = b""
            with anyio.fail_after(5):
                while True:
                    received += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError, ConnectionResetError):
            return received


@pytest.mark.anyio
async def test_slow_body_gets_408(server_port: int) -> None:
    head = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 10\r\n\r\nabc"
    received = await _raw(server_port, head, SLOW_S * 3, b"")
    assert received.startswith(b"HTTP/1.1 408")


@pytest.mark.anyio
async def test_slow_headers_are_disconnected_and_others_still_served(server_port: int) -> None:
    received = await _raw(server_port, b"GET / HTTP/1.1\r\nhost: 127", SLOW_S * 3, b".0.0.1\r\n\r\n")
    assert received == b""  # closed without serving the half-sent request
    async with httpx2.AsyncClient() as client:
        response = await client.get(f"http://127.0.0.1:{server_port}/")
    assert response.status_code == 200
