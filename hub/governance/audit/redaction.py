"""What an audit record keeps of agent- and upstream-supplied data: secrets masked, text bounded and escaped.

`Redactor.payload` copies a JSON value: the value of every object key matching a configured glob
(case-insensitive, "-" read as "_") becomes "***", long strings are cut to `max_string_length`,
long lists to `max_items`, and every string (keys too) has its control characters written as
`\\uXXXX` text, so no record, export line or terminal ever receives a raw escape sequence.

The copy shares what needs no change: a value with nothing to mask, cut or escape comes back as
the very object it was (`payload(v) is v`), and a container is copied only when something in it
changed. Most calls carry nothing to redact, so the walk allocates nothing for them, and the
Auditor can tell from identity alone that the stored text is the payload's own encoding.

`Redactor.payload_text` gives a payload's redacted copy with its canonical text, and for most
payloads it can tell from that text alone, without the walk, that nothing in it needs a change: the
text is short, has no escape sequence (so no control character, no non-ASCII text, no quote inside
a string), has too few commas for a long list and too few brackets for deep nesting, and contains
none of the secret-key globs' literal parts anywhere (keys are only ever a part of the text).
"""

from __future__ import annotations

import math
import re
from fnmatch import fnmatchcase
from itertools import islice
from typing import Any

from hub.config.model import AuditRedactConfig
from hub.governance.audit.record import canonical_text
from hub.observability.escaping import escape_text

MASK = "***"
MAX_DEPTH = 32
_KEY_CACHE_SIZE = 4096
_GLOB_SYNTAX = re.compile(r"[*?]|\[[^\]]*\]?")  # what in a glob is not a literal character

__all__ = ["MASK", "Redactor", "bounded_text", "escape_text"]


def bounded_text(value: object, limit: int) -> str | None:
    """A short text field (agent, tool, error message) as stored: escaped and cut to `limit` characters."""
    if value is None:
        return None
    if type(value) is str and len(value) <= limit and value.isascii() and value.isprintable():
        return value  # the common case: a short plain name, kept as it is
    text = escape_text(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Redactor:
    def __init__(self, config: AuditRedactConfig) -> None:
        self._patterns = tuple(p.lower().replace("-", "_") for p in config.keys)
        self._max_string = config.max_string_length
        self._max_items = config.max_items
        self._secret_keys: dict[str, bool] = {}
        self._secret_parts = _secret_parts(self._patterns)

    def payload(self, value: Any) -> Any:
        """A redacted copy of a JSON value (dicts, lists, strings, numbers, booleans, None)."""
        return self._walk(value, 0)

    def payload_text(self, value: Any) -> tuple[Any, str]:
        """`payload(value)` and its canonical text, the walk skipped when the text shows nothing to change."""
        try:
            text = canonical_text(value)
        except (ValueError, TypeError, RecursionError):  # NaN, a type JSON lacks, a cycle: the walk copes
            text = None
        if text is not None and self._plain(text):
            return value, text
        redacted = self.payload(value)
        return redacted, canonical_text(redacted)

    def _plain(self, text: str) -> bool:
        """Whether the value encoded as `text` comes back from the walk as itself (its keys being strings).

        Every check is a bound the walk's rules imply: a string is no longer than the text, a list
        of more than `max_items` items has at least that many commas, nesting deeper than
        `MAX_DEPTH` takes more brackets, and a key matching a glob contains the glob's literal part.
        Without a backslash the text is plain printable ASCII, each key written as it is.
        """
        if len(text) > self._max_string or "\\" in text or self._secret_parts is None:
            return False
        if text.count(",") >= self._max_items or text.count("{") + text.count("[") > MAX_DEPTH:
            return False
        folded = text.lower().replace("-", "_")
        return not any(part in folded for part in self._secret_parts)

    def is_secret(self, key: str) -> bool:
        known = self._secret_keys.get(key)
        if known is None:
            normalized = key.lower().replace("-", "_")
            known = any(fnmatchcase(normalized, pattern) for pattern in self._patterns)
            if len(self._secret_keys) < _KEY_CACHE_SIZE:  # keys are agent-supplied: the cache stays bounded
                self._secret_keys[key] = known
        return known

    def _walk(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else str(value)
        if depth >= MAX_DEPTH:
            return "…[nested too deep]"
        if isinstance(value, dict):
            return self._object(value, depth)
        if isinstance(value, list | tuple):
            return self._array(value, depth)
        return self._text(repr(value))

    def _object(self, value: dict[Any, Any], depth: int) -> dict[Any, Any]:
        """`value` itself when no key or value in it changes, else a new dict (keys made text)."""
        copy: dict[str, Any] | None = None
        limit, secret_keys = self._max_string, self._secret_keys
        for i, (k, v) in enumerate(value.items()):
            key = k if type(k) is str else str(k)
            secret = secret_keys.get(key)
            if secret is None:
                secret = self.is_secret(key)
            if secret:
                kept = MASK
            elif type(v) is str and len(v) <= limit and v.isascii() and v.isprintable():
                kept = v  # the common leaf, checked inline: a plain string within bounds
            else:
                kept = self._walk(v, depth + 1)
            text = key if len(key) <= limit and key.isascii() and key.isprintable() else self._text(key)
            if copy is None:
                if text is k and kept is v:
                    continue
                copy = dict(islice(value.items(), i))  # the keys before this one were kept as they were
            copy[text] = kept
        return value if copy is None else copy

    def _array(self, value: list[Any] | tuple[Any, ...], depth: int) -> list[Any] | tuple[Any, ...]:
        """`value` itself when it is short enough and no item in it changes, else a new list."""
        kept = [self._walk(v, depth + 1) for v in value[: self._max_items]]
        if len(value) > self._max_items:
            kept.append(f"…[{len(value) - self._max_items} more items]")
        elif all(new is old for new, old in zip(kept, value, strict=True)):
            return value
        return kept

    def _text(self, text: str) -> str:
        if len(text) > self._max_string:
            text = f"{text[: self._max_string]}…[{len(text) - self._max_string} more chars]"
        return escape_text(text)


def _secret_parts(patterns: tuple[str, ...]) -> tuple[str, ...] | None:
    """The longest literal run of each glob (a key it matches contains it); None if one has none."""
    parts = []
    for pattern in patterns:
        longest = max(_GLOB_SYNTAX.split(pattern), key=len)
        if not longest:
            return None
        parts.append(longest)
    return tuple(parts)
