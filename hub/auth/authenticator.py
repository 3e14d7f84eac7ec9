"""Headers → Principal: hub API keys, and OAuth bearer tokens (JWTs) when an identity provider is configured."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.auth.api_keys import KEY_PREFIX, KeyRing
from hub.auth.directory import AgentDirectory
from hub.auth.jwt_tokens import JwtVerifier
from hub.core.principal import Principal
from hub.errors import AuthenticationError


class Authenticator:
    def __init__(
        self,
        keys: KeyRing,
        directory: AgentDirectory,
        jwt: JwtVerifier | None = None,
        agent_claim: str = "sub",
        team_claim: str | None = None,
    ) -> None:
        self._keys = keys
        self._directory = directory
        self._jwt = jwt
        self._agent_claim = agent_claim
        self._team_claim = team_claim

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
        """A known agent named by the agent claim, or else a caller in a known team named by the team claim."""
        claims = await verifier.verify(token)
        agent = _claim(claims, self._agent_claim)
        teams = _names(_claim(claims, self._team_claim)) if self._team_claim else []
        key_id = f"jwt:{claims.get('sub')}"
        principal = self._directory.token_principal(str(agent), teams, key_id) if agent else None
        if principal is None:
            wanted = f"its {self._agent_claim!r} names no agent of this hub"
            if self._team_claim:
                wanted += f" and its {self._team_claim!r} names no team of this hub"
            raise AuthenticationError(f"the token is valid, but {wanted}")
        return principal


def bearer_token(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _claim(claims: Mapping[str, Any], path: str | None) -> Any:
    """The claim at a dotted path ("realm_access.roles"), or None."""
    value: Any = claims
    for part in (path or "").split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _names(value: Any) -> list[str]:
    """Team names from a claim: a list of strings, or one name as a string."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
