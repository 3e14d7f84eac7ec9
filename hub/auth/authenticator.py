"""Headers → Principal, for hub API keys. Every failure reads the same to the caller."""

from __future__ import annotations

from collections.abc import Mapping

from hub.auth.api_keys import KeyRing
from hub.auth.directory import AgentDirectory
from hub.core.principal import Principal
from hub.errors import AuthenticationError


class ApiKeyAuthenticator:
    def __init__(self, keys: KeyRing, directory: AgentDirectory) -> None:
        self._keys = keys
        self._directory = directory

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        token = bearer_token(headers)
        record = self._keys.match(token) if token else None
        principal = self._directory.principal(record.agent, record.key_id) if record else None
        if principal is None:
            raise AuthenticationError(
                "missing or invalid credential: send 'Authorization: Bearer <agent key>'"
                if token is None
                else "invalid credential: the key is unknown, expired or revoked"
            )
        return principal


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
