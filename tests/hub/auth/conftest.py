"""A loopback identity provider for token tests: it serves a JWKS whose keys the test can rotate."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ISSUER = "https://idp.test"
AUDIENCE = "http://127.0.0.1:8000"


@dataclass
class IdentityProvider:
    jwks_url: str
    issuer: str = ISSUER
    audience: str = AUDIENCE
    keys: list[RSAKey] = field(default_factory=list)
    fetches: int = 0

    def rotate(self) -> RSAKey:
        """A new signing key, published beside the old ones."""
        key = RSAKey.generate_key(2048, parameters={"kid": f"k{len(self.keys) + 1}"})
        self.keys.append(key)
        return key

    def token(self, key: RSAKey | None = None, **claims: Any) -> str:
        key = key or self.keys[-1]
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300, **claims}
        return jwt.encode({"alg": "RS256", "kid": key.kid}, body, key)


@pytest.fixture
async def idp() -> AsyncIterator[IdentityProvider]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)  # requests queue in the backlog until uvicorn accepts: no start-up wait
    provider = IdentityProvider(f"http://127.0.0.1:{sock.getsockname()[1]}/jwks")
    provider.rotate()

    async def jwks(request: Request) -> JSONResponse:
        provider.fetches += 1
        return JSONResponse({"keys": [k.as_dict(private=False) for k in provider.keys]})

    server = uvicorn.Server(uvicorn.Config(Starlette(routes=[Route("/jwks", jwks)]), log_config=None, lifespan="off"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        yield provider
        server.should_exit = True
