"""The REST benchmark's service: one JSON endpoint and the OpenAPI 3.1 document that describes it.

    python -m bench.rest_service      # prints `LISTENING http://127.0.0.1:<port>` once it accepts connections

`GET /api/items/{item_id}?verbose=...` with an `X-Trace` header answers a small JSON object. The
direct, connector and via-hub measurements all call this same process.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "bench items", "version": "1"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/items/{item_id}": {
            "get": {
                "operationId": "getItem",
                "summary": "Get one item",
                "parameters": [
                    {"name": "item_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "the item"}},
            }
        }
    },
}


async def item(request: Request) -> JSONResponse:
    return JSONResponse(
        {
            "id": request.path_params["item_id"],
            "verbose": request.query_params.get("verbose") == "true",
            "trace": request.headers.get("x-trace"),
            "tags": ["a", "b", "c"],
            "price": 12.5,
        }
    )


async def document(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)


app = Starlette(routes=[Route("/api/openapi.json", document), Route("/api/items/{item_id}", item)])


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"LISTENING http://{host}:{port}", flush=True)


def main() -> None:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(_AnnouncingServer(config).serve)


if __name__ == "__main__":
    main()
