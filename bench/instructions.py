"""Instructions a process executes per tools/call, counted by valgrind's callgrind: the hub, or the upstream alone.

CPU time per call swings by a third within an hour on the shared machine, and by up to four times
between days (the host's other guests compete for its cores and caches); an instruction count does
not. The process runs under `valgrind --tool=callgrind` with counting off; after a warm-up,
counting is switched on for a window of calls (one agent, one call at a time), then for two idle
windows as long as it. The first idle window catches the work the calls left behind (the audit
log's batch insert); the second is the background alone (timers, catalog polling), which is
subtracted twice:

    per call = (calls window + idle window 1 - 2 x idle window 2) / calls

Under valgrind the hub runs ~20x slower, so a batch holds fewer records than it would natively and
its fixed cost weighs a little more per call. Needs `valgrind` and `callgrind_control` on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.load import ARGUMENTS
from bench.processes import CACHE

WARMUP_CALLS = 30
CONTROL_TIMEOUT_S = 120.0
VALGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


def available() -> bool:
    return shutil.which("valgrind") is not None and shutil.which("callgrind_control") is not None


def fresh_dumps(name: str) -> Path:
    """Where callgrind is to write a process's dumps (`name`.<pid>.<n> in the bench cache), the last run's removed."""
    out = CACHE / name
    for old in CACHE.glob(f"{name}.*"):
        old.unlink()
    return out


def wrapper(out: Path) -> list[str]:
    """The command prefix that starts a process under callgrind, its dumps going to `out`.<pid>.<n>."""
    return [*VALGRIND, f"--callgrind-out-file={out}.%p"]


def per_call(pid: int, url: str, key: str, calls: int, out: Path, mode: str = "2026-07-28") -> float:
    """Instructions per tools/call of the callgrind-run process `pid` (module docstring); `mode`: the agent's era.

    `url` is the hub's virtual server with the agent `key`, or the upstream itself (`key` empty: no header).
    """
    anyio.run(_call, url, key, WARMUP_CALLS, mode)
    _control("--instr=on", pid)
    _control("--zero", pid)
    began = time.monotonic()
    anyio.run(_call, url, key, calls, mode)
    window = time.monotonic() - began
    _control("--dump=calls", pid)
    time.sleep(window)
    _control("--dump=after", pid)
    time.sleep(window)
    _control("--dump=idle", pid)
    _control("--instr=off", pid)
    busy, after, idle = (_total(Path(f"{out}.{pid}.{n}")) for n in (1, 2, 3))
    return (busy + after - 2 * idle) / calls


async def _call(url: str, key: str, calls: int, mode: str) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with anyio.fail_after(60 + calls * 2.0):  # bounded: ~50 ms a call under valgrind, a wide margin
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0)) as http,
            Client(streamable_http_client(url, http_client=http), mode=mode) as client,
        ):
            for _ in range(calls):
                await client.call_tool("echo", ARGUMENTS)


def _control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True, timeout=CONTROL_TIMEOUT_S)


def _total(dump: Path) -> int:
    """The instruction total of one callgrind dump (its `totals:` line; `summary:` in older formats)."""
    deadline = time.monotonic() + CONTROL_TIMEOUT_S
    while not dump.exists():  # callgrind_control returns once the dump is requested, not written
        if time.monotonic() > deadline:
            raise RuntimeError(f"callgrind did not write {dump}")
        time.sleep(0.1)
    for line in dump.read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"{dump} has no totals line")
