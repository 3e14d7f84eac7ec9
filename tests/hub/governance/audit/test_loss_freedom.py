"""Loss-freedom: every call an agent saw answered has exactly one audit record, whatever happened to the hub.

1. A hub process answering a burst of concurrent calls is killed with SIGKILL, restarted and
   stopped gracefully; the records it journaled before each answer are all in the database.
2. The database connection is cut mid-burst (the hub reaches PostgreSQL through a TCP proxy this
   test owns) and restored; the hub keeps answering, logs the outage once, and catches up.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from anyio.abc import ByteStream, Process, SocketListener, TaskGroup
from mcp import Client
from sqlalchemy import select

from hub.config.model import HubConfig
from hub.governance.audit.verify import verify_chains
from hub.storage.engine import Database
from hub.storage.tables import AuditRow
from tests.conftest import log_tail

pytestmark = pytest.mark.anyio

ECHO = Path(__file__).resolve().parents[3] / "servers" / "echo.py"
ROOT = Path(__file__).resolve().parents[4]
KEY = "hub_burst_audit_key_00000000000000000000000"
WORKERS = 8
MAX_CALLS = 400
"""Calls a burst makes at most (all workers together)."""
BURST_TIMEOUT = 60.0
STARTUP_TIMEOUT = 30.0


def catalog() -> dict[str, Any]:
    return {
        "upstreams": [{"name": "echo", "kind": "stdio", "command": sys.executable, "args": [str(ECHO)]}],
        "virtual_servers": [{"name": "echo", "include": [{"upstream": "echo"}]}],
        "agents": [{"name": "burst", "keys": [{"key": KEY}], "servers": [{"server": "echo"}]}],
    }


@dataclass
class Burst:
    """Concurrent agents calling `echo` with unique texts; `answered` holds the texts they got back."""

    answered: set[str] = field(default_factory=set)
    sent: int = 0
    milestones: dict[int, anyio.Event] = field(default_factory=dict)

    def at(self, count: int) -> anyio.Event:
        """An event set once `count` calls have been answered."""
        event = self.milestones.setdefault(count, anyio.Event())
        if len(self.answered) >= count:
            event.set()
        return event

    async def worker(self, open_agent: Callable[[], AbstractAsyncContextManager[Client]], number: int) -> None:
        # The hub going away ends a worker; what it saw answered is what counts.
        with suppress(Exception), anyio.move_on_after(BURST_TIMEOUT / 2):
            async with open_agent() as client:
                while self.sent < MAX_CALLS:
                    self.sent += 1
                    text = f"w{number}-{self.sent}"
                    result = await client.call_tool("echo", {"text": text})
                    if result.is_error or text not in str(result.content):
                        continue
                    self.answered.add(text)
                    for count, event in self.milestones.items():
                        if len(self.answered) >= count:
                            event.set()

    async def run(self, open_agent: Callable[[], AbstractAsyncContextManager[Client]], tg: TaskGroup) -> None:
        for number in range(WORKERS):
            tg.start_soon(self.worker, open_agent, number)


async def recorded_texts(database: Database) -> list[str]:
    async with database.transaction() as session:
        rows = (await session.scalars(select(AuditRow.request).where(AuditRow.method == "tools/call"))).all()
    return [json.loads(r)["arguments"]["text"] for r in rows]


def assert_one_record_per_answer(answered: set[str], recorded: list[str]) -> None:
    missing = sorted(answered - set(recorded))
    doubled = sorted({t for t in recorded if recorded.count(t) > 1})
    assert missing == [], f"{len(missing)} answered calls have no audit record"
    assert doubled == [], f"{len(doubled)} calls have more than one audit record"


# --- 1. SIGKILL -----------------------------------------------------------------------------------


@dataclass
class _Remote:
    url: str

    def server_url(self, server: str, path: str = "mcp") -> str:
        return f"{self.url}/servers/{server}/{path}"


@asynccontextmanager
async def hub_process(config: Path) -> AsyncIterator[tuple[Process, str]]:
    """`hub serve` in its own process group; yields it and its URL once /ready answers 200.

    Its log goes to a file beside the config, whose last lines are printed once it has stopped:
    pytest shows them when the test fails (these failures depend on timing, and the log says when
    the hub stopped and what its audit writer did).
    """
    log = config.with_suffix(".log")
    stderr = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = await anyio.open_process(
            [sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=ROOT,
            start_new_session=True,
        )
    finally:
        os.close(stderr)  # the hub has its own copy
    try:
        with anyio.fail_after(STARTUP_TIMEOUT):
            url = await _listening_url(process)
            await _ready(url)
        yield process, url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with anyio.CancelScope(shield=True):
            await process.wait()
            await process.aclose()
            print(log_tail(log))


async def _listening_url(process: Process) -> str:
    assert process.stdout is not None
    buffer = b""
    while b"\n" not in buffer:
        buffer += await process.stdout.receive()
    line = buffer.split(b"\n", 1)[0].decode()
    assert line.startswith("LISTENING "), line
    return line.split()[1]


async def _ready(url: str) -> None:
    async with httpx2.AsyncClient(timeout=2) as http:
        while True:
            with suppress(httpx2.HTTPError):
                if (await http.get(f"{url}/ready")).status_code == 200:
                    return
            await anyio.sleep(0.05)


async def test_a_hub_killed_mid_burst_has_a_record_of_every_call_it_answered(open_agent, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    holding, config = tmp_path / "holding.yaml", tmp_path / "hub.yaml"  # JSON is YAML
    # The first hub's writer would wait an hour before storing: every record must come from the journal.
    holding.write_text(json.dumps({"storage": {"url": url}, "audit": {"batch_interval_s": 3600}, **catalog()}))
    config.write_text(json.dumps({"storage": {"url": url}, **catalog()}))
    burst = Burst()
    database = Database(url)
    try:
        with anyio.fail_after(BURST_TIMEOUT):
            async with hub_process(holding) as (process, base):
                async with anyio.create_task_group() as tg:
                    await burst.run(lambda: open_agent("http-2026", _Remote(base), "echo", KEY), tg)
                    await burst.at(MAX_CALLS // 4).wait()
                    os.killpg(process.pid, signal.SIGKILL)  # the hub and its upstream, mid-burst
                assert await process.wait() == -signal.SIGKILL
            answered = set(burst.answered)
            assert MAX_CALLS // 4 <= len(answered) < MAX_CALLS  # killed while calls were still going
            assert await recorded_texts(database) == []  # nothing had reached the database
            async with hub_process(config) as (restarted, _):
                restarted.send_signal(signal.SIGTERM)  # a graceful stop stores what the journal still holds
                assert await restarted.wait() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
        assert_one_record_per_answer(answered, await recorded_texts(database))
        reports = await verify_chains(database)
    finally:
        await database.dispose()
    assert [r.broken for r in reports] == [None]


# --- 2. the database goes away ----------------------------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._open: set[ByteStream] = set()
        self.up = True
        self.port = 0

    async def serve(self, listener: SocketListener, tg: TaskGroup) -> None:
        async def handle(client: ByteStream) -> None:
            async with client:
                if not self.up:
                    return
                async with await anyio.connect_tcp("127.0.0.1", self._target_port) as server:
                    self._open |= {client, server}
                    try:
                        async with anyio.create_task_group() as pumps:
                            pumps.start_soon(_pump, client, server, pumps)
                            pumps.start_soon(_pump, server, client, pumps)
                    finally:
                        self._open -= {client, server}

        async with listener:
            await listener.serve(handle, task_group=tg)

    async def cut(self) -> None:
        self.up = False
        for stream in list(self._open):
            with suppress(Exception):
                await stream.aclose()

    def restore(self) -> None:
        self.up = True


async def _pump(source: ByteStream, sink: ByteStream, pumps: TaskGroup) -> None:
    with suppress(Exception):
        async for chunk in source:
            await sink.send(chunk)
    pumps.cancel_scope.cancel()


async def test_calls_go_on_while_the_database_is_away_and_every_answer_is_recorded_after(
    run_hub, make_hub_config: Callable[..., HubConfig], open_agent, make_postgres, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.governance.audit")
    burst = Burst()
    async with make_postgres() as direct_url:
        async with anyio.create_task_group() as proxy_tg:
            proxy = TcpProxy(5432)
            listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
            proxy.port = listener.extra(anyio.abc.SocketAttribute.local_port)
            proxy_tg.start_soon(proxy.serve, listener, proxy_tg)
            proxied = direct_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
            audit = {"journal_dir": str(tmp_path / "audit"), "batch_interval_s": 0.05}
            vault = {"key_file": str(tmp_path / "vault.key")}  # a PostgreSQL catalog needs a vault key
            config = make_hub_config(storage={"url": proxied}, audit=audit, vault=vault, **catalog())
            with anyio.fail_after(BURST_TIMEOUT):
                async with run_hub(config) as running:
                    async with anyio.create_task_group() as tg:
                        await burst.run(lambda: open_agent("http-2026", running, "echo", KEY), tg)
                        await burst.at(MAX_CALLS // 4).wait()
                        await proxy.cut()
                        answered_at_cut = len(burst.answered)
                        await burst.at(answered_at_cut + MAX_CALLS // 4).wait()  # answered while it is away
                        proxy.restore()
                    await running.hub.audit.flushed()
            proxy_tg.cancel_scope.cancel()
        database = Database(direct_url)
        try:
            recorded = await recorded_texts(database)
            reports = await verify_chains(database)
        finally:
            await database.dispose()
    assert len(burst.answered) == MAX_CALLS  # the outage failed no call
    assert_one_record_per_answer(burst.answered, recorded)
    assert [r.broken for r in reports] == [None]
    events = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit.db_")]
    assert events == ["audit.db_down", "audit.db_back"]
