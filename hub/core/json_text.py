"""JSON text from encoders made once.

`json.dumps` with any option, and `JSONEncoder.encode` every time, build a new C encoder before
writing: about half of what encoding a small message costs. An encoder made here writes the same
compact text as `json.dumps(value, separators=(",", ":"), ...)` with the same options.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any


def encoder(
    *,
    ensure_ascii: bool = True,
    allow_nan: bool = True,
    sort_keys: bool = False,
    default: Callable[[Any], Any] | None = None,
) -> Callable[[Any], str]:
    """A function that writes a JSON value as compact text with these options.

    Without the circular-reference check: it is meant for JSON values (parsed, or copies of parsed
    ones), which cannot hold a cycle; one that did would raise RecursionError. Pythons without the
    C accelerator get `JSONEncoder.encode`, which writes the same text.
    """
    options = json.JSONEncoder(
        ensure_ascii=ensure_ascii, allow_nan=allow_nan, sort_keys=sort_keys, separators=(",", ":"), default=default
    )
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return options.encode
    strings = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    chunks = make(
        None,  # no markers: no circular check
        options.default,
        strings,
        options.indent,
        options.key_separator,
        options.item_separator,
        options.sort_keys,
        options.skipkeys,
        options.allow_nan,
    )
    return lambda value: "".join(chunks(value, 0))
