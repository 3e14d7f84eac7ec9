"""What an audit record keeps of agent- and upstream-supplied data: secrets masked, text bounded and escaped.

`Redactor.payload` copies a JSON value: the value of every object key matching a configured glob
(case-insensitive, "-" read as "_") becomes "***", long strings are cut to `max_string_length`,
long lists to `max_items`, and every string (keys too) has its control characters written as
`\\uXXXX` text, so no record, export line or terminal ever receives a raw escape sequence.

The copy shares what needs no change: a value with nothing to mask, cut or escape comes back as
the very object it was (`payload(v) is v`), and a container is copied only when something in it
changed. Most calls carry nothing to redact, so the walk allocates nothing for them, and the
Auditor can tell from identity alone that the stored text is the payload's own encoding.
"""

from __future__ import annotations

import math
from fnmatch import fnmatchcase
from itertools import islice
from typing import Any

from hub.config.model import AuditRedactConfig
from hub.observability.escaping import escape_text

MASK = "***"
MAX_DEPTH = 32
_KEY_CACHE_SIZE = 4096

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

    def payload(self, value: Any) -> Any:
        """A redacted copy of a JSON value (dicts, lists, strings, numbers, booleans, None)."""
        return self._walk(value, 0)

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
