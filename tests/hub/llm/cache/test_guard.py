"""The guard: differences in meaning a sentence vector misses, and paraphrases it must let through."""

from __future__ import annotations

import pytest

from hub.llm.cache.guard import meaning_differs


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Convert 10 miles to kilometers.", "Convert 100 miles to kilometers."),
        ("Give me three ideas.", "Give me ten ideas."),
        ("Set an alarm for 7 am.", "Set an alarm for 7 pm."),
        ("What's on today?", "What's on tomorrow?"),
        ("Is coffee good for you?", "Is coffee not good for you?"),
        ("Why should I use Go?", "Why shouldn't I use Go?"),
        ("How do I enable backups?", "How do I disable backups?"),
        ("How do I lock the screen?", "How do I unlock the screen?"),
        ("How do I turn on dark mode?", "How do I turn off dark mode?"),
        ("When did the war start?", "When did the war end?"),
        ("Convert JSON to YAML.", "Convert YAML to JSON."),
        ("Does the dog chase the cat?", "Does the cat chase the dog?"),
        ("Is a square a rectangle?", "Is a rectangle a square?"),
    ],
)
def test_a_difference_in_meaning_is_refused(a: str, b: str) -> None:
    assert meaning_differs(a, b)
    assert meaning_differs(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("How do I reset my password?", "How can I reset my password?"),
        ("In Python, how do I read a file?", "How do I read a file in Python?"),
        ("How do I reverse a list in Python?", "What's the way to reverse a Python list?"),
        ("Am I allowed to park here?", "Can I park here?"),
        ("What is the square root of 144?", "What's the square root of 144?"),
    ],
)
def test_a_paraphrase_passes(a: str, b: str) -> None:
    assert not meaning_differs(a, b)
    assert not meaning_differs(b, a)
