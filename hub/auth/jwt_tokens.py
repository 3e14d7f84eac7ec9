"""OAuth 2.1 bearer tokens (JWTs from an external identity provider), checked against its JWKS.

Signature, issuer, audience (the hub's own resource URL), expiry and scopes are all checked. The
key set is cached; a token signed with a key id the cache does not know triggers one refetch (at
most every `min_refresh_s`), so keys the provider rotates in are picked up without a restart.
JOSE work is done by joserfc, the authlib project's JOSE library (authlib.jose is deprecated in its
favour).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio
import httpx2
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from hub.config.model import OAuthConfig
from hub.errors import AuthenticationError, InsufficientScopeError, UpstreamUnavailableError

log = logging.getLogger(__name__)


class JwtVerifier:
    def __init__(self, config: OAuthConfig, audience: str, min_refresh_s: float = 10.0) -> None:
        self._config = config
        self._claims = jwt.JWTClaimsRegistry(
            leeway=int(config.leeway_s),
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
        )
        self._keys: KeySet | None = None
        self._fetched_at = -float("inf")
        self._min_refresh_s = min_refresh_s
        self._lock = anyio.Lock()
        self._http = httpx2.AsyncClient(timeout=5.0)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def verify(self, token: str) -> Mapping[str, Any]:
        """The token's claims, or AuthenticationError / InsufficientScopeError saying what is wrong."""
        try:
            decoded = await self._decode(token)
            self._claims.validate(decoded.claims)
        except JoseError as exc:
            raise AuthenticationError(f"invalid token: {exc.description or exc.error}") from exc
        except ValueError as exc:  # not a JWT at all
            raise AuthenticationError("invalid token: not a signed JWT") from exc
        missing = set(self._config.required_scopes) - _scopes(decoded.claims)
        if missing:
            raise InsufficientScopeError(
                f"the token lacks the scope(s) {' '.join(sorted(missing))}",
                scope=" ".join(self._config.required_scopes),
            )
        return decoded.claims

    async def _decode(self, token: str) -> jwt.Token:
        keys = await self._key_set(refresh=False)
        try:
            return jwt.decode(token, keys, algorithms=list(self._config.algorithms))
        except InvalidKeyIdError:
            keys = await self._key_set(refresh=True)  # maybe the provider rotated its keys
            return jwt.decode(token, keys, algorithms=list(self._config.algorithms))

    async def _key_set(self, refresh: bool) -> KeySet:
        async with self._lock:
            now = anyio.current_time()
            stale = now - self._fetched_at > self._config.jwks_cache_s
            may_refresh = now - self._fetched_at > self._min_refresh_s
            if self._keys is None or stale or (refresh and may_refresh):
                self._keys = await self._fetch()
                self._fetched_at = now
            return self._keys

    async def _fetch(self) -> KeySet:
        try:
            response = await self._http.get(self._config.jwks_url)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (httpx2.HTTPError, ValueError, JoseError) as exc:
            log.warning("auth.jwks_unavailable", extra={"url": self._config.jwks_url, "error": str(exc)[:200]})
            if self._keys is not None:
                return self._keys  # keep serving with the keys we had
            raise UpstreamUnavailableError("the identity provider's key set cannot be fetched; try again") from exc


def _scopes(claims: Mapping[str, Any]) -> set[str]:
    scope = claims.get("scope", claims.get("scp", ""))
    if isinstance(scope, str):
        return set(scope.split())
    if isinstance(scope, list):
        return {str(s) for s in scope}
    return set()
