"""The admin API as one ASGI app, mounted at /admin: token check, route, and one JSON error form.

`/admin/openapi.json` needs no token: it describes the routes and holds nothing secret. Every other
path, known or not, answers 404 while no admin token is configured, and 401 without the token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from hub.admin import agents, audit, keys, limits, llm_usage, teams, upstreams, virtual_servers
from hub.admin.context import AdminContext
from hub.admin.http import Handler, Operation
from hub.admin.openapi import openapi_document
from hub.errors import MethodNotAllowedError, NotFoundError
from hub.transports.http_errors import error_response

VERSION = "0.1.0"


class AdminApi:
    def __init__(self, ctx: AdminContext) -> None:
        self._ctx = ctx
        operations = [
            *upstreams.operations(ctx),
            *virtual_servers.operations(ctx),
            *teams.operations(ctx),
            *agents.operations(ctx),
            *keys.operations(ctx),
            *audit.operations(ctx),
            *llm_usage.operations(ctx),
            *limits.operations(ctx),
        ]
        self.document = openapi_document(operations, VERSION)
        routes = [Route("/openapi.json", self._openapi, methods=["GET"])]
        for path, handlers in _by_path(operations).items():
            routes.append(Route(path, self._guarded(handlers), methods=_ALL_METHODS))
        self._router = Router(routes=routes, default=self._unknown)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._router(scope, receive, send)

    async def _openapi(self, request: Request) -> Response:
        return JSONResponse(self.document)

    def _guarded(self, handlers: dict[str, Handler]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                self._ctx.admins.check(request.headers, request.method)
                handler = handlers.get(request.method if request.method != "HEAD" else "GET")
                if handler is None:
                    allowed = ", ".join(sorted(handlers))
                    raise MethodNotAllowedError(f"{request.method} is not served here; use {allowed}", allow=allowed)
                return await handler(request)
            except Exception as exc:  # the edge: every failure answers in the one JSON error form
                return error_response(exc)

        return endpoint

    async def _unknown(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            self._ctx.admins.check(Request(scope).headers, "GET")
            raise NotFoundError(f"no admin route {scope['path']}; see /admin/openapi.json")
        except Exception as exc:  # same edge as above
            await error_response(exc)(scope, receive, send)


_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]


def _by_path(operations: Sequence[Operation]) -> dict[str, dict[str, Handler]]:
    out: dict[str, dict[str, Handler]] = {}
    for op in operations:
        out.setdefault(op.path, {})[op.method] = op.handler
    return out
