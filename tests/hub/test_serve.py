"""`hub serve`'s run-time setup that is not the app itself."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import sniffio
import uvicorn
from anyio.abc import SocketStream
from sse_starlette.sse import AppStatus
from starlette.types import Receive, Scope, Send

from hub.serve import YOUNG_COLLECTION_THRESHOLD, _DrainingServer, asyncio_named, uvicorn_config
from tests.conftest import hub_config


def test_the_event_loop_is_named_to_sniffio_while_serving_and_only_then() -> None:
    async def ask_from_a_plain_loop() -> str:
        return sniffio.current_async_library()

    with asyncio_named():
        assert sniffio.thread_local.name == "asyncio"
        assert asyncio.run(ask_from_a_plain_loop()) == "asyncio"
    assert sniffio.thread_local.name is None
    with pytest.raises(sniffio.AsyncLibraryNotFoundError):
        sniffio.current_async_library()  # outside any loop, as before


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    return sock


async def _get(connection: SocketStream) -> bytes:
    """Send `GET /` and read the whole answer of `_ok`."""
    await connection.send(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
    received = b""
    while not received.endswith(b"\r\n\r\nok"):
        received += await connection.receive()
    return received


@pytest.mark.anyio
async def test_an_idle_connection_is_kept_for_keep_alive_s_and_then_closed(tmp_path: Path) -> None:
    config = hub_config(tmp_path, server={"keep_alive_s": 1})
    sock = _listening()
    server = uvicorn.Server(uvicorn_config(_ok, config, "127.0.0.1", 0))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            async with await anyio.connect_tcp(*sock.getsockname()) as connection:
                for pause_s in (0.0, 0.5):  # within keep_alive_s: the same connection takes the next request
                    await anyio.sleep(pause_s)
                    assert (await _get(connection)).startswith(b"HTTP/1.1 200")
                idle_since = anyio.current_time()
                with anyio.fail_after(3), pytest.raises(anyio.EndOfStream):  # uvicorn's default would be 5 s
                    await connection.receive()
                assert anyio.current_time() - idle_since > 0.9
        server.should_exit = True


@pytest.fixture
def process_state_restored() -> Iterator[None]:
    """What `hub serve` sets for its whole process: the collector's and sse-starlette's exit flags."""
    threshold = gc.get_threshold()
    drain = AppStatus.enable_automatic_graceful_drain
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    AppStatus.should_exit = False  # set by the server's shutdown: later SSE answers would end at once
    AppStatus.enable_automatic_graceful_drain = drain


async def _drained() -> None:
    return None


@pytest.mark.anyio
@pytest.mark.usefixtures("process_state_restored")
async def test_once_started_the_startup_heap_is_frozen_and_young_collections_are_rarer(tmp_path: Path) -> None:
    built_at_startup = [object() for _ in range(3)]  # a container the collector tracks
    assert gc.is_tracked(built_at_startup)
    gc.unfreeze()  # what an earlier test froze
    sock = _listening()
    server = _DrainingServer(uvicorn_config(_ok, hub_config(tmp_path), "127.0.0.1", 0), _drained, grace_s=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            async with await anyio.connect_tcp(*sock.getsockname()) as connection:
                assert (await _get(connection)).startswith(b"HTTP/1.1 200")  # started: its heap is settled
        assert gc.get_freeze_count() > 1000  # everything alive at startup, this test's list among it
        assert not any(obj is built_at_startup for obj in gc.get_objects())  # frozen: no generation walks it
        assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD
        server.should_exit = True
