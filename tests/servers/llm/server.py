"""The three fake providers in one Starlette app: /openai/v1/..., /anthropic/v1/..., /ollama/api/...

    python -m tests.servers.llm.server --port 0 [--latency-s S] [--token-delay-s S]   # prints `LISTENING <url>`

Tests run `fake_providers(state)` in their own event loop to inject faults and read what arrived.
"""

from __future__ import annotations

import argparse
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount

from tests.servers.llm import anthropic_fake, ollama_fake, openai_fake
from tests.servers.llm.faults import FakeState


def fake_providers(state: FakeState) -> Starlette:
    return Starlette(
        routes=[
            Mount("/openai", routes=openai_fake.routes(state)),
            Mount("/anthropic", routes=anthropic_fake.routes(state)),
            Mount("/ollama", routes=ollama_fake.routes(state)),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-s", type=float, default=0.0)
    parser.add_argument("--token-delay-s", type=float, default=0.0)
    parser.add_argument("--stream-tokens", type=int, default=None)
    args = parser.parse_args()
    state = FakeState(latency_s=args.latency_s, token_delay_s=args.token_delay_s, stream_tokens=args.stream_tokens)
    sock = socket.socket()
    sock.bind(("127.0.0.1", args.port))
    print(f"LISTENING http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(fake_providers(state), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
