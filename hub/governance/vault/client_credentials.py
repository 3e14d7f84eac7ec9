"""OAuth 2.0 client credentials (RFC 6749 section 4.4): access tokens for an upstream, cached until near expiry.

authlib builds the token request (grant parameters, client authentication) and tracks expiry; the
request itself goes out on httpx2, the HTTP client the rest of the hub uses. Errors name the
upstream and the token endpoint's OAuth error code, never a credential.
"""

from __future__ import annotations

import re
from typing import Any

import anyio
import httpx2
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request
from authlib.oauth2.rfc6749.wrappers import OAuth2Token

from hub.config.model import OAuth2AuthConfig
from hub.errors import UpstreamUnavailableError

_CLIENT_AUTH = {"basic": "client_secret_basic", "post": "client_secret_post"}
_ERROR_CODE = re.compile(r"^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$")  # RFC 6749 5.2: error is NQSCHAR


class ClientCredentials:
    def __init__(self, config: OAuth2AuthConfig, upstream: str, timeout_s: float) -> None:
        self._config = config
        self._upstream = upstream
        self._timeout_s = timeout_s
        self._token: OAuth2Token | None = None
        self._lock = anyio.Lock()
        self.fetches = 0  # token requests made, for health and tests

    async def access_token(self) -> str:
        """A token that is not about to expire: the cached one, or a new one."""
        async with self._lock:
            if self._token is None or self._token.is_expired(leeway=self._config.refresh_before_s):
                self._token = await self._fetch()
            return str(self._token["access_token"])

    async def renew(self, rejected: str) -> str:
        """The upstream refused `rejected`: forget it (unless another caller already has) and get a new one."""
        async with self._lock:
            if self._token is not None and self._token["access_token"] == rejected:
                self._token = None
        return await self.access_token()

    async def _fetch(self) -> OAuth2Token:
        config = self._config
        body = prepare_token_request(
            "client_credentials", scope=" ".join(config.scopes) or None, audience=config.audience
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        client = ClientAuth(config.client_id, config.client_secret.get_secret_value(), _CLIENT_AUTH[config.client_auth])
        url, headers, body = client.prepare("POST", config.token_url, headers, body)
        self.fetches += 1
        try:
            async with httpx2.AsyncClient(timeout=self._timeout_s, follow_redirects=False) as http:
                response = await http.post(url, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise self._failed(f"the token endpoint is unreachable ({type(exc).__name__})") from exc
        return self._token_of(response)

    def _token_of(self, response: httpx2.Response) -> OAuth2Token:
        try:
            data: Any = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise self._failed(f"the token endpoint answered {response.status_code} without a JSON object")
        if response.status_code != 200 or "error" in data:
            code = data.get("error")
            shown = code if isinstance(code, str) and _ERROR_CODE.match(code) else "no error code"
            raise self._failed(f"the token endpoint answered {response.status_code} ({shown})")
        token, kind = data.get("access_token"), str(data.get("token_type", "")).lower()
        if not isinstance(token, str) or not token or kind != "bearer":
            raise self._failed("the token endpoint's answer holds no bearer access_token")
        return OAuth2Token(data)

    def _failed(self, why: str) -> UpstreamUnavailableError:
        return UpstreamUnavailableError(
            f"upstream {self._upstream!r} could not get an access token: {why}", upstream=self._upstream
        )
