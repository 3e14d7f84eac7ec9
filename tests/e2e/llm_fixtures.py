"""Fixtures for LLM tests: the fake providers served in the test's event loop, and a hub config using them."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import uvicorn

from tests.servers.llm.faults import FakeState
from tests.servers.llm.server import fake_providers

ALICE = "hub_alice_llm_key_0000000000000000000000"
BOB = "hub_bob_llm_key_00000000000000000000000000"
PROVIDER_KEY = "sk-provider-secret-never-shown-0123456789"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = anyio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.started_event.set()


@asynccontextmanager
async def serve_fakes(state: FakeState) -> AsyncIterator[str]:
    """The fake OpenAI, Anthropic and Ollama APIs on 127.0.0.1; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(fake_providers(state), log_config=None, access_log=False, lifespan="off")
    server = _Server(config)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        with anyio.fail_after(10):
            await server.started_event.wait()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


def deployment(base: str, name: str, kind: str = "openai", **extra: Any) -> dict[str, Any]:
    path, provider, model = {
        "openai": ("/openai/v1", "openai", f"fake-{name}"),
        "anthropic": ("/anthropic", "anthropic", f"claude-{name}"),
        "ollama": ("/ollama", "ollama_chat", f"llama-{name}"),
    }[kind]
    url = base + path
    return {"name": name, "provider": provider, "model": model, "base_url": url, "api_key": PROVIDER_KEY, **extra}


@asynccontextmanager
async def loopback_fakes(state: FakeState) -> AsyncIterator[str]:
    """`serve_fakes`, while checking that nothing this process does meanwhile connects off the machine."""
    OUTBOUND.active = True
    try:
        async with serve_fakes(state) as base:
            yield base
    finally:
        OUTBOUND.active = False
    assert OUTBOUND.outside == [], f"connections left the machine: {OUTBOUND.outside}"


def agents(team: str | None = "research", models: tuple[str, ...] = ("*",)) -> list[dict[str, Any]]:
    """alice and bob, granted `models` (every model group unless told otherwise)."""
    return [
        {"name": "alice", "team": team, "keys": [{"key": ALICE}], "models": list(models)},
        {"name": "bob", "team": team, "keys": [{"key": BOB}], "models": list(models)},
    ]


class OutboundGuard:
    """Records every socket connection this process opens to a non-loopback address (audit hook)."""

    def __init__(self) -> None:
        self.active = False
        self.outside: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event != "socket.connect":
            return
        address = args[1]
        if isinstance(address, tuple) and address:
            try:
                if not ipaddress.ip_address(address[0]).is_loopback:
                    self.outside.append(str(address[0]))
            except ValueError:
                self.outside.append(str(address[0]))  # a host name: resolving it would leave the machine


OUTBOUND = OutboundGuard()
