"""An upstream's `auth:` block as an httpx2 Auth, against a real server that checks what it receives."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import httpx2
import pytest
from pydantic import TypeAdapter

from hub.config.model import UpstreamAuthConfig
from hub.errors import UpstreamUnavailableError
from hub.governance.vault.http_auth import BearerTokenAuth, http_auth
from tests.conftest import TEST_SERVERS

pytestmark = pytest.mark.anyio

GUARDED = TEST_SERVERS / "guarded.py"
AUTH: TypeAdapter[UpstreamAuthConfig] = TypeAdapter(UpstreamAuthConfig)
Start = Callable[..., AbstractAsyncContextManager[str]]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def auth(**data: Any) -> httpx2.Auth:
    made = http_auth(AUTH.validate_python(data), "guarded", 5.0)
    assert made is not None
    return made


async def get(url: str, with_auth: httpx2.Auth | None = None) -> httpx2.Response:
    with anyio.fail_after(10):
        async with httpx2.AsyncClient(auth=with_auth) as http:
            return await http.get(url)


async def stats(base: str) -> dict[str, Any]:
    response = await get(f"{base}/stats")
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize(
    ("mode", "config"),
    [
        ("bearer", {"type": "bearer", "token": "{secret}"}),
        ("basic", {"type": "basic", "username": "svc", "password": "{secret}"}),
        ("header", {"type": "api_key", "name": "X-Api-Key", "value": "{secret}"}),
        ("query", {"type": "api_key", "name": "api_key", "value": "{secret}", "location": "query"}),
    ],
)
async def test_a_static_credential_reaches_the_upstream(
    start_upstream: Start, mode: str, config: dict[str, str]
) -> None:
    secret = f"static-{uuid.uuid4().hex}"
    expected = f"svc:{secret}" if mode == "basic" else secret
    filled = {k: v.replace("{secret}", secret) for k, v in config.items()}
    async with start_upstream(GUARDED, "--mode", mode, "--digest", digest(expected)) as url:
        base = url.removesuffix("/mcp")
        with_credential = await get(f"{base}/whoami?x=1", auth(**filled))
        without = await get(f"{base}/whoami")
        wrong = await get(
            f"{base}/whoami", auth(**{**filled, next(k for k, v in filled.items() if secret in v): "nope"})
        )
    assert with_credential.status_code == 200
    assert without.status_code == 401
    assert wrong.status_code == 401


async def oauth_upstream(start_upstream: Start, secret: str, *args: str) -> AbstractAsyncContextManager[str]:
    return start_upstream(GUARDED, "--mode", "oauth", "--digest", digest(secret), "--client-id", "hub-client", *args)


def oauth(base: str, secret: str, **extra: Any) -> BearerTokenAuth:
    made = auth(type="oauth2", token_url=f"{base}/token", client_id="hub-client", client_secret=secret, **extra)
    assert isinstance(made, BearerTokenAuth)
    return made


async def test_a_client_credentials_token_is_fetched_once_and_reused(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret) as url:
        base = url.removesuffix("/mcp")
        signer = oauth(base, secret, scopes=["tools.read", "tools.call"], audience="https://upstream.example")
        answers = [await get(f"{base}/whoami", signer) for _ in range(3)]
        seen = await stats(base)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert signer.tokens.fetches == seen["token_requests"] == 1
    assert seen["scope"] == "tools.read tools.call"
    assert seen["audience"] == "https://upstream.example"


async def test_client_authentication_in_the_body_works_too(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret) as url:
        base = url.removesuffix("/mcp")
        answer = await get(f"{base}/whoami", oauth(base, secret, client_auth="post"))
    assert answer.status_code == 200


async def test_a_token_about_to_expire_is_fetched_again(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret, "--token-ttl", "60") as url:
        base = url.removesuffix("/mcp")
        signer = oauth(base, secret, refresh_before_s=120)  # every token is already inside the refresh window
        answers = [await get(f"{base}/whoami", signer) for _ in range(3)]
        seen = await stats(base)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert seen["token_requests"] == 3


async def test_a_refused_token_is_replaced_once(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret) as url:
        base = url.removesuffix("/mcp")
        signer = oauth(base, secret)
        first = await get(f"{base}/whoami", signer)
        with anyio.fail_after(10):
            async with httpx2.AsyncClient() as http:
                await http.post(f"{base}/revoke")
        after_revoke = await get(f"{base}/whoami", signer)
        seen = await stats(base)
    assert (first.status_code, after_revoke.status_code) == (200, 200)
    assert seen["token_requests"] == 2
    assert seen["rejected"] == 1  # the revoked token, once; the new one was accepted


async def test_an_upstream_that_refuses_every_token_gets_one_retry_not_a_loop(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret) as url:
        base = url.removesuffix("/mcp")
        other = f"oauth-{uuid.uuid4().hex}"
        async with await oauth_upstream(start_upstream, other) as other_url:
            # tokens from another server's token endpoint: the upstream refuses every one of them
            other_base = other_url.removesuffix("/mcp")
            signer = oauth(other_base, other)
            answer = await get(f"{base}/whoami", signer)
            issued = (await stats(other_base))["token_requests"]
        seen = await stats(base)
    assert answer.status_code == 401
    assert seen["rejected"] == 2
    assert issued == 2


async def test_a_wrong_client_secret_is_reported_without_it(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    wrong = f"wrong-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret) as url:
        base = url.removesuffix("/mcp")
        with pytest.raises(UpstreamUnavailableError) as failed:
            await get(f"{base}/whoami", oauth(base, wrong))
    assert "could not get an access token" in failed.value.message
    assert "401 (invalid_client)" in failed.value.message
    assert wrong not in str(failed.value)
    assert wrong not in repr(failed.value.data)


async def test_an_unreachable_token_endpoint_is_an_unavailable_upstream(start_upstream: Start) -> None:
    secret = f"oauth-{uuid.uuid4().hex}"
    async with await oauth_upstream(start_upstream, secret) as url:
        base = url.removesuffix("/mcp")
        with pytest.raises(UpstreamUnavailableError, match="token endpoint is unreachable"):
            await get(f"{base}/whoami", oauth("http://127.0.0.1:1", secret))
