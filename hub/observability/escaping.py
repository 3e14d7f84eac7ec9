"""Control characters in text from agents or upstreams, written as `\\uXXXX` wherever the hub shows it (logs, audit)."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, line/paragraph separators, and the bidirectional overrides that can make
# text read differently from what it is (CVE-2021-42574).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_text(text: str) -> str:
    """`text` with every control character as `\\uXXXX` (text without any is returned unchanged)."""
    if text.isascii() and text.isprintable():  # the common case, about twice as fast as the search
        return text
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
