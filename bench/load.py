"""The load generator: N agents, each with its own HTTP client and MCP session, calling `echo`.

    python -m bench.load PLAN_JSON      # prints one JSON object: {"levels": [LevelResult, ...]}

Runs in its own process so it does not share a GIL with the hub or the upstream. For every
concurrency level it measures each target in turn (direct, then via hub), so both see the same
machine state. Every level is bounded in calls and in seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

WARMUP_CALLS = 20  # per worker, before the clock starts
ARGUMENTS = {"text": "ping"}


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # "direct" or "hub"
    url: str
    pid: int  # the server process behind `url`, whose CPU time is measured
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    mode: str  # "2026-07-28" or "legacy"
    targets: tuple[Target, ...]
    levels: tuple[int, ...]
    max_calls: int
    max_seconds: float


@dataclass(frozen=True, slots=True)
class LevelResult:
    target: str
    mode: str
    concurrency: int
    calls: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    calls_per_s: float
    server_cpu_ms_per_call: float  # CPU the server process (upstream for direct, hub for hub) spent per call
    client_cpu_ms_per_call: float  # CPU this load generator spent per call (it shares the machine's cores)


class _Budget:
    """Shared by a level's workers: stop at max_calls or at the deadline, whichever comes first."""

    def __init__(self, max_calls: int, max_seconds: float) -> None:
        self.left = max_calls
        self.max_seconds = max_seconds
        self.began = self.ended = self.deadline = 0.0
        self.latencies: list[float] = []
        self.errors = 0

    def begin(self) -> None:
        self.began = time.perf_counter()
        self.deadline = self.began + self.max_seconds

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


class _Countdown:
    """Set `event` once `count` workers have called done()."""

    def __init__(self, count: int) -> None:
        self._left = count
        self.event = anyio.Event()

    def done(self) -> None:
        self._left -= 1
        if self._left == 0:
            self.event.set()


@dataclass(frozen=True, slots=True)
class _Gates:
    """The phases a level's workers move through together: warm, measure, then close."""

    warmed: _Countdown
    start: anyio.Event
    finished: _Countdown
    close: anyio.Event


async def _worker(target: Target, mode: str, budget: _Budget, gates: _Gates) -> None:
    headers = {"Authorization": f"Bearer {target.key}"} if target.key else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http,
        Client(streamable_http_client(target.url, http_client=http), mode=mode) as client,
    ):
        for _ in range(WARMUP_CALLS):
            await client.call_tool("echo", ARGUMENTS)
        gates.warmed.done()
        await gates.start.wait()
        while budget.take():
            began = time.perf_counter()
            try:
                failed = (await client.call_tool("echo", ARGUMENTS)).is_error
            except Exception:
                failed = True
            budget.ended = time.perf_counter()
            if failed:
                budget.errors += 1
            else:
                budget.latencies.append(budget.ended - began)
        gates.finished.done()
        await gates.close.wait()


async def run_level(target: Target, plan: Plan, concurrency: int) -> LevelResult:
    """Open `concurrency` agents, warm each up, then measure until the budget runs out."""
    gates = _Gates(_Countdown(concurrency), anyio.Event(), _Countdown(concurrency), anyio.Event())
    budget = _Budget(plan.max_calls, plan.max_seconds)
    with anyio.fail_after(plan.max_seconds + 60):  # connect + warm-up + measure: never unbounded
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(_worker, target, plan.mode, budget, gates)
            await gates.warmed.event.wait()
            cpu_before, own_before = _cpu_seconds(target.pid), time.process_time()
            budget.begin()
            gates.start.set()
            await gates.finished.event.wait()
            cpu, own = _cpu_seconds(target.pid) - cpu_before, time.process_time() - own_before
            gates.close.set()
    return _summarise(target, plan, concurrency, budget, cpu, own)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _summarise(
    target: Target, plan: Plan, concurrency: int, budget: _Budget, cpu: float, own_cpu: float
) -> LevelResult:
    ordered = sorted(budget.latencies)
    calls = len(ordered)
    seconds = max(0.0, budget.ended - budget.began)

    def pct(q: float) -> float:
        return ordered[min(calls - 1, round(q * (calls - 1)))] * 1000 if calls else float("nan")

    return LevelResult(
        target=target.name,
        mode=plan.mode,
        concurrency=concurrency,
        calls=calls,
        errors=budget.errors,
        seconds=round(seconds, 3),
        p50_ms=round(pct(0.50), 3),
        p99_ms=round(pct(0.99), 3),
        calls_per_s=round(calls / seconds, 1) if seconds else 0.0,
        server_cpu_ms_per_call=round(cpu * 1000 / calls, 3) if calls else float("nan"),
        client_cpu_ms_per_call=round(own_cpu * 1000 / calls, 3) if calls else float("nan"),
    )


async def run(plan: Plan) -> list[LevelResult]:
    results: list[LevelResult] = []
    for level in plan.levels:
        for target in plan.targets:
            results.append(await run_level(target, plan, level))
            print(
                f"  {plan.mode:>10} c={level:<3} {target.name:<6} {results[-1].calls_per_s:8.1f} calls/s",
                file=sys.stderr,
            )
    return results


def parse_plan(text: str) -> Plan:
    raw = json.loads(text)
    return Plan(
        mode=raw["mode"],
        targets=tuple(Target(**t) for t in raw["targets"]),
        levels=tuple(raw["levels"]),
        max_calls=raw["max_calls"],
        max_seconds=raw["max_seconds"],
    )


def main() -> None:
    plan = parse_plan(sys.argv[1])
    results = anyio.run(run, plan)
    print(json.dumps({"levels": [asdict(r) for r in results]}))


if __name__ == "__main__":
    main()
