"""A small REST service for the REST connector's tests, serving its own OpenAPI 3.1 document.

    python tests/servers/rest_service.py --port 0     # prints `LISTENING http://127.0.0.1:<port>`

Everything lives under /api (the document is /api/openapi.json and names `/api` as its server);
`/secret` outside it exists only so that tests can prove no argument ever reaches it.
Most endpoints echo the request they received (raw path, query, selected headers, body), so a
test observes exactly what the connector sent.
"""

from __future__ import annotations

import argparse
import json
import socket
from typing import Any

import anyio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
_flaky_calls: dict[str, int] = {}

STRING = {"type": "string"}
ECHO = {"200": {"description": "what the service received", "content": {"application/json": {"schema": {}}}}}


def _param(name: str, where: str, schema: dict[str, Any], required: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "required": required or where == "path", **extra}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "test service", "version": "1.0"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/items/{item_id}": {
            "parameters": [_param("item_id", "path", STRING, description="the item's id")],
            "get": {
                "operationId": "getItem",
                "summary": "Get one item",
                "description": "Returns the item and echoes the request.",
                "tags": ["items"],
                "parameters": [
                    _param("verbose", "query", {"type": "boolean", "default": False}),
                    _param("X-Trace", "header", STRING),
                    _param("Authorization", "header", STRING),  # ignored, as OpenAPI says
                ],
                "responses": ECHO,
            },
            "delete": {"operationId": "deleteItem", "tags": ["items", "admin"], "responses": ECHO},
        },
        "/items": {
            "post": {
                "operationId": "createItem",
                "summary": "Create an item",
                "tags": ["items"],
                "requestBody": {"$ref": "#/components/requestBodies/NewItem"},
                "responses": ECHO,
            },
        },
        "/search": {
            "get": {
                "operationId": "search",
                "summary": "Search items",
                "tags": ["items"],
                "parameters": [
                    {"$ref": "#/components/parameters/Query"},
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}),
                    _param("sort", "query", {"enum": ["asc", "desc"]}),
                    _param("tag", "query", {"type": "array", "items": STRING}),
                ],
                "responses": ECHO,
            },
        },
        "/trees": {
            "post": {
                "summary": "Store a tree",
                "tags": ["trees"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}},
                },
                "responses": ECHO,
            },
        },
        "/status/{code}": {
            "get": {
                "operationId": "status",
                "tags": ["errors"],
                "parameters": [_param("code", "path", {"type": "integer"})],
                "responses": ECHO,
            },
        },
        "/binary": {"get": {"operationId": "binary", "tags": ["media"], "responses": ECHO}},
        "/image": {"get": {"operationId": "image", "tags": ["media"], "responses": ECHO}},
        "/large": {
            "get": {
                "operationId": "large",
                "tags": ["media"],
                "parameters": [_param("size", "query", {"type": "integer"}, required=True)],
                "responses": ECHO,
            },
        },
        "/slow": {
            "get": {
                "operationId": "slow",
                "parameters": [_param("seconds", "query", {"type": "number"}, required=True)],
                "responses": ECHO,
            },
        },
        "/flaky": {
            "get": {
                "operationId": "flaky",
                "parameters": [
                    _param("key", "query", STRING, required=True),
                    _param("failures", "query", {"type": "integer"}, required=True),
                ],
                "responses": ECHO,
            },
            "post": {
                "operationId": "flakyPost",
                "parameters": [
                    _param("key", "query", STRING, required=True),
                    _param("failures", "query", {"type": "integer"}, required=True),
                ],
                "responses": ECHO,
            },
        },
        "/redirect": {
            "get": {
                "operationId": "redirect",
                "parameters": [_param("to", "query", STRING, required=True)],
                "responses": ECHO,
            },
        },
    },
    "components": {
        "parameters": {"Query": _param("q", "query", STRING, required=True, description="search text")},
        "requestBodies": {
            "NewItem": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewItem"}}},
            },
        },
        "schemas": {
            "NewItem": {
                "type": "object",
                "required": ["name", "kind"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "kind": {"$ref": "#/components/schemas/Kind"},
                    "price": {"type": "number", "minimum": 0},
                    "tags": {"type": "array", "items": STRING},
                },
            },
            "Kind": {"type": "string", "enum": ["tool", "part"], "default": "tool"},
            "Node": {
                "type": "object",
                "required": ["label"],
                "properties": {
                    "label": STRING,
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                },
            },
        },
    },
}


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    received = {
        "method": request.method,
        "raw_path": request.scope["raw_path"].decode("latin-1"),
        "query": request.scope["query_string"].decode("latin-1"),
        "path_params": request.path_params,
        "headers": {k: v for k, v in request.headers.items() if k.startswith("x-") or k in ("authorization",)},
        "content_type": request.headers.get("content-type"),
        "body": json.loads(body) if body and request.headers.get("content-type") == "application/json" else None,
        "host": request.headers.get("host"),
        "client_port": request.client.port if request.client else None,
    }
    return JSONResponse({"received": received}, status_code=201 if request.method == "POST" else 200)


async def search(request: Request) -> JSONResponse:
    q = request.query_params.get("q", "")
    return JSONResponse([{"id": n, "title": f"{q} {n}"} for n in range(int(request.query_params.get("limit", 3)))])


async def status(request: Request) -> Response:
    code = int(request.path_params["code"])
    if code == 418:
        return PlainTextResponse("short and stout " * 400, status_code=code)
    return JSONResponse({"error": f"status {code}", "detail": "requested"}, status_code=code)


async def binary(request: Request) -> Response:
    return Response(bytes(range(256)) * 4, media_type="application/octet-stream")


async def image(request: Request) -> Response:
    return Response(PNG, media_type="image/png")


async def large(request: Request) -> Response:
    return PlainTextResponse("x" * int(request.query_params["size"]))


async def slow(request: Request) -> JSONResponse:
    await anyio.sleep(float(request.query_params["seconds"]))
    return JSONResponse({"slept": True})


async def flaky(request: Request) -> JSONResponse:
    key = request.query_params["key"]
    _flaky_calls[key] = _flaky_calls.get(key, 0) + 1
    if _flaky_calls[key] <= int(request.query_params["failures"]):
        return JSONResponse({"error": "try again"}, status_code=503)
    return JSONResponse({"calls": _flaky_calls[key]})


async def redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=302)


async def secret(request: Request) -> PlainTextResponse:
    return PlainTextResponse("SECRET outside the base path")


async def document(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)


API = [
    Route("/openapi.json", document),
    Route("/items/{item_id}", echo, methods=["GET", "DELETE"]),
    Route("/items", echo, methods=["POST"]),
    Route("/search", search),
    Route("/trees", echo, methods=["POST"]),
    Route("/status/{code:int}", status),
    Route("/binary", binary),
    Route("/image", image),
    Route("/large", large),
    Route("/slow", slow),
    Route("/flaky", flaky, methods=["GET", "POST"]),
    Route("/redirect", redirect),
    Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
]
app = Starlette(routes=[Mount("/api", routes=API), Route("/secret", secret), Route("/{rest:path}", secret)])


class _AnnouncingServer(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"LISTENING http://{host}:{port}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="REST test service")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    config = uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=1)
    anyio.run(_AnnouncingServer(config).serve)


if __name__ == "__main__":
    main()
