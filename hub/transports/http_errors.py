"""The HTTP edge's one mapping from exceptions to responses (JSON body, right status, auth challenge)."""

from __future__ import annotations

import logging
import math
import uuid

from starlette.responses import JSONResponse

from hub.errors import (
    AuthenticationError,
    HubError,
    InsufficientScopeError,
    LimitExceededError,
    MethodNotAllowedError,
)

log = logging.getLogger(__name__)


def error_response(exc: BaseException, resource_metadata_url: str | None = None) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, HubError):
        status, body = exc.http_status, {"error": {"code": exc.rpc_code, "message": exc.message, **exc.data}}
        if isinstance(exc, AuthenticationError):
            challenge = 'Bearer realm="hub"'
            if resource_metadata_url:
                challenge += f', resource_metadata="{resource_metadata_url}"'
            headers["WWW-Authenticate"] = challenge
        if isinstance(exc, MethodNotAllowedError):
            headers["Allow"] = str(exc.data.get("allow", ""))
        if isinstance(exc, InsufficientScopeError):
            headers["WWW-Authenticate"] = f'Bearer error="insufficient_scope", scope="{exc.data.get("scope", "")}"'
        if isinstance(exc, LimitExceededError) and "retry_after_s" in exc.data:
            headers["Retry-After"] = retry_after_header(float(str(exc.data["retry_after_s"])))
    else:
        incident = uuid.uuid4().hex[:12]
        log.error("http.internal_error", exc_info=exc, extra={"incident": incident})
        status = 500
        body = {"error": {"code": -32603, "message": f"internal error (incident {incident})"}}
    return JSONResponse(body, status_code=status, headers=headers)


def retry_after_header(seconds: float) -> str:
    """A `Retry-After` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
