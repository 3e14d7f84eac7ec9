"""`python -m bench rest`: what the REST connector adds per call, against calling the REST service directly.

    python -m bench rest --levels 1,16 --max-calls 1000 --max-seconds 10

The same call (GET /api/items/{id}?verbose=true with an X-Trace header; a small JSON answer) is
made three ways, each in turn at every concurrency level, in the same run:

* `direct`: one pooled `httpx2.AsyncClient` (the connector's pool settings) calls the service and
  parses its JSON;
* `connector`: `RestConnector.request("tools/call", ...)` in this process, on the same HTTP client
  library, pooled the same way: argument validation, request building, response mapping added;
* `hub`: an MCP client (2026-07-28) per worker calls the tool through `hub serve` with a `rest`
  upstream: the whole agent path.

`cpu ms` is CPU per call of this process (direct, connector: the difference is the connector's own
work) or of the hub process (hub). Results go to stdout and .cache/bench/rest.json.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import yaml
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.processes import CACHE, ROOT, stop, tree_state
from connectors.rest.connector import POOL, RestConnector
from hub.config.model import RestUpstreamConfig
from hub.core.connector import CallContext
from hub.core.principal import Principal

WARMUP_CALLS = 20  # per worker, before the clock starts
ARGUMENTS = {"item_id": "42", "verbose": True, "X-Trace": "bench"}
Call = Callable[[], Coroutine[Any, Any, bool]]  # one call; True when it failed


@dataclass(frozen=True, slots=True)
class Result:
    target: str
    concurrency: int
    calls: int
    errors: int
    p50_ms: float
    p99_ms: float
    calls_per_s: float
    cpu_ms_per_call: float


def run(levels: list[int], max_calls: int, max_seconds: float) -> int:
    with _process([sys.executable, "-m", "bench.rest_service"], "rest-service") as (_, service), _hub(service) as hub:
        results = anyio.run(_measure, service, *hub, levels, max_calls, max_seconds)
    print(_table(results))
    out = CACHE / "rest.json"
    settings = {"levels": levels, "max_calls": max_calls, "max_seconds": max_seconds, "tree": tree_state(ROOT)}
    out.write_text(json.dumps({"settings": settings, "results": [asdict(r) for r in results]}, indent=2))
    print(f"\nsaved {out.relative_to(ROOT)}")
    return 0


async def _measure(
    service: str, hub_pid: int, hub_url: str, key: str, levels: list[int], max_calls: int, max_seconds: float
) -> list[Result]:
    config = RestUpstreamConfig.model_validate(
        {"name": "items", "kind": "rest", "openapi": {"source": f"{service}/api/openapi.json"}}
    )
    connector = RestConnector(config)
    results: list[Result] = []
    async with httpx2.AsyncClient(timeout=30.0, limits=POOL) as direct_client, anyio.create_task_group() as tg:
        tg.start_soon(connector.run)
        with anyio.fail_after(30):
            await connector.ensure_started()
        assert connector.health.state == "ready", connector.health

        async def direct() -> bool:
            response = await direct_client.get(
                f"{service}/api/items/42", params={"verbose": "true"}, headers={"X-Trace": "bench"}
            )
            response.json()
            return response.status_code != 200

        async def via_connector() -> bool:
            ctx = CallContext(Principal("bench", None, {}), "bench", anyio.current_time() + 30)
            result = await connector.request("tools/call", {"name": "getItem", "arguments": ARGUMENTS}, ctx)
            return bool(result["isError"])

        for level in levels:
            for name, call in (("direct", direct), ("connector", via_connector)):
                results.append(await _level(name, level, [call] * level, None, max_calls, max_seconds))
                _progress(results[-1])
            results.append(await _hub_level(hub_url, key, hub_pid, level, max_calls, max_seconds))
            _progress(results[-1])
        tg.cancel_scope.cancel()
    return results


async def _hub_level(url: str, key: str, pid: int, level: int, max_calls: int, max_seconds: float) -> Result:
    """`level` MCP clients, one session each, held open while the level runs."""
    headers = {"Authorization": f"Bearer {key}"}
    clients: list[Client] = []
    async with anyio.create_task_group() as tg:
        ready, done = anyio.Event(), anyio.Event()

        async def agent() -> None:
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30.0) as http,
                Client(streamable_http_client(url, http_client=http), mode="2026-07-28") as client,
            ):
                clients.append(client)
                if len(clients) == level:
                    ready.set()
                await done.wait()

        for _ in range(level):
            tg.start_soon(agent)
        with anyio.fail_after(60):
            await ready.wait()

        def caller(client: Client) -> Call:
            async def call() -> bool:
                return (await client.call_tool("getItem", ARGUMENTS)).is_error

            return call

        result = await _level("hub", level, [caller(c) for c in clients], pid, max_calls, max_seconds)
        done.set()
    return result


async def _level(
    name: str, level: int, calls: list[Call], pid: int | None, max_calls: int, max_seconds: float
) -> Result:
    """Warm every worker up, then run them until `max_calls` calls or `max_seconds`, whichever comes first."""
    latencies: list[float] = []
    errors = 0
    left = max_calls
    with anyio.fail_after(max_seconds + 60):
        async with anyio.create_task_group() as tg:
            for call in calls:
                for _ in range(WARMUP_CALLS // len(calls) + 1):
                    tg.start_soon(call)
        cpu_before = _cpu_seconds(pid)
        began = time.perf_counter()
        deadline = began + max_seconds

        async def worker(call: Call) -> None:
            nonlocal left, errors
            while left > 0 and time.perf_counter() < deadline:
                left -= 1
                start = time.perf_counter()
                try:
                    failed = await call()
                except Exception:
                    failed = True
                if failed:
                    errors += 1
                else:
                    latencies.append(time.perf_counter() - start)

        async with anyio.create_task_group() as tg:
            for call in calls:
                tg.start_soon(worker, call)
        seconds = time.perf_counter() - began
        cpu = _cpu_seconds(pid) - cpu_before
    return _summary(name, level, sorted(latencies), errors, seconds, cpu)


def _summary(name: str, level: int, ordered: list[float], errors: int, seconds: float, cpu: float) -> Result:
    n = len(ordered)

    def pct(q: float) -> float:
        return round(ordered[min(n - 1, round(q * (n - 1)))] * 1000, 3) if n else float("nan")

    return Result(
        target=name,
        concurrency=level,
        calls=n,
        errors=errors,
        p50_ms=pct(0.50),
        p99_ms=pct(0.99),
        calls_per_s=round(n / seconds, 1) if seconds else 0.0,
        cpu_ms_per_call=round(cpu * 1000 / n, 3) if n else float("nan"),
    )


def _cpu_seconds(pid: int | None) -> float:
    """CPU time used so far by `pid`, or by this process when None."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _progress(result: Result) -> None:
    print(f"  c={result.concurrency:<3} {result.target:<9} {result.calls_per_s:8.1f} calls/s", file=sys.stderr)


