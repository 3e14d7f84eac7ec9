"""Fixtures that run the example servers as real subprocesses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from pathlib import Path

import anyio
import pytest
from anyio.abc import Process

EXAMPLE_SERVERS = Path(__file__).resolve().parents[2] / "examples" / "servers"

STARTUP_TIMEOUT = 30.0
"""Seconds a server gets to print its LISTENING line."""

STOP_TIMEOUT = 10.0
"""Seconds a server gets to exit after SIGTERM, before SIGKILL."""

HttpServerStarter = Callable[..., AbstractAsyncContextManager[str]]
ProcessStopper = Callable[[Process], Awaitable[None]]


@pytest.fixture
def example_servers() -> Path:
    """The directory holding the example servers."""
    return EXAMPLE_SERVERS


async def _read_listening_url(process: Process) -> str:
    assert process.stdout is not None
    buffer = b""
    while b"\n" not in buffer:
        try:
            buffer += await process.stdout.receive()
        except anyio.EndOfStream:
            break
    line = buffer.split(b"\n", 1)[0].decode()
    prefix = "LISTENING "
    if not line.startswith(prefix):
        raise RuntimeError(f"expected a {prefix!r} line, got {line!r}")
    return line.removeprefix(prefix).strip()


async def stop_process_group(process: Process) -> None:
    """SIGTERM the process group, SIGKILL whatever is left of it after STOP_TIMEOUT, and reap the leader."""
    with suppress(ProcessLookupError):
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            with anyio.move_on_after(STOP_TIMEOUT, shield=True):
                await process.wait()
        # Also reaches children the leader left behind (npx's node, for one).
        os.killpg(process.pid, signal.SIGKILL)
    with anyio.CancelScope(shield=True):
        await process.wait()


@pytest.fixture
def stop_process() -> ProcessStopper:
    """`await stop_process(process)` ends a process started with `start_new_session=True`, and its children."""
    return stop_process_group


@pytest.fixture
def start_http_server(tmp_path: Path) -> HttpServerStarter:
    """Start `examples/servers/<script> --port 0 <args...>` and yield the URL of its LISTENING line.

    The server runs in its own process group, which is killed when the context exits; its
    stderr goes to a file under `tmp_path`, quoted when the server fails to start.
    """

    @asynccontextmanager
    async def start(script: str, *args: str) -> AsyncIterator[str]:
        stderr_path = tmp_path / f"{Path(script).stem}.stderr"
        with stderr_path.open("wb") as stderr:
            process = await anyio.open_process(
                [sys.executable, str(EXAMPLE_SERVERS / script), "--port", "0", *args],
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
                await stop_process_group(process)
                raise RuntimeError(f"{script} did not start: {exc}\n{stderr_path.read_text()}") from exc
            yield url
        finally:
            await stop_process_group(process)
            await process.aclose()

    return start
