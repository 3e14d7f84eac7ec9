"""The headers an admin configured for a REST upstream (its `auth:` credential is an httpx2 Auth, given apart)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.config.model import RestUpstreamConfig


@dataclass(frozen=True, slots=True)
class Credentials:
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_config(cls, config: RestUpstreamConfig) -> Credentials:
        return cls(tuple((name, value.get_secret_value()) for name, value in config.headers.items()))

    def names(self) -> set[str]:
        return {name.lower() for name, _ in self.headers}
