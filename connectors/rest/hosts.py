"""Which hosts one REST upstream may reach: its base URL's, or those of an admin's allow-list."""

from __future__ import annotations

from fnmatch import fnmatchcase

import httpx2


class HostPolicy:
    """With an allow-list, a host must match one of its globs; without, only `home` is allowed."""

    def __init__(self, allowed: tuple[str, ...], home: str | None = None) -> None:
        self._allowed = tuple(h.lower() for h in allowed)
        self._home = home.lower() if home else None

    @property
    def restricted(self) -> bool:
        return bool(self._allowed)

    def with_home(self, home: str) -> HostPolicy:
        return HostPolicy(self._allowed, home)

    def allows(self, url: httpx2.URL) -> bool:
        host = url.host.lower()
        if self._allowed:
            return any(fnmatchcase(host, pattern) for pattern in self._allowed)
        return host == self._home
