"""A loopback reverse proxy that adds one agent's Authorization header to every request.

The conformance suite's client cannot send custom headers. Rather than open a hole in the hub
for it, the test puts this proxy in front: the hub's authentication stays exactly as strict as
for everyone else, and the suite reaches the hub as an ordinary agent. Responses (JSON and SSE
streams alike) are relayed byte for byte as they arrive.

    python auth_proxy.py --target http://127.0.0.1:8000 --key KEY --port 0
"""

from __future__ import annotations

import argparse
import socket

import httpx2
import uvicorn
from starlette.types import Message, Receive, Scope, Send

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def proxy_app(target: str, key: str) -> object:
    client = httpx2.AsyncClient(base_url=target, timeout=httpx2.Timeout(30.0, read=None))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message: Message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.decode().lower() not in _HOP_BY_HOP]
        headers.append(("authorization", f"Bearer {key}"))
        url = scope["path"] + (("?" + scope["query_string"].decode()) if scope["query_string"] else "")
        request = client.build_request(scope["method"], url, headers=headers, content=body)
        response = await client.send(request, stream=True)
        try:
            out = [(k.encode(), v.encode()) for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    sock = socket.socket()
    sock.bind(("127.0.0.1", args.port))
    sock.listen(128)
    print(f"LISTENING http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(proxy_app(args.target, args.key), log_level="warning", timeout_graceful_shutdown=2)  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
