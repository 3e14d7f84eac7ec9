"""A test upstream that serves only callers presenting the right credential, and says whether they did.

    python tests/servers/guarded.py --mode bearer --digest HEX --port 0      # Streamable HTTP at /mcp
    python tests/servers/guarded.py --mode oauth --digest HEX --client-id ID --transport sse --port 0
    python tests/servers/guarded.py --mode env --digest HEX                  # stdio

The expected credential is never given to this server: `--digest` is its SHA-256 (hex), so a test
can prove the hub sent the right value without the value itself appearing anywhere else.

Modes (what must arrive, and how):

* `bearer` - `Authorization: Bearer <secret>`; `basic` - HTTP Basic with `<user>:<password>` as the secret;
* `header` - the `X-Api-Key` header; `query` - the `api_key` query parameter;
* `oauth` - `Authorization: Bearer <token>` with a token this server issued at `POST /token`
  (RFC 6749 section 4.4: grant_type=client_credentials, client authentication by HTTP Basic or
  in the body, `--digest` being the client secret's); tokens live `--token-ttl` seconds;
* `env` (stdio) - the environment variable `UPSTREAM_TOKEN`.

HTTP requests without the credential get 401. `GET /whoami` answers 200 to an authorized request;
`GET /stats` and `POST /revoke` (open to anyone) do what the tools `stats` and `revoke_tokens` do.
Tools: `whoami()` ("authorized"), `stats()` (JSON counters: token requests, rejected requests, the
last scope and audience asked for), `revoke_tokens()` (forget issued tokens: the next request with
one gets 401), `fail()` (a tool error), `crash()` (exit at once).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import socket
import sys
from typing import Any
from urllib.parse import parse_qs

import anyio
import uvicorn
from mcp.server import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

mcp: MCPServer[Any] = MCPServer("guarded", version="1.0.0")


class Guard:
    def __init__(self, mode: str, digest: str, client_id: str, token_ttl: int) -> None:
        self.mode, self.digest, self.client_id, self.token_ttl = mode, digest, client_id, token_ttl
        self.tokens: set[str] = set()
        self.stats: dict[str, Any] = {"token_requests": 0, "rejected": 0, "scope": None, "audience": None}

    def matches(self, value: str | None) -> bool:
        return value is not None and secrets.compare_digest(hashlib.sha256(value.encode()).hexdigest(), self.digest)

    def authorized(self, scope: Scope) -> bool:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        authorization = headers.get("authorization", "")
        if self.mode == "bearer":
            return authorization.startswith("Bearer ") and self.matches(authorization[7:])
        if self.mode == "basic":
            return authorization.startswith("Basic ") and self.matches(_unbase64(authorization[6:]))
        if self.mode == "header":
            return self.matches(headers.get("x-api-key"))
        if self.mode == "query":
            return self.matches(parse_qs(scope["query_string"].decode()).get("api_key", [None])[0])
        if self.mode == "oauth":
            return authorization.startswith("Bearer ") and authorization[7:] in self.tokens
        return False

    def issue(self, headers: dict[str, str], form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The token endpoint: client credentials in, a bearer token out."""
        self.stats["token_requests"] += 1
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        authorization = headers.get("authorization", "")
        if authorization.startswith("Basic "):
            client_id, _, client_secret = _unbase64(authorization[6:]).partition(":")
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if client_id != self.client_id or not self.matches(client_secret):
            return 401, {"error": "invalid_client"}
        self.stats["scope"], self.stats["audience"] = form.get("scope"), form.get("audience")
        token = "at_" + secrets.token_urlsafe(16)
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}


GUARD = Guard("bearer", "", "", 3600)


def _unbase64(text: str) -> str:
    try:
        return base64.b64decode(text).decode()
    except ValueError:
        return ""


@mcp.tool()
def whoami() -> str:
    """ "authorized" if this call arrived with the credential."""
    if GUARD.mode == "env" and not GUARD.matches(os.environ.get("UPSTREAM_TOKEN")):
        raise ValueError("UPSTREAM_TOKEN is missing or wrong")
    return "authorized"


@mcp.tool()
def stats() -> str:
    """The server's counters as JSON."""
    return json.dumps(GUARD.stats)


@mcp.tool()
def revoke_tokens() -> str:
    """Forget every issued token."""
    GUARD.tokens.clear()
    return "revoked"


@mcp.tool()
def fail() -> str:
    """Always fails, as a tool error."""
    raise ValueError("this tool always fails")


@mcp.tool()
def crash() -> str:
    """Ends this process at once, without answering."""
    os._exit(3)


def guarded(app: ASGIApp) -> ASGIApp:
    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if scope["path"] == "/token" and scope["method"] == "POST":
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            status, answer = GUARD.issue(headers, form)
            await _json(send, status, answer)
        elif scope["path"] == "/stats":
            await _json(send, 200, GUARD.stats)
        elif scope["path"] == "/revoke":
            GUARD.tokens.clear()
            await _json(send, 200, {"revoked": True})
        elif not GUARD.authorized(scope):
            GUARD.stats["rejected"] += 1
            await _json(send, 401, {"error": "unauthorized"}, {"www-authenticate": "Bearer"})
        elif scope["path"] == "/whoami":
            await _json(send, 200, {"authorized": True})
        else:
            await app(scope, receive, send)

    return guard


async def _json(send: Send, status: int, body: dict[str, Any], extra: dict[str, str] | None = None) -> None:
    headers = [(b"content-type", b"application/json")]
    headers += [(k.encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def main() -> None:
    global GUARD
    parser = argparse.ArgumentParser(description="a test upstream that checks the credential it is sent")
    parser.add_argument("--mode", choices=["bearer", "basic", "header", "query", "oauth", "env"], required=True)
    parser.add_argument("--digest", required=True, help="SHA-256 (hex) of the expected secret")
    parser.add_argument("--client-id", default="hub")
    parser.add_argument("--token-ttl", type=int, default=3600)
    parser.add_argument("--transport", choices=["streamable-http", "sse"], default="streamable-http")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--print-token", action="store_true", help="(env mode) print UPSTREAM_TOKEN to stderr")
    args = parser.parse_args()
    GUARD = Guard(args.mode, args.digest, args.client_id, args.token_ttl)
    if args.mode == "env":
        if args.print_token:  # as a careless upstream might: the hub must keep it out of its log
            print(f"starting with token {os.environ.get('UPSTREAM_TOKEN')}", file=sys.stderr, flush=True)
        mcp.run("stdio")
        return
    if args.transport == "sse":
        app, path = mcp.sse_app(host="127.0.0.1"), "/sse"
    else:
        app, path = mcp.streamable_http_app(host="127.0.0.1"), "/mcp"
    config = uvicorn.Config(guarded(app), host="127.0.0.1", port=args.port, log_level="warning")
    anyio.run(_AnnouncingServer(config, path).serve)


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, path: str) -> None:
        super().__init__(config)
        self._path = path

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"LISTENING http://{host}:{port}{self._path}", flush=True)


if __name__ == "__main__":
    main()
