"""`make bench`: tools/call through the hub versus the same upstream directly, in the same run.

    python -m bench                          # both eras, concurrency 1, 16 and 64
    python -m bench --modes 2026-07-28 --levels 1,16 --max-calls 500
    python -m bench profile --seconds 10     # py-spy on the hub under concurrency-16 load
    python -m bench instructions --calls 300 # instructions per call, hub and upstream alone (callgrind)
    python -m bench rest --levels 1,16       # the REST connector versus calling the REST service directly
    python -m bench llm                      # the LLM layer vs the fake provider and LiteLLM's proxy
    python -m bench governance               # what auth, limits and audit add per call (bench/governance.py)

Three processes: the echo upstream (`bench.upstream`), the hub (`hub serve`, one per protocol era,
speaking that same era to the upstream, so both paths reach it the same way) and the load
generator (`bench.load`). `--hub-root DIR` runs the hub from another tree, for A/B runs of a
proposed change on a scratch copy. Results go to stdout and to .cache/bench/latest.json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import governance, instructions, llm, processes, profile, report, rest

MODES = ("2026-07-28", "legacy")


def _run_command(args: argparse.Namespace) -> int:
    levels = [int(n) for n in args.levels.split(",")]
    limits = _Limits(args.max_calls, args.max_seconds, args.rounds)
    return _run(_modes(args), levels, limits, args.hub_root, audit=not args.no_audit)


def _profile_command(args: argparse.Namespace) -> int:
    return profile.run(_modes(args)[0], args.concurrency, args.seconds, args.hub_root)


def _instructions_command(args: argparse.Namespace) -> int:
    """Instructions per tools/call, per era: the hub, and the upstream alone as the same run's baseline.

    The baseline is the bench upstream answering the same client directly: a minimal server of the
    official SDK. Neither count depends on the machine's speed, and their ratio carries over between
    machines.
    """
    if not instructions.available():
        print("valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    for mode in _modes(args):
        out = instructions.fresh_dumps(f"callgrind-upstream-{mode}")
        with processes.upstream(instructions.wrapper(out)) as upstream:
            direct = instructions.per_call(upstream.pid, upstream.url, "", args.calls, out, mode)
        out = instructions.fresh_dumps(f"callgrind-hub-{mode}")
        with (
            processes.upstream() as upstream,
            processes.hub(upstream.url, mode, args.hub_root, not args.no_audit, instructions.wrapper(out)) as hub,
        ):
            count = instructions.per_call(hub.pid, hub.url, hub.key, args.calls, out, mode)
        print(
            f"{mode}: hub {count / 1e6:.3f} M instructions per tools/call, the upstream alone {direct / 1e6:.3f} M,"
            f" hub/upstream {count / direct:.2f} ({args.calls} calls, {args.hub_root})"
        )
    return 0


def _rest_command(args: argparse.Namespace) -> int:
    levels = [int(n) for n in args.levels.split(",")]
    return rest.run(levels, args.max_calls, args.max_seconds)


def _modes(args: argparse.Namespace) -> list[str]:
    return [m for m in args.modes.split(",") if m]


# Subcommands: `python -m bench <name> [options]`. Another benchmark adds its line here.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _run_command,
    "profile": _profile_command,
    "rest": _rest_command,
    "instructions": _instructions_command,
}


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv)[:1] == ["llm"]:  # the LLM layer's bench (bench/llm.py)
        return llm.main((sys.argv[1:] if argv is None else argv)[1:])
    if (sys.argv[1:] if argv is None else argv)[:1] == ["governance"]:  # auth + limits + audit overhead
        return governance.main((sys.argv[1:] if argv is None else argv)[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", nargs="?", choices=tuple(COMMANDS), default="run")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated: 2026-07-28, legacy")
    parser.add_argument("--levels", default="1,16,64", help="comma-separated concurrency levels")
    parser.add_argument("--max-calls", type=int, default=2000, help="measured calls per level and target")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="time bound per level and target")
    parser.add_argument("--hub-root", type=Path, default=processes.ROOT, help="run the hub from this tree (A/B)")
    parser.add_argument("--rounds", type=int, default=4, help="run: alternating windows per level and target")
    parser.add_argument("--no-audit", action="store_true", help="run: the hub with its audit log off")
    parser.add_argument("--seconds", type=float, default=10.0, help="profile: how long py-spy samples")
    parser.add_argument("--concurrency", type=int, default=16, help="profile: load level while sampling")
    parser.add_argument("--calls", type=int, default=300, help="instructions: calls counted per era")
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


@dataclass(frozen=True)
class _Limits:
    max_calls: int  # per level and target, over all its rounds
    max_seconds: float  # the same
    rounds: int


def _run(modes: list[str], levels: list[int], limits: _Limits, hub_root: Path, audit: bool = True) -> int:
    results: list[dict[str, Any]] = []
    rss: dict[str, float] = {}
    with processes.upstream() as upstream:
        print(f"upstream: {upstream.url}", file=sys.stderr)
        for mode in modes:
            with processes.hub(upstream.url, mode, hub_root, audit) as hub:
                plan = {
                    "mode": mode,
                    "targets": [
                        {"name": "direct", "url": upstream.url, "pid": upstream.pid},
                        {"name": "hub", "url": hub.url, "pid": hub.pid, "key": hub.key},
                    ],
                    "levels": levels,
                    "max_calls": limits.max_calls,
                    "max_seconds": limits.max_seconds,
                    "rounds": limits.rounds,
                }
                bound = len(levels) * (2 * limits.max_seconds + 60 * limits.rounds) + 30
                results += processes.run_load(plan, timeout_s=bound)
                rss[mode] = hub.rss_mib()
    comparisons = report.compare(results)
    print(report.table(comparisons, rss))
    print("\n".join(report.verdicts(comparisons)))
    settings = {"modes": modes, "levels": levels, **asdict(limits), "audit": audit}
    settings["hub_tree"] = processes.tree_state(hub_root)
    out = processes.CACHE / "latest.json"
    report.save(out, comparisons, rss, settings)
    print(f"\nsaved {out.relative_to(processes.ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
