"""The DNS-rebinding rule at the HTTP edge: a request must name an allowed Host, and an allowed Origin if any.

Checked before authentication, so a page on a foreign origin learns nothing, not even the auth challenge.
Patterns ending in `:*` allow any port (`127.0.0.1:*`, `http://localhost:*`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from hub.errors import ForbiddenError


class RebindingGuard:
    def __init__(self, hosts: Sequence[str], origins: Sequence[str]) -> None:
        self._hosts = tuple(hosts)
        self._origins = tuple(origins)

    def check(self, headers: Mapping[str, str]) -> None:
        """Raise ForbiddenError unless Host is allowed and Origin is absent or allowed."""
        if not _matches(headers.get("host", ""), self._hosts):
            raise ForbiddenError("the Host header names a host this hub does not serve")
        origin = headers.get("origin")
        if origin and not _matches(origin, self._origins):
            raise ForbiddenError("requests from this Origin are not allowed")


def _matches(value: str, patterns: Sequence[str]) -> bool:
    return bool(value) and any(
        value == pattern or (pattern.endswith(":*") and value.startswith(pattern[:-1])) for pattern in patterns
    )
