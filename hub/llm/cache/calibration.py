"""How a similarity threshold behaves on labelled pairs: hit rate on paraphrases, false hits on the rest.

A pair is two requests; a paraphrase pair should be served one another's answer (a hit), any other
pair must not be (a false hit). A pair counts as served the way the cache serves it: similarity at
or above the threshold and, with the guard on, no veto from guard.py. Used by the test that pins
the default threshold and by `python -m bench.llm_cache`, which prints the table in docs/llm-cache.md.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hub.llm.cache.embedder import Embedder
from hub.llm.cache.guard import meaning_differs


@dataclass(frozen=True, slots=True)
class Pair:
    paraphrase: bool
    kind: str  # what makes the pair hard: reword, typo, number, negation, entity, direction...
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class Row:
    threshold: float
    hit_rate: float  # paraphrase pairs at or above the threshold, over all paraphrase pairs
    false_hit_rate: float  # other pairs at or above the threshold, over all other pairs
    hits: int
    false_hits: int


def load_pairs(path: Path) -> list[Pair]:
    """Pairs from a TSV file with the header `label kind a b` (label 1: paraphrase, 0: not)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [Pair(row["label"] == "1", row["kind"], row["a"], row["b"]) for row in rows]


@dataclass(frozen=True, slots=True)
class Scored:
    pair: Pair
    similarity: float  # cosine similarity of the two texts' vectors
    vetoed: bool  # the guard finds a difference in meaning the vectors miss


async def score(embedder: Embedder, pairs: Sequence[Pair]) -> list[Scored]:
    """Each pair as the cache sees it: the similarity of its vectors, and the guard's word on it."""
    first = await embedder.embed([p.a for p in pairs])
    second = await embedder.embed([p.b for p in pairs])
    sims = np.einsum("ij,ij->i", first, second)
    return [Scored(p, float(sim), meaning_differs(p.a, p.b)) for p, sim in zip(pairs, sims, strict=True)]


def sweep(scored: Sequence[Scored], thresholds: Sequence[float], guard: bool = True) -> list[Row]:
    """Hit and false-hit rates per threshold; with `guard`, a vetoed pair is never a hit."""
    positives = [s for s in scored if s.pair.paraphrase]
    negatives = [s for s in scored if not s.pair.paraphrase]

    def served(s: Scored, t: float) -> bool:
        return s.similarity >= t and not (guard and s.vetoed)

    table = []
    for t in thresholds:
        hits = sum(served(s, t) for s in positives)
        false_hits = sum(served(s, t) for s in negatives)
        table.append(Row(t, hits / len(positives), false_hits / len(negatives), hits, false_hits))
    return table


def grid(low: float = 0.70, high: float = 0.99, step: float = 0.01) -> list[float]:
    count = round((high - low) / step) + 1
    return [round(low + i * step, 2) for i in range(count)]


def choose(table: Sequence[Row], max_false_hit_rate: float) -> Row | None:
    """The lowest threshold whose false-hit rate stays within the bound (the most hits it allows), if any."""
    for row in sorted(table, key=lambda r: r.threshold):
        if row.false_hit_rate <= max_false_hit_rate:
            return row
    return None
