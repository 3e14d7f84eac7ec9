"""An HTTP upstream's `auth:` block as an httpx2 `Auth`: the credential added to every request the hub sends it.

Any connector that talks HTTP through httpx2 passes `http_auth(config.auth, ...)` as the client's (or
a request's) `auth=`. Static credentials (bearer, basic, API key) are set on each request; an OAuth
client-credentials token is fetched on first use, cached until shortly before it expires, and
fetched again once when the upstream answers 401.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Mapping

import httpx2

from hub.config.model import (
    ApiKeyAuthConfig,
    BasicAuthConfig,
    BearerAuthConfig,
    OAuth2AuthConfig,
    UpstreamAuthConfig,
)
from hub.governance.vault.client_credentials import ClientCredentials


def http_auth(config: UpstreamAuthConfig | None, upstream: str, timeout_s: float) -> httpx2.Auth | None:
    """The `Auth` for an upstream's `auth:` block (None without one); `timeout_s` bounds token requests."""
    if config is None:
        return None
    if isinstance(config, BearerAuthConfig):
        return CredentialAuth(headers={"Authorization": f"Bearer {config.token.get_secret_value()}"})
    if isinstance(config, BasicAuthConfig):
        return httpx2.BasicAuth(config.username, config.password.get_secret_value())
    if isinstance(config, ApiKeyAuthConfig):
        value = {config.name: config.value.get_secret_value()}
        return CredentialAuth(headers=value) if config.location == "header" else CredentialAuth(query=value)
    assert isinstance(config, OAuth2AuthConfig)
    return BearerTokenAuth(ClientCredentials(config, upstream, timeout_s))


class CredentialAuth(httpx2.Auth):
    """Fixed headers and query parameters on every request."""

    def __init__(self, headers: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None) -> None:
        self._headers = dict(headers or {})
        self._query = dict(query or {})

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers.update(self._headers)
        if self._query:
            request.url = request.url.copy_merge_params(self._query)
        yield request


class BearerTokenAuth(httpx2.Auth):
    """A fetched access token as `Authorization: Bearer`; on a 401, one retry with a new token."""

    requires_request_body = True  # the retry sends the body again

    def __init__(self, tokens: ClientCredentials) -> None:
        self.tokens = tokens

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        raise RuntimeError("client-credentials upstream auth needs an async httpx2 client")

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        await request.aread()
        token = await self.tokens.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            token = await self.tokens.renew(token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request
