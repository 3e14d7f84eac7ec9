"""The load generator: N agents, each with its own HTTP client and MCP session, calling `echo`.

    python -m bench.load PLAN_JSON      # prints one JSON object: {"levels": [LevelResult, ...]}

Runs in its own process so it does not share a GIL with the hub or the upstream. For every
concurrency level it connects and warms up each target's agents once, then measures the targets in
turn (direct, then via hub) in `rounds` short windows each, so both see the same machine state even
while the shared machine's speed drifts. Every level is bounded in calls and in seconds.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
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
    rounds: int = 1  # windows per target and level, alternating between targets


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
    """One target's window in one round: stop at its share of the calls or at its deadline."""

    def __init__(self, calls: int, seconds: float, samples: _Samples, workers: int) -> None:
        self.left = calls
        self.deadline = time.perf_counter() + seconds
        self.samples = samples
        self.finished = _Countdown(workers)  # each of the pool's workers says when it is done

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


@dataclass
class _Samples:
    """What a target's windows add up to over a level's rounds."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0
    own_cpu: float = 0.0


class _Countdown:
    """Set `event` once `count` workers have called done()."""

    def __init__(self, count: int) -> None:
        self._left = count
        self.event = anyio.Event()

    def done(self) -> None:
        self._left -= 1
        if self._left == 0:
            self.event.set()


class _Pool:
    """A target's `concurrency` agents, connected and warmed once, measured in windows when told to."""

    def __init__(self, target: Target, concurrency: int) -> None:
        self.target = target
        self.concurrency = concurrency
        self.warmed = _Countdown(concurrency)
        self._windows: list[_Budget] = []
        self._closed = False
        self._changed = anyio.Event()  # set (and replaced) when a window opens or the pool closes

    async def measure(self, calls: int, seconds: float, samples: _Samples) -> None:
        """One window: the agents call until `calls` are made or `seconds` pass; its time and CPU go to `samples`."""
        budget = _Budget(calls, seconds, samples, self.concurrency)
        cpu_before, own_before = _cpu_seconds(self.target.pid), time.process_time()
        began = time.perf_counter()
        self._windows.append(budget)
        self._announce()
        await budget.finished.event.wait()
        samples.seconds += time.perf_counter() - began
        samples.server_cpu += _cpu_seconds(self.target.pid) - cpu_before
        samples.own_cpu += time.process_time() - own_before

    def close(self) -> None:
        self._closed = True
        self._announce()

    def _announce(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def worker(self, mode: str) -> None:
        headers = {"Authorization": f"Bearer {self.target.key}"} if self.target.key else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0)) as http,
            Client(streamable_http_client(self.target.url, http_client=http), mode=mode) as client,
        ):
            for _ in range(WARMUP_CALLS):
                await client.call_tool("echo", ARGUMENTS)
            self.warmed.done()
            seen = 0
            while True:
                changed = self._changed
                if seen < len(self._windows):
                    budget = self._windows[seen]
                    seen += 1
                    await _calls(client, budget)
                    budget.finished.done()
                elif self._closed:
                    return
                else:
                    await changed.wait()


async def _calls(client: Client, budget: _Budget) -> None:
    samples = budget.samples
    while budget.take():
        began = time.perf_counter()
        try:
            failed = (await client.call_tool("echo", ARGUMENTS)).is_error
        except Exception:
            failed = True
        if failed:
            samples.errors += 1
        else:
            samples.latencies.append(time.perf_counter() - began)


async def run_level(plan: Plan, concurrency: int) -> list[LevelResult]:
    """Connect and warm every target's agents, then measure the targets in turn, `plan.rounds` times.

    Alternating in short windows, rather than one target after the other, gives both the same
    machine: on a shared machine the speed of the cores drifts over seconds.
    """
    pools = [_Pool(target, concurrency) for target in plan.targets]
    samples = [_Samples() for _ in pools]
    rounds = max(1, plan.rounds)
    with anyio.fail_after(plan.max_seconds * len(pools) + 60 * rounds):  # connect + warm-up + measure: bounded
        async with anyio.create_task_group() as tg:
            for pool in pools:
                for _ in range(concurrency):
                    tg.start_soon(pool.worker, plan.mode)
            for pool in pools:
                await pool.warmed.event.wait()
            for _ in range(rounds):
                for pool, kept in zip(pools, samples, strict=True):
                    await pool.measure(plan.max_calls // rounds, plan.max_seconds / rounds, kept)
            for pool in pools:
                pool.close()
    return [_summarise(pool.target, plan, concurrency, kept) for pool, kept in zip(pools, samples, strict=True)]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _summarise(target: Target, plan: Plan, concurrency: int, samples: _Samples) -> LevelResult:
    ordered = sorted(samples.latencies)
    calls = len(ordered)
    seconds = samples.seconds

    def pct(q: float) -> float:
        return ordered[min(calls - 1, round(q * (calls - 1)))] * 1000 if calls else float("nan")

    return LevelResult(
        target=target.name,
        mode=plan.mode,
        concurrency=concurrency,
        calls=calls,
        errors=samples.errors,
        seconds=round(seconds, 3),
        p50_ms=round(pct(0.50), 3),
        p99_ms=round(pct(0.99), 3),
        calls_per_s=round(calls / seconds, 1) if seconds else 0.0,
        server_cpu_ms_per_call=round(samples.server_cpu * 1000 / calls, 3) if calls else float("nan"),
        client_cpu_ms_per_call=round(samples.own_cpu * 1000 / calls, 3) if calls else float("nan"),
    )


async def run(plan: Plan) -> list[LevelResult]:
    results: list[LevelResult] = []
    for level in plan.levels:
        for result in await run_level(plan, level):
            results.append(result)
            print(
                f"  {plan.mode:>10} c={level:<3} {result.target:<6} {result.calls_per_s:8.1f} calls/s", file=sys.stderr
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
        rounds=raw.get("rounds", 1),
    )


def main() -> None:
    plan = parse_plan(sys.argv[1])
    results = anyio.run(run, plan)
    print(json.dumps({"levels": [asdict(r) for r in results]}))


if __name__ == "__main__":
    main()
