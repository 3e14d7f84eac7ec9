"""OAuth bearer tokens checked against a real (loopback) identity provider's JWKS."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from hub.auth.jwt_tokens import JwtVerifier
from hub.config.model import OAuthConfig
from hub.errors import AuthenticationError, InsufficientScopeError

pytestmark = pytest.mark.anyio


@pytest.fixture
async def verifier(idp: Any) -> AsyncIterator[JwtVerifier]:
    config = OAuthConfig(issuer=idp.issuer, jwks_url=idp.jwks_url, required_scopes=("mcp",), leeway_s=0)
    verifier = JwtVerifier(config, idp.audience, min_refresh_s=0)
    yield verifier
    await verifier.aclose()


async def test_a_valid_token_gives_its_claims(idp: Any, verifier: JwtVerifier) -> None:
    claims = await verifier.verify(idp.token(scope="mcp other"))
    assert claims["sub"] == "alice"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": int(time.time()) - 60}, "exp"),
        ({"aud": "https://someone-else.test"}, "aud"),
        ({"iss": "https://evil.test"}, "iss"),
    ],
)
async def test_expired_foreign_audience_and_foreign_issuer_are_refused(
    idp: Any, verifier: JwtVerifier, claims: dict[str, object], reason: str
) -> None:
    with pytest.raises(AuthenticationError) as refused:
        await verifier.verify(idp.token(scope="mcp", **claims))
    assert reason in refused.value.message


async def test_a_tampered_token_is_refused(idp: Any, verifier: JwtVerifier) -> None:
    header, body, signature = idp.token(scope="mcp").split(".")
    forged = idp.token(scope="mcp", sub="mallory").split(".")[1]
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{header}.{forged[:-2]}AA.{signature}")
    with pytest.raises(AuthenticationError):
        await verifier.verify(f"{header}.{body}.{signature[:-4]}AAAA")


async def test_a_token_signed_by_an_unknown_key_is_refused(idp: Any, verifier: JwtVerifier) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})  # same kid, other key
    with pytest.raises(AuthenticationError):
        await verifier.verify(idp.token(stranger, scope="mcp"))


async def test_rotated_keys_are_picked_up(idp: Any, verifier: JwtVerifier) -> None:
    await verifier.verify(idp.token(scope="mcp"))
    fetched = idp.fetches
    new_key = idp.rotate()
    claims = await verifier.verify(idp.token(new_key, scope="mcp"))
    assert claims["sub"] == "alice"
    assert idp.fetches == fetched + 1


async def test_a_token_without_the_required_scope_is_forbidden(idp: Any, verifier: JwtVerifier) -> None:
    with pytest.raises(InsufficientScopeError) as refused:
        await verifier.verify(idp.token(scope="other"))
    assert refused.value.data["scope"] == "mcp"
