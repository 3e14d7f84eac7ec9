"""Admin routes as data (for the router and the OpenAPI document), JSON bodies in, JSON out.

Bodies are validated with pydantic; a failure answers 422 with one entry per field path
(`include[0].upstream`), never with the submitted values, which may hold secrets.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.config.locations import readable
from hub.errors import BadRequestError, ConfigError, LimitExceededError

T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Operation:
    """One admin route: what the router dispatches and what the OpenAPI document describes."""

    method: str
    path: str  # below /admin, with {name}-style parameters
    summary: str
    handler: Handler
    body: TypeAdapter[Any] | None = None
    response: TypeAdapter[Any] | None = None
    status: int = 200
    errors: tuple[int, ...] = (401, 404)
    query: TypeAdapter[Any] | None = None  # a model whose fields are the query parameters
    media_type: str = "application/json"


async def read_json(request: Request) -> object:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise LimitExceededError(f"the request body is over {MAX_BODY_BYTES} bytes")
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise BadRequestError("the request body is not valid JSON") from exc


def validated(adapter: TypeAdapter[T], data: object, what: str) -> T:
    """`data` as a `what`; a ConfigError (422) listing each failing field path otherwise."""
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = [
            {"loc": field_path(err["loc"]), "message": err["msg"].removeprefix("Value error, ")}
            for err in exc.errors(include_url=False, include_input=False)
        ]
        summary = "; ".join(f"{e['loc'] or '(body)'}: {e['message']}" for e in errors)
        raise ConfigError(f"invalid {what}: {summary}", errors=errors) from exc


def invalid(what: str, loc: str, message: str) -> ConfigError:
    """A 422 for a single field, shaped like a validation failure."""
    return ConfigError(f"invalid {what}: {loc}: {message}", errors=[{"loc": loc, "message": message}])


def field_path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in readable(loc):
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def respond(adapter: TypeAdapter[T], value: T, status: int = 200) -> JSONResponse:
    return JSONResponse(adapter.dump_python(value, mode="json"), status_code=status)


def no_content() -> Response:
    return Response(status_code=204)
