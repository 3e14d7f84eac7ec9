"""Differences that change a request's meaning but barely move its vector: a veto after a match by meaning.

A sentence embedding is close to a bag of words: "convert Celsius to Fahrenheit" and "convert
Fahrenheit to Celsius" score 0.99, "turn on dark mode" and "turn off dark mode" 0.93. The
threshold alone cannot tell these apart from paraphrases (docs/llm-cache.md has the measurement),
so a candidate above it is refused when the two texts differ in

* numbers (digits, number words, ordinals) or times of day and relative days (am/pm, today, tomorrow);
* polarity: a negation on one side only, or a word and its negated form (enable/disable, lock/unlock);
* a pair of opposites (on/off, start/end, before/after, more/less...);
* order alone: the same words arranged so that who does what to whom changes (from A to B, X chases Y).

Rules of English only; they make the cache more conservative, never less.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


STOPWORDS = _set(
    """a an the i me my we our you your it its is are was were be been am do does did can could would should will
    shall may might must how what what's which who whom whose why where when there here this that these those
    please kindly tell give show explain let let's i'd i'm i'll you're it's that's there's is it of and or but
    if so as at by for from in into on onto out to up with about over under than then too very just also any
    some get got have has had like want need know help way best good some s"""
)
PREPOSITIONS = _set(
    "at by for from in into on onto to with without about over under via using during when while after before"
)
DETERMINERS = _set("a an the my your our their his her its this that these those some")
NEGATIONS = _set("not no never none nor cannot without against")
NUMBER_WORDS = _set(
    """zero two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion
    dozen half quarter third fourth fifth sixth seventh eighth ninth tenth twice double triple"""
)
TIME_WORDS = _set("today tonight tomorrow yesterday morning afternoon evening weekend")
CLOCK_WORDS = _set("am pm")  # after a number only: "7 am", not "am I"
OPPOSITES = (
    ("on", "off"), ("in", "out"), ("up", "down"), ("start", "end"), ("start", "stop"), ("begin", "end"),
    ("before", "after"), ("more", "less"), ("most", "least"), ("older", "younger"), ("oldest", "youngest"),
    ("good", "bad"), ("best", "worst"), ("better", "worse"), ("accept", "decline"), ("accept", "reject"),
    ("safe", "dangerous"), ("true", "false"), ("open", "close"), ("buy", "sell"), ("import", "export"),
    ("add", "remove"), ("min", "max"), ("minimum", "maximum"), ("first", "last"), ("high", "low"),
    ("increase", "reduce"), ("win", "lose"), ("pros", "cons"), ("push", "pull"), ("upload", "download"),
)  # fmt: skip
_OPPOSED = frozenset(frozenset(pair) for pair in OPPOSITES)
NEGATING_PREFIXES = ("un", "dis", "de", "en", "in", "im", "il", "ir", "non", "anti", "mis")


def meaning_differs(a: str, b: str) -> bool:
    """True when two texts whose vectors matched still ask different things, by the rules above."""
    wa, wb = words(a), words(b)
    if _numbers(wa) != _numbers(wb) or _negations(wa) != _negations(wb):
        return True
    only_a, only_b = set(wa) - set(wb), set(wb) - set(wa)
    if any(_opposed(x, y) for x in only_a for y in only_b):
        return True
    return _reordered(wa, wb)


def words(text: str) -> list[str]:
    """Lower-case word tokens, possessive 's dropped ("today's" is "today")."""
    found = _WORD.findall(text.lower().replace("\u2019", "'"))
    return [w.removesuffix("'s") if w.endswith("'s") and w not in STOPWORDS else w for w in found]


def _numbers(ws: list[str]) -> Counter[str]:
    found = Counter(w for w in ws if _digits(w) or w in NUMBER_WORDS or w in TIME_WORDS)
    found.update(w for prev, w in pairwise(ws) if w in CLOCK_WORDS and _digits(prev))
    return found


def _digits(w: str) -> bool:
    return any(c.isdigit() for c in w)


def _negations(ws: list[str]) -> int:
    return sum(w in NEGATIONS or w.endswith("n't") for w in ws)


def _opposed(x: str, y: str) -> bool:
    if any(frozenset((u, v)) in _OPPOSED for u in _forms(x) for v in _forms(y)):
        return True
    return bool(_prefix_variants(x) & _prefix_variants(y))


def _forms(w: str) -> set[str]:
    """The word and its likely base forms: "declining" -> decline, "starts" -> start."""
    forms = {w}
    for suffix in ("ing", "ed", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            forms |= {w[: -len(suffix)], w[: -len(suffix)] + "e"}
    return forms


def _prefix_variants(w: str) -> set[str]:
    return {w} | {w[len(p) :] for p in NEGATING_PREFIXES if w.startswith(p) and len(w) - len(p) >= 4}


def _reordered(wa: list[str], wb: list[str]) -> bool:
    """Same content words in another order, when that order says who does what to whom.

    Refused: a preposition governing another word ("from A to B" against "from B to A"), two words
    swapped ("is a square a rectangle"), both ends changed without a phrase merely moving ("X chases
    Y" against "Y chases X"). Kept: a phrase moved to the other end ("In Python, how do I read a
    file?" against "How do I read a file in Python?"), a modifier moved ("a list in Python", "a
    Python list").
    """
    ca, cb = _content(wa), _content(wb)
    if Counter(ca) != Counter(cb) or ca == cb:
        return False
    ga, gb = _governed(wa), _governed(wb)
    if any(ga[p] != gb[p] for p in ga.keys() & gb.keys()):
        return True
    if len(ca) <= 2:
        return True
    rotated = any(ca[i:] + ca[:i] == cb for i in range(1, len(ca)))
    return ca[0] != cb[0] and ca[-1] != cb[-1] and not rotated


def _content(ws: list[str]) -> list[str]:
    return [w for w in ws if w not in STOPWORDS]


def _governed(ws: list[str]) -> dict[str, Counter[str]]:
    """For each preposition, the words it governs (the next word that is not a determiner)."""
    governed: dict[str, Counter[str]] = {}
    for i, w in enumerate(ws):
        if w in PREPOSITIONS:
            rest = [x for x in ws[i + 1 :] if x not in DETERMINERS]
            if rest:
                governed.setdefault(w, Counter())[rest[0]] += 1
    return governed
