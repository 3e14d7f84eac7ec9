"""Agent-facing LLM API, mounted at /v1: OpenAI-compatible chat completions, embeddings and models,
and Anthropic-compatible messages.

Agents authenticate with their hub identity (`Authorization: Bearer <key>`, or `x-api-key` as the
Anthropic SDK sends it); provider keys never leave the hub. A stream is passed on event by event as
the provider sends it; when the client disconnects, the upstream request is cancelled and the usage
made so far is still recorded.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from hub.core.llm import Api
from hub.core.principal import Principal
from hub.errors import MethodNotAllowedError, NotFoundError
from hub.llm.gateway import LlmGateway, LlmRequest
from hub.transports.llm_wire import llm_error_response, parse_body, request_tags, stream_error_event

log = logging.getLogger(__name__)

Authenticate = Callable[[Mapping[str, str]], Awaitable[Principal]]

_APIS: dict[str, Api] = {"/chat/completions": "chat", "/embeddings": "embeddings", "/messages": "messages"}
_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class LlmEndpoints:
    def __init__(self, gateway: LlmGateway, authenticate: Authenticate) -> None:
        self._gateway = gateway
        self._authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        path = path if path.startswith("/") else "/" + path
        api = _APIS.get(path, "chat")
        request = Request(scope, receive)
        try:
            principal = await self._authenticate(_credentials(request))
            if path == "/models":
                if request.method != "GET":
                    raise MethodNotAllowedError("use GET on /v1/models", allow="GET")
                await self._models(principal)(scope, receive, send)
                return
            if path not in _APIS:
                raise NotFoundError(f"no LLM route /v1{path}; use /v1/chat/completions, /v1/messages, /v1/embeddings")
            if request.method != "POST":
                raise MethodNotAllowedError(f"use POST on /v1{path}", allow="POST")
            body = parse_body(await request.body(), api)
            call = LlmRequest(principal, api, body, request_tags(request.headers, body), _sensitive(request.headers))
            if body.get("stream") and api != "embeddings":
                chunks = await self._gateway.stream(call)
                await _send_stream(chunks, api, receive, send)
                return
            response: Response = JSONResponse(await self._gateway.complete(call))
        except Exception as exc:  # the edge: every failure answers in the API's own error form
            response = llm_error_response(exc, api)
        await response(scope, receive, send)

    def _models(self, principal: Principal) -> Response:
        """The models this caller was granted; the others are not shown (nor answered: see hub/llm/routing.py)."""
        names = self._gateway.router.names(principal.allows_model)
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "hub"} for name in names]
        return JSONResponse({"object": "list", "data": data})


def _sensitive(headers: Mapping[str, str]) -> bool:
    """`X-Hub-Sensitive: true` keeps the request and its answer out of the response cache."""
    return headers.get("x-hub-sensitive", "").strip().lower() in ("1", "true", "yes")


def _credentials(request: Request) -> Mapping[str, str]:
    """The headers the authenticator reads; an Anthropic-style `x-api-key` counts as a bearer token."""
    authorization = request.headers.get("authorization")
    if authorization is None and "x-api-key" in request.headers:
        authorization = f"Bearer {request.headers['x-api-key']}"
    return {"authorization": authorization} if authorization else {}


async def _send_stream(chunks: AsyncIterator[bytes], api: Api, receive: Receive, send: Send) -> None:
    """Send each piece as it arrives; a client disconnect cancels the upstream read at once."""
    await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
    async with anyio.create_task_group() as tg:

        async def watch_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            tg.cancel_scope.cancel()

        tg.start_soon(watch_disconnect)
        try:
            async for piece in chunks:
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except Exception as exc:  # failed mid-stream: the status is sent already, so the error is an event
            log.warning("llm.stream_failed", exc_info=exc)
            await send({"type": "http.response.body", "body": stream_error_event(exc, api), "more_body": True})
        finally:
            with anyio.CancelScope(shield=True):
                await _aclose(chunks)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        tg.cancel_scope.cancel()


async def _aclose(chunks: AsyncIterator[bytes]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()
