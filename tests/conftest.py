"""Shared pytest configuration, and the fixtures that run a real hub on loopback and connect agents to it.

* `start_upstream(script, *args)` starts an HTTP upstream (an example server or one of
  `tests/servers/`) with `--port 0` in its own process group and yields the URL of its
  LISTENING line; the group is killed at teardown.
* `run_hub(config)` builds the hub from a `HubConfig` made in code, serves it under a real
  uvicorn server on 127.0.0.1 port 0 inside the test's event loop, waits until every upstream
  has settled, and yields a `RunningHub` (base URL and the `Hub`).
* `connect(hub, server, key)` opens an SDK `Client` to a virtual server over the transport and
  protocol era the `transport` fixture names; a test that asks for `connect` runs over all of
  `TRANSPORTS` unless it parametrizes `transport` itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    suppress,
)
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from anyio.abc import Process
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from hub.app import Hub, build_app, build_hub
from hub.config.model import HubConfig
from hub.serve import uvicorn_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_SERVERS = ROOT / "examples" / "servers"
TEST_SERVERS = ROOT / "tests" / "servers"

STARTUP_TIMEOUT = 30.0
"""Seconds an upstream or the hub gets to start (and the hub's upstreams to settle)."""

STOP_TIMEOUT = 10.0
"""Seconds a process gets to exit after SIGTERM (before SIGKILL), and the hub to shut down."""

LOG_TAIL_LINES = 40
"""Lines of a hub or server process's log that a failing test shows."""

TRANSPORTS = ["http-legacy", "http-2026", "sse", "stdio-bridge"]
"""Streamable HTTP in the handshake era and in 2026-07-28, legacy HTTP+SSE, and `hub stdio --url` as a subprocess."""


@pytest.fixture
def anyio_backend() -> str:
    """Run `@pytest.mark.anyio` tests on asyncio only."""
    return "asyncio"


# --- upstream processes ---------------------------------------------------------------------------


async def stop_process_group(process: Process) -> None:
    """SIGTERM the process group, SIGKILL whatever is left of it after STOP_TIMEOUT; always reap.

    The final SIGKILL also reaches children the leader left behind (npx's node, for one).
    """
    with suppress(ProcessLookupError):
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            with anyio.move_on_after(STOP_TIMEOUT, shield=True):
                await process.wait()
        os.killpg(process.pid, signal.SIGKILL)
    with anyio.CancelScope(shield=True):
        await process.wait()
        await process.aclose()


@pytest.fixture(scope="session")
def stop_process() -> Callable[[Process], Awaitable[None]]:
    """`await stop_process(process)` ends a process started with `start_new_session=True`, and its children."""
    return stop_process_group


async def _read_listening_url(process: Process) -> str:
    assert process.stdout is not None
    buffer = b""
    while b"\n" not in buffer:
        try:
            buffer += await process.stdout.receive()
        except anyio.EndOfStream:
            break
    line = buffer.split(b"\n", 1)[0].decode()
    if not line.startswith("LISTENING "):
        raise RuntimeError(f"expected a 'LISTENING <url>' line, got {line!r}")
    return line.removeprefix("LISTENING ").strip()


@pytest.fixture(scope="session")
def start_upstream(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., AbstractAsyncContextManager[str]]:
    """`async with start_upstream(path, *args) as url:` runs `python path --port 0 *args` until the block ends."""

    @asynccontextmanager
    async def start(script: Path, *args: str) -> AsyncIterator[str]:
        stderr_path = tmp_path_factory.mktemp("upstream") / f"{script.stem}.stderr"
        with stderr_path.open("wb") as stderr:
            process = await anyio.open_process(
                [sys.executable, str(script), "--port", "0", *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        try:
            try:
                with anyio.fail_after(STARTUP_TIMEOUT):
                    url = await _read_listening_url(process)
            except (TimeoutError, RuntimeError) as exc:
                raise RuntimeError(f"{script.name} did not start: {exc}\n{stderr_path.read_text()}") from exc
            yield url
        finally:
            await stop_process_group(process)

    return start


def log_tail(log: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a process's log, headed by its name: printed, pytest shows them when a test fails."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join([f"--- the last {lines} lines of {log.name} ---", *text.splitlines()[-lines:]])


@contextmanager
def _serve_process(*args: str, cwd: Path | None = None, ready: bool = False) -> Iterator[str]:
    """Run `python *args`, a server that prints `LISTENING <url>` first, in its own process group.

    Yields the URL (after `/ready` answers 200, with `ready=True`); the group is stopped at the end.
    For synchronous tests that drive other programs (node, the conformance suite) against it. Its
    log goes to a temporary file, whose last lines are printed if the test fails.
    """
    fd, name = tempfile.mkstemp(prefix="serve-", suffix=".log")
    log = Path(name)
    try:
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdout=subprocess.PIPE,
            stderr=fd,
            text=True,
            start_new_session=True,
            cwd=cwd,
        )
    finally:
        os.close(fd)  # the process has its own copy
    failed = False
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded: the process either prints it or exits
        assert line.startswith("LISTENING "), f"{args[0]} did not start: {line!r}"  # its log follows
        url = line.split()[1]
        if ready:
            _wait_ready(url)
        yield url
    except BaseException:
        failed = True
        raise
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()
        if failed:
            print(log_tail(log))
        log.unlink(missing_ok=True)


def _wait_ready(url: str) -> None:
    """Poll /ready of a hub in another process, for at most STARTUP_TIMEOUT seconds."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} was not ready within {STARTUP_TIMEOUT:g} s")


@pytest.fixture(scope="session")
def serve_process() -> Callable[..., AbstractContextManager[str]]:
    """`with serve_process(script_or_-m, *args, cwd=..., ready=...) as url:` (see `_serve_process`)."""
    return _serve_process


# --- the hub under uvicorn -------------------------------------------------------------------------


@dataclass
class RunningHub:
    url: str  # http://127.0.0.1:<port>
    hub: Hub

    def server_url(self, server: str, path: str = "mcp") -> str:
        return f"{self.url}/servers/{server}/{path}"


class _Server(uvicorn.Server):
    """A uvicorn server that signals once startup has finished, whether it succeeded or not."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.startup_done = anyio.Event()

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # leave SIGINT/SIGTERM to the test runner

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets)
        finally:
            self.startup_done.set()


def hub_config(tmp_path: Path, **sections: Any) -> HubConfig:
    """A HubConfig from plain dicts, with its storage in a fresh SQLite file under `tmp_path`."""
    sections.setdefault("storage", {"url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"})
    return HubConfig.model_validate(sections)


@pytest.fixture(scope="session")
def make_hub_config(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., HubConfig]:
    """`make_hub_config(upstreams=[...], virtual_servers=[...], agents=[...], server={...})`."""

    def make(**sections: Any) -> HubConfig:
        return hub_config(tmp_path_factory.mktemp("hub"), **sections)

    return make


@pytest.fixture(scope="session")
def run_hub() -> Callable[[HubConfig], AbstractAsyncContextManager[RunningHub]]:
    """`async with run_hub(config) as running:` serves the hub on 127.0.0.1 port 0 until the block ends."""

    @asynccontextmanager
    async def run(config: HubConfig) -> AsyncIterator[RunningHub]:
        hub = build_hub(config)
        uv_config = uvicorn_config(build_app(hub), config, "127.0.0.1", 0)  # as `hub serve` runs it
        uv_config.timeout_graceful_shutdown = 2
        server = _Server(uv_config)
        stopped = anyio.Event()

        async def serve() -> None:
            try:
                await server.serve()
            finally:
                server.startup_done.set()
                stopped.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(serve)
            try:
                with anyio.fail_after(STARTUP_TIMEOUT):
                    await server.startup_done.wait()
                    if not server.started:
                        raise RuntimeError("the hub did not start (see the log)")
                    await hub.upstreams.wait_settled()
                port = server.servers[0].sockets[0].getsockname()[1]
                yield RunningHub(f"http://127.0.0.1:{port}", hub)
            finally:
                server.should_exit = True
                with anyio.fail_after(STOP_TIMEOUT, shield=True):
                    await stopped.wait()

    return run


# --- agents ------------------------------------------------------------------------------------------


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    """The agent-side transport and protocol era a `connect` test runs over."""
    return str(request.param)


@asynccontextmanager
async def open_client(
    transport: str, running: RunningHub, server: str, key: str, **client_args: Any
) -> AsyncIterator[Client]:
    """An initialized SDK client of `server` on `running`, as the agent holding `key`, over `transport`.

    `transport` is one of TRANSPORTS, or "http-auto" (Streamable HTTP, era discovered by `server/discover`).
    """
    headers = {"Authorization": f"Bearer {key}"}
    if transport == "sse":
        async with Client(
            sse_client(running.server_url(server, "sse"), headers=headers), mode="legacy", **client_args
        ) as client:
            yield client
    elif transport == "stdio-bridge":
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "hub.cli", "stdio", "--url", running.server_url(server), "--key", key],
            cwd=str(ROOT),
        )
        async with Client(params, mode="legacy", **client_args) as client:
            yield client
    else:
        mode = {"http-legacy": "legacy", "http-2026": "2026-07-28", "http-auto": "auto"}[transport]
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=60.0)) as http,
            Client(
                streamable_http_client(running.server_url(server), http_client=http), mode=mode, **client_args
            ) as client,
        ):
            yield client


@pytest.fixture(scope="session")
def open_agent() -> Callable[..., AbstractAsyncContextManager[Client]]:
    """`async with open_agent(transport, running_hub, server, key, **client_args) as client:`."""
    return open_client


@pytest.fixture
def connect(transport: str) -> Callable[..., AbstractAsyncContextManager[Client]]:
    """`async with connect(running_hub, server, key, **client_args) as client:` over this test's transport."""

    def opener(running: RunningHub, server: str, key: str, **client_args: Any) -> AbstractAsyncContextManager[Client]:
        return open_client(transport, running, server, key, **client_args)

    return opener
