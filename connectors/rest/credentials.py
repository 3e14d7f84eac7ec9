"""The credentials an admin configured for a REST upstream, as the headers and query parameters they become."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from hub.config.model import RestApiKeyAuth, RestBasicAuth, RestBearerAuth, RestUpstreamConfig


@dataclass(frozen=True, slots=True)
class Credentials:
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_config(cls, config: RestUpstreamConfig) -> Credentials:
        headers = [(name, value.get_secret_value()) for name, value in config.headers.items()]
        params: list[tuple[str, str]] = []
        auth = config.auth
        if isinstance(auth, RestBearerAuth):
            headers.append(("Authorization", f"Bearer {auth.token.get_secret_value()}"))
        elif isinstance(auth, RestBasicAuth):
            pair = f"{auth.username}:{auth.password.get_secret_value()}".encode()
            headers.append(("Authorization", f"Basic {base64.b64encode(pair).decode('ascii')}"))
        elif isinstance(auth, RestApiKeyAuth):
            (headers if auth.location == "header" else params).append((auth.name, auth.value.get_secret_value()))
        return cls(tuple(headers), tuple(params))

    def names(self) -> set[str]:
        return {name.lower() for name, _ in self.headers}
