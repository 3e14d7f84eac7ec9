"""`python -m bench.llm_cache`: the LLM cache's hit and false-hit rates per similarity threshold.

Scores the labelled pairs in tests/hub/llm/cache/pairs/ with the local model (hub[semantic]) and
prints, per threshold, the hit rate on paraphrases and the false-hit rate on the others, with the
guard and without it. The chosen default is the lowest threshold whose false-hit rate (with the
guard) is at most 1% on the tuning pairs; the held-out pairs were written after the guard's rules
were fixed.

    python -m bench.llm_cache                 # both sets, thresholds 0.70..0.99
    python -m bench.llm_cache --low 0.85 --max-false-hit-rate 0.02
"""

from __future__ import annotations

import argparse
from pathlib import Path

import anyio

from hub.llm.cache.calibration import Scored, choose, grid, load_pairs, score, sweep
from hub.llm.cache.local_embedder import LocalEmbedder

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "hub" / "llm" / "cache" / "pairs"
SETS = {"tuning": PAIRS / "paraphrases.tsv", "held-out": PAIRS / "paraphrases_heldout.tsv"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.llm_cache", description=__doc__.splitlines()[0])
    parser.add_argument("--low", type=float, default=0.70, help="lowest threshold in the table")
    parser.add_argument("--max-false-hit-rate", type=float, default=0.01, help="bound for the chosen threshold")
    args = parser.parse_args(argv)
    embedder = LocalEmbedder()
    thresholds = grid(args.low)
    for name, path in SETS.items():
        scored: list[Scored] = anyio.run(score, embedder, load_pairs(path))
        _print(name, scored, thresholds)
        chosen = choose(sweep(scored, thresholds), args.max_false_hit_rate)
        if chosen is None:
            print(f"{name}: no threshold keeps false hits within {args.max_false_hit_rate:.1%}\n")
        else:
            bound = f"{args.max_false_hit_rate:.1%}"
            rates = f"hit rate {chosen.hit_rate:.1%}, false-hit rate {chosen.false_hit_rate:.1%}"
            print(f"{name}: lowest threshold with false hits within {bound}: {chosen.threshold:.2f} ({rates})\n")
    return 0


def _print(name: str, scored: list[Scored], thresholds: list[float]) -> None:
    positives = sum(s.pair.paraphrase for s in scored)
    print(f"{name}: {len(scored)} pairs ({positives} paraphrases, {len(scored) - positives} others)")
    print("| threshold | hit rate | false-hit rate | hit rate, no guard | false-hit rate, no guard |")
    print("| --- | --- | --- | --- | --- |")
    guarded, raw = sweep(scored, thresholds), sweep(scored, thresholds, guard=False)
    for g, r in zip(guarded, raw, strict=True):
        print(
            f"| {g.threshold:.2f} | {g.hit_rate:.1%} ({g.hits}) | {g.false_hit_rate:.1%} ({g.false_hits})"
            f" | {r.hit_rate:.1%} ({r.hits}) | {r.false_hit_rate:.1%} ({r.false_hits}) |"
        )


if __name__ == "__main__":
    raise SystemExit(main())
