"""Headers → Principal: hub API keys, and OAuth bearer tokens (JWTs) when an identity provider is configured."""

from __future__ import annotations

from collections.abc import Mapping

from hub.auth.api_keys import KEY_PREFIX, KeyRing
from hub.auth.directory import AgentDirectory
from hub.auth.jwt_tokens import JwtVerifier
from hub.core.principal import Principal
from hub.errors import AuthenticationError


class Authenticator:
    def __init__(
        self, keys: KeyRing, directory: AgentDirectory, jwt: JwtVerifier | None = None, agent_claim: str = "sub"
    ) -> None:
        self._keys = keys
        self._directory = directory
        self._jwt = jwt
        self._agent_claim = agent_claim

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        token = bearer_token(headers)
        if token is None:
            raise AuthenticationError("missing credential: send 'Authorization: Bearer <agent key or token>'")
        if self._jwt is not None and not token.startswith(KEY_PREFIX):
            return await self._from_jwt(self._jwt, token)
        return self.from_key(token)

    def from_key(self, token: str) -> Principal:
        record = self._keys.match(token)
        principal = self._directory.principal(record.agent, record.key_id) if record else None
        if principal is None:
            raise AuthenticationError("invalid credential: the key is unknown, expired or revoked")
        return principal

    async def _from_jwt(self, verifier: JwtVerifier, token: str) -> Principal:
        claims = await verifier.verify(token)
        agent = claims.get(self._agent_claim)
        principal = self._directory.principal(str(agent), f"jwt:{claims.get('sub')}") if agent else None
        if principal is None:
            raise AuthenticationError(f"the token is valid, but its {self._agent_claim!r} names no agent of this hub")
        return principal


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
