"""Pair each level's direct and via-hub results, check them against the targets, print and save them."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_ADDED_P50_MS = 1.0  # at concurrency 1
MIN_THROUGHPUT_RATIO = 0.60  # at concurrency 16


@dataclass(frozen=True, slots=True)
class Comparison:
    mode: str
    concurrency: int
    direct: dict[str, Any]
    hub: dict[str, Any]
    added_p50_ms: float
    throughput_ratio: float


def compare(levels: list[dict[str, Any]]) -> list[Comparison]:
    by_key = {(r["mode"], r["concurrency"], r["target"]): r for r in levels}
    out: list[Comparison] = []
    for mode, concurrency, target in by_key:
        if target != "direct" or (mode, concurrency, "hub") not in by_key:
            continue
        direct, via = by_key[mode, concurrency, "direct"], by_key[mode, concurrency, "hub"]
        ratio = via["calls_per_s"] / direct["calls_per_s"] if direct["calls_per_s"] else 0.0
        added = via["p50_ms"] - direct["p50_ms"]
        out.append(Comparison(mode, concurrency, direct, via, round(added, 3), round(ratio, 3)))
    return out


def verdicts(comparisons: list[Comparison]) -> list[str]:
    lines: list[str] = []
    for c in comparisons:
        if c.concurrency == 1:
            ok = c.added_p50_ms <= MAX_ADDED_P50_MS
            lines.append(
                f"{c.mode}: added p50 at c=1 is {c.added_p50_ms:.3f} ms "
                f"(target <= {MAX_ADDED_P50_MS:g} ms): {'met' if ok else 'MISSED'}"
            )
        if c.concurrency == 16:
            ok = c.throughput_ratio >= MIN_THROUGHPUT_RATIO
            lines.append(
                f"{c.mode}: hub/direct throughput at c=16 is {c.throughput_ratio:.1%} "
                f"(target >= {MIN_THROUGHPUT_RATIO:.0%}): {'met' if ok else 'MISSED'}"
            )
    return lines


def table(comparisons: list[Comparison], rss_mib: dict[str, float]) -> str:
    """One row per era and level.

    `cpu ms` is the serving process's CPU per call (upstream for direct, hub for hub); `load ms` is
    the load generator's own, which shares the same two cores.
    """
    head = (
        f"{'mode':<11}{'conc':>5} | {'direct p50':>10}{'p99':>8}{'calls/s':>9}{'cpu ms':>8}{'load ms':>8} | "
        f"{'hub p50':>8}{'p99':>8}{'calls/s':>9}{'cpu ms':>8}{'load ms':>8} | {'+p50 ms':>8}{'hub/direct':>11}"
    )
    rows = [head, "-" * len(head)]
    for c in comparisons:
        d, h = c.direct, c.hub
        errors = d["errors"] + h["errors"]
        rows.append(
            f"{c.mode:<11}{c.concurrency:>5} | {_side(d, 10)} | {_side(h, 8)} | "
            f"{c.added_p50_ms:>8.2f}{c.throughput_ratio:>11.0%}" + (f"  ({errors} errors)" if errors else "")
        )
    rows.append("")
    rows += [f"hub RSS after the {mode} run: {mib:.1f} MiB" for mode, mib in rss_mib.items()]
    return "\n".join(rows)


def _side(r: dict[str, Any], width: int) -> str:
    return (
        f"{r['p50_ms']:>{width}.2f}{r['p99_ms']:>8.2f}{r['calls_per_s']:>9.0f}"
        f"{r['server_cpu_ms_per_call']:>8.2f}{r['client_cpu_ms_per_call']:>8.2f}"
    )


def save(path: Path, comparisons: list[Comparison], rss_mib: dict[str, float], settings: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "settings": settings,
        "comparisons": [asdict(c) for c in comparisons],
        "hub_rss_mib": rss_mib,
        "verdicts": verdicts(comparisons),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