def _table(results: list[Result]) -> str:
    direct = {r.concurrency: r for r in results if r.target == "direct"}
    lines = [
        f"{'level':>5} {'target':<9} {'calls':>6} {'err':>4} {'p50 ms':>8} {'p99 ms':>8} {'calls/s':>9}"
        f" {'cpu ms':>7} {'p50 x':>6} {'tput x':>6}",
    ]
    for r in results:
        base = direct[r.concurrency]
        p50_ratio = r.p50_ms / base.p50_ms if base.p50_ms else float("nan")
        tput_ratio = r.calls_per_s / base.calls_per_s if base.calls_per_s else float("nan")
        lines.append(
            f"{r.concurrency:>5} {r.target:<9} {r.calls:>6} {r.errors:>4} {r.p50_ms:>8.3f} {r.p99_ms:>8.3f}"
            f" {r.calls_per_s:>9.1f} {r.cpu_ms_per_call:>7.3f} {p50_ratio:>6.2f} {tput_ratio:>6.2f}"
        )
    lines.append("p50 x / tput x: that target's p50 latency / throughput divided by direct's at the same level")
    return "\n".join(lines)


@contextmanager
def _hub(service: str) -> Iterator[tuple[int, str, str]]:
    """`hub serve` with the service as a `rest` upstream; yields its pid, virtual server URL and agent key."""
    key = "hub_" + secrets.token_urlsafe(32)
    database = CACHE / "hub-rest.db"
    database.unlink(missing_ok=True)
    config = CACHE / "hub-rest.yaml"
    settings = {
        "server": {"host": "127.0.0.1", "port": 0},
        "storage": {"url": f"sqlite+aiosqlite:///{database}"},
        "upstreams": [{"name": "items", "kind": "rest", "openapi": {"source": f"{service}/api/openapi.json"}}],
        "virtual_servers": [{"name": "bench", "include": [{"upstream": "items"}]}],
        "agents": [{"name": "bench-agent", "keys": [{"key": key}], "servers": [{"server": "bench"}]}],
    }
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    command = [sys.executable, "-m", "hub.cli", "serve", "--config", str(config)]
    with _process(command, "hub-rest") as (pid, url):
        _wait_ready(f"{url}/ready")
        yield pid, f"{url}/servers/bench/mcp", key


@contextmanager
def _process(command: list[str], name: str) -> Iterator[tuple[int, str]]:
    """Run `command` (a server that prints `LISTENING <url>` first) in its own process group; yield pid and URL."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / f"{name}.log").open("wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()  # bounded: the server prints it or exits
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"{name} did not start: {line!r} (see {CACHE / name}.log)")
        yield proc.pid, line.split()[1].rstrip("/")
    finally:
        stop(proc)


def _wait_ready(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url, timeout=1.0).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {timeout_s:g}s")
