"""Fixtures for the example servers (the process helpers themselves live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from anyio.abc import Process

EXAMPLE_SERVERS = Path(__file__).resolve().parents[2] / "examples" / "servers"

HttpServerStarter = Callable[..., AbstractAsyncContextManager[str]]
ProcessStopper = Callable[[Process], Awaitable[None]]


@pytest.fixture
def example_servers() -> Path:
    """The directory holding the example servers."""
    return EXAMPLE_SERVERS


@pytest.fixture
def start_http_server(start_upstream: HttpServerStarter) -> HttpServerStarter:
    """`async with start_http_server("clock.py", *args) as url:` runs an example server with `--port 0`."""

    @asynccontextmanager
    async def start(script: str, *args: str) -> AsyncIterator[str]:
        async with start_upstream(EXAMPLE_SERVERS / script, *args) as url:
            yield url

    return start
