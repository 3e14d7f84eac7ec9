"""Every error the hub raises on purpose, and its wire codes.

    HubError                        500 / -32603  something the hub did not expect
    ├── ConfigError                               the configuration is invalid (startup, admin API)
    ├── BadRequestError             400 / -32600  the request itself is malformed
    │   ├── InvalidParamsError      400 / -32602  a parameter is missing or has the wrong shape
    │   └── MethodNotAllowedError   405 / -32600  an HTTP method the route does not serve
    ├── AuthenticationError         401 / -32003  no credential, or one the hub does not accept
    ├── ForbiddenError              403 / -32005  known caller, not allowed (admin API roles)
    │   └── InsufficientScopeError  403 / -32005  an OAuth token without the scopes the hub requires
    ├── NotFoundError               404 / -32602  unknown OR not granted: same answer, same wording
    ├── ConflictError               409 / -32006  the resource exists already
    ├── LimitExceededError          429 / -32007  a bound was hit (sessions, sizes, rates)
    ├── AuditUnavailableError       503 / -32010  the audit journal cannot be written: calls are refused
    └── UpstreamError               502 / -32008  an upstream failed on the hub's side of the call
        ├── UpstreamUnavailableError 503 / -32009 down, restarting, or unreachable
        ├── UpstreamTimeoutError    504 / -32004  did not answer within its deadline
        └── UpstreamRejectedError   502 / theirs  the upstream answered with a JSON-RPC error: passed through

Codes are allocated here and nowhere else. Our own JSON-RPC codes come from the
implementation band -32003..-32019 (-32000/-32001 belong to the SDK, -32002 is retired).
Each edge has one function that maps these to its wire form.
"""

from __future__ import annotations

from typing import ClassVar

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

UNAUTHENTICATED = -32003
UPSTREAM_TIMEOUT = -32004
FORBIDDEN = -32005
CONFLICT = -32006
LIMIT_EXCEEDED = -32007
UPSTREAM_FAILED = -32008
UPSTREAM_UNAVAILABLE = -32009
AUDIT_UNAVAILABLE = -32010


class HubError(Exception):
    """Base of every error the hub raises on purpose."""

    jsonrpc_code: ClassVar[int] = INTERNAL_ERROR
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, **data: object) -> None:
        super().__init__(message)
        self.message = message  # for the caller: what happened, what to do next
        self.data = data  # safe to show: never secrets, never tracebacks

    @property
    def rpc_code(self) -> int:
        return self.jsonrpc_code


class ConfigError(HubError):
    """The configuration is invalid; the message names the place and the fix."""

    http_status = 422
    jsonrpc_code = INVALID_PARAMS


class BadRequestError(HubError):
    jsonrpc_code = INVALID_REQUEST
    http_status = 400


class InvalidParamsError(BadRequestError):
    jsonrpc_code = INVALID_PARAMS


class MethodNotAllowedError(BadRequestError):
    """`data["allow"]` lists the methods the route serves."""

    http_status = 405


class AuthenticationError(HubError):
    jsonrpc_code = UNAUTHENTICATED
    http_status = 401


class ForbiddenError(HubError):
    jsonrpc_code = FORBIDDEN
    http_status = 403


class InsufficientScopeError(ForbiddenError):
    """`data["scope"]` names the scopes needed, for the WWW-Authenticate challenge."""


class NotFoundError(HubError):
    """Unknown or not granted. Callers must not be able to tell which."""

    jsonrpc_code = INVALID_PARAMS
    http_status = 404


class ConflictError(HubError):
    jsonrpc_code = CONFLICT
    http_status = 409


class LimitExceededError(HubError):
    jsonrpc_code = LIMIT_EXCEEDED
    http_status = 429


class AuditUnavailableError(HubError):
    """A call's audit record could not be journaled; the call's answer is withheld rather than left unrecorded."""

    jsonrpc_code = AUDIT_UNAVAILABLE
    http_status = 503


class CacheUnavailableError(HubError):
    """The LLM response cache's store or embedder failed. Never reaches a caller: the call goes on uncached."""

    http_status = 503


class UpstreamError(HubError):
    jsonrpc_code = UPSTREAM_FAILED
    http_status = 502


class UpstreamUnavailableError(UpstreamError):
    jsonrpc_code = UPSTREAM_UNAVAILABLE
    http_status = 503


class UpstreamTimeoutError(UpstreamError):
    jsonrpc_code = UPSTREAM_TIMEOUT
    http_status = 504


class UpstreamRejectedError(UpstreamError):
    """The upstream answered with a JSON-RPC error; its code, message and data reach the agent unchanged."""

    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self._code = code
        self.upstream_data = data

    @property
    def rpc_code(self) -> int:
        return self._code
