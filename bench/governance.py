"""`python -m bench governance`: what auth, rate limits and the audit log add to one tools/call.

    python -m bench governance                       # 2026-07-28, concurrency 1 and 16, 3 rounds
    python -m bench governance --levels 1 --rounds 5 --max-calls 1000
    python -m bench governance --instructions 400    # instructions per call instead (valgrind; steady)

Two hubs in front of the same echo upstream, measured in the same run by the same load generator:
`bare` (limits off, audit off) and `governed` (a rate-limit rule that covers every call but never
refuses one, and the audit log on when this tree has it). Both authenticate every request with a
hub API key: an agent edge without authentication does not exist, so auth's own cost is measured
in-process instead (the authenticator on a request's headers, many times over) and added to the
difference. Rounds alternate which hub goes first; the median of each figure across rounds is
reported. Results go to stdout and .cache/bench/governance.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio
import yaml

from bench import instructions, processes
from hub.auth.api_keys import KeyRing, StoredKey, digest, generate_key, key_id
from hub.auth.authenticator import Authenticator
from hub.auth.directory import AgentDirectory
from hub.config.model import AgentConfig, HubConfig, LimitConfig
from hub.core.principal import Principal
from hub.governance.limits import Limits, LocalRateLimiter

TARGET_P50_MS = 0.3  # the bound on what these layers add at p50
NEVER_REFUSES = {"name": "bench-limit", "requests_per_minute": 10_000_000, "concurrent_calls": 100_000}
AUTH_CALLS = 50_000


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench governance", description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="2026-07-28", help="comma-separated: 2026-07-28, legacy")
    parser.add_argument("--levels", default="1,16", help="comma-separated concurrency levels")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per hub and level (medians reported)")
    parser.add_argument("--max-calls", type=int, default=1000, help="measured calls per level, hub and round")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="time bound per level, hub and round")
    parser.add_argument(
        "--instructions", type=int, default=0, metavar="CALLS", help="count instructions per call over CALLS calls"
    )
    args = parser.parse_args(argv)
    if args.instructions:
        return run_instructions(args.instructions)
    modes = [m for m in args.modes.split(",") if m]
    levels = [int(n) for n in args.levels.split(",")]
    return run(modes, levels, args.rounds, args.max_calls, args.max_seconds)


def run(modes: list[str], levels: list[int], rounds: int, max_calls: int, max_seconds: float) -> int:
    auth_us = auth_microseconds()
    limits_us = limits_microseconds()
    print(f"in-process: auth (API key) {auth_us:.2f} µs, limits (one local rule) {limits_us:.2f} µs", file=sys.stderr)
    rows: list[dict[str, Any]] = []
    with processes.upstream() as upstream:
        for mode in modes:
            with _hub(upstream.url, mode, "bare") as bare, _hub(upstream.url, mode, "governed") as governed:
                results: list[dict[str, Any]] = []
                for n in range(rounds):
                    pair = [bare, governed] if n % 2 == 0 else [governed, bare]
                    plan = {
                        "mode": mode,
                        "targets": [{"name": h.name, "url": h.url, "pid": h.pid, "key": h.key} for h in pair],
                        "levels": levels,
                        "max_calls": max_calls,
                        "max_seconds": max_seconds,
                    }
                    results += processes.run_load(plan, timeout_s=len(levels) * 2 * (max_seconds + 60) + 30)
                rows += _summarise(mode, levels, results, auth_us)
    print(_table(rows, auth_us))
    out = processes.CACHE / "governance.json"
    settings = {"modes": modes, "levels": levels, "rounds": rounds, "max_calls": max_calls, "audit": _has_audit()}
    settings["hub_tree"] = processes.tree_state(processes.ROOT)
    document = {"settings": settings, "auth_us": auth_us, "limits_us": limits_us, "rows": rows}
    out.write_text(json.dumps(document, indent=2))
    print(f"\nsaved {out.relative_to(processes.ROOT)}")
    return 0


def run_instructions(calls: int) -> int:
    """Instructions per tools/call of the bare and the governed hub (2026-07-28, one agent; bench/instructions.py)."""
    if not instructions.available():
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    counts: dict[str, float] = {}
    with processes.upstream() as upstream:
        for name in ("bare", "governed"):
            out = instructions.fresh_dumps(f"callgrind-{name}")
            with _hub(upstream.url, "2026-07-28", name, instructions.wrapper(out), ready_s=300) as hub:
                counts[name] = instructions.per_call(hub.pid, hub.url, hub.key, calls, out)
    bare, governed = counts["bare"], counts["governed"]
    print(
        f"instructions per tools/call ({calls} calls, callgrind):"
        f" bare {bare / 1e6:.3f} M, governed {governed / 1e6:.3f} M"
    )
    print(f"added by limits + audit: {(governed - bare) / 1e6:.3f} M ({governed / bare:.2f}x)")
    tree = processes.tree_state(processes.ROOT)
    document = {"calls": calls, "bare_instructions": bare, "governed_instructions": governed, "hub_tree": tree}
    (processes.CACHE / "governance-instructions.json").write_text(json.dumps(document, indent=2))
    return 0


def auth_microseconds(calls: int = AUTH_CALLS) -> float:
    """Microseconds the hub's authenticator spends on one request's headers (API key, 100 agents' keys)."""
    plain = [generate_key() for _ in range(100)]
    agents = [AgentConfig(name=f"agent-{i}") for i in range(100)]
    ring = KeyRing([StoredKey(f"agent-{i}", key_id(k), digest(k)) for i, k in enumerate(plain)])
    authenticator = Authenticator(ring, AgentDirectory(agents))
    headers = {"authorization": f"Bearer {plain[42]}", "content-type": "application/json"}

    async def loop() -> float:
        began = time.perf_counter()
        for _ in range(calls):
            await authenticator.authenticate(headers)
        return time.perf_counter() - began

    return round(anyio.run(loop) / calls * 1e6, 2)


def limits_microseconds(calls: int = AUTH_CALLS) -> float:
    """Microseconds `Limits.admit` spends on one call under the bench's rule, with local budgets (no Redis)."""
    limits = Limits((LimitConfig.model_validate(NEVER_REFUSES),), LocalRateLimiter())
    principal = Principal("bench-agent", None, {})

    async def loop() -> float:
        began = time.perf_counter()
        for _ in range(calls):
            async with limits.admit(principal, "bench", "echo"):
                pass
        return time.perf_counter() - began

    return round(anyio.run(loop) / calls * 1e6, 2)


class _Hub:
    def __init__(self, name: str, process: processes.HubProcess) -> None:
        self.name = name
        self.pid, self.url, self.key = process.pid, process.url, process.key


@contextmanager
def _hub(
    upstream_url: str, mode: str, name: str, wrapper: list[str] | None = None, ready_s: float = 30
) -> Iterator[_Hub]:
    """`hub serve` like `processes.hub`, with limits and audit on (`governed`) or off (`bare`).

    `wrapper` prefixes the command (valgrind, for instruction counts).
    """
    key = generate_key()
    protocol = "legacy" if mode == "legacy" else "auto"
    database = processes.CACHE / f"governance-{name}.db"
    database.unlink(missing_ok=True)
    settings = processes._hub_config(upstream_url, protocol, key) | {
        "storage": {"url": f"sqlite+aiosqlite:///{database}"}
    }
    if name == "governed":
        settings["limits"] = [NEVER_REFUSES]
    if _has_audit():
        journal_dir = processes.CACHE / f"audit-{name}"
        shutil.rmtree(journal_dir, ignore_errors=True)  # a fresh chain: no earlier run's journal to catch up on
        settings["audit"] = {"enabled": name == "governed", "journal_dir": str(journal_dir)}
    config = processes.CACHE / f"governance-{name}.yaml"
    config.write_text(yaml.safe_dump(settings, sort_keys=False))
    port = processes.free_port()
    command = [*(wrapper or []), sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--port", str(port)]
    with ExitStack() as stack:
        proc = stack.enter_context(processes.spawn(command, processes.CACHE / f"governance-{name}.log"))
        processes.wait_ready(proc, f"http://127.0.0.1:{port}/ready", timeout_s=ready_s)
        yield _Hub(name, processes.HubProcess(proc.pid, f"http://127.0.0.1:{port}/servers/bench/mcp", key))


def _has_audit() -> bool:
    return "audit" in HubConfig.model_fields


def _summarise(mode: str, levels: list[int], results: list[dict[str, Any]], auth_us: float) -> list[dict[str, Any]]:
    rows = []
    for level in levels:

        def median(target: str, field: str, level: int = level) -> float:
            values = [r[field] for r in results if r["target"] == target and r["concurrency"] == level]
            return round(float(statistics.median(values)), 3)

        bare_p50, gov_p50 = median("bare", "p50_ms"), median("governed", "p50_ms")
        bare_cpu, gov_cpu = median("bare", "server_cpu_ms_per_call"), median("governed", "server_cpu_ms_per_call")
        added_p50 = round(gov_p50 - bare_p50 + auth_us / 1000, 3)
        rows.append(
            {
                "mode": mode,
                "concurrency": level,
                "bare_p50_ms": bare_p50,
                "governed_p50_ms": gov_p50,
                "added_p50_ms": added_p50,  # limits + audit (measured) + auth (in-process)
                "bare_cpu_ms_per_call": bare_cpu,
                "governed_cpu_ms_per_call": gov_cpu,
                "added_cpu_ms_per_call": round(gov_cpu - bare_cpu + auth_us / 1000, 3),
                "cpu_ratio": round(gov_cpu / bare_cpu, 3) if bare_cpu else float("nan"),
                "throughput_ratio": round(median("governed", "calls_per_s") / median("bare", "calls_per_s"), 3),
                "errors": sum(r["errors"] for r in results if r["concurrency"] == level),
                "meets_target": added_p50 < TARGET_P50_MS,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]], auth_us: float) -> str:
    head = (
        f"{'mode':>10} {'c':>3} {'p50 bare':>9} {'p50 gov':>8} {'added p50':>10} "
        f"{'cpu bare':>9} {'cpu gov':>8} {'added cpu':>10} {'cpu x':>6} {'thr x':>6} {'err':>4}"
    )
    lines = [head]
    for r in rows:
        lines.append(
            f"{r['mode']:>10} {r['concurrency']:>3} {r['bare_p50_ms']:>9.3f} {r['governed_p50_ms']:>8.3f}"
            f" {r['added_p50_ms']:>10.3f} {r['bare_cpu_ms_per_call']:>9.3f} {r['governed_cpu_ms_per_call']:>8.3f}"
            f" {r['added_cpu_ms_per_call']:>10.3f} {r['cpu_ratio']:>6.2f} {r['throughput_ratio']:>6.2f}"
            f" {r['errors']:>4}"
        )
    lines.append(
        f"(ms; 'added' = governed - bare + auth {auth_us:.2f} µs measured in-process;"
        f" target: added p50 < {TARGET_P50_MS} ms; audit {'on' if _has_audit() else 'not in this tree'})"
    )
    return "\n".join(lines)
