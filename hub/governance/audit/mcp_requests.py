"""The audit entries of MCP requests: a forwarded call, a list, and a request refused at the edge."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from hub.core.principal import Principal
from hub.governance.audit.record import AuditEntry, Outcome, failure_of, json_size

LIST_METHODS = {
    "tool": "tools/list",
    "prompt": "prompts/list",
    "resource": "resources/list",
    "resource_template": "resources/templates/list",
}


def mcp_entry(
    principal: Principal | None,
    server: str | None,
    method: str,
    params: Mapping[str, Any] | None,
    started: float,
    *,
    upstream: str | None = None,
    result: Mapping[str, Any] | None = None,
    error: BaseException | None = None,
) -> AuditEntry:
    """One forwarded request (tools/call, resources/read, prompts/get, completion/complete, ...)."""
    return _request_entry(principal, server, method, params, started, _outcome(result, error), upstream, result)


def list_entry(
    principal: Principal,
    server: str,
    method: str,
    started: float,
    items: Sequence[Mapping[str, Any]] | None = None,
    error: BaseException | None = None,
) -> AuditEntry:
    """A list request: the record keeps the names listed (the sizes count the whole list)."""
    outcome, code, message = _outcome(None, error)
    names = [str(i.get("name") or i.get("uri") or i.get("uriTemplate") or "") for i in items] if items else None
    return AuditEntry(
        kind="mcp",
        method=method,
        outcome=outcome,
        latency_us=int((time.perf_counter() - started) * 1_000_000),
        agent=principal.agent,
        team=principal.team,
        key_id=principal.key_id or None,
        server=server,
        error_code=code,
        error=message,
        response=names,
        request_bytes=0,
        response_bytes=None if items is None else json_size(list(items)),
    )


def refused_entry(
    principal: Principal | None, server: str | None, http_method: str, path: str, error: BaseException
) -> AuditEntry:
    """A request the HTTP edge refused before any MCP method was read (no credential, bad key, no grant, ...)."""
    _, code, message = _outcome(None, error)
    return AuditEntry(
        kind="mcp",
        method=f"http/{http_method}",
        outcome="error",
        latency_us=0,
        agent=principal.agent if principal else None,
        team=principal.team if principal else None,
        key_id=principal.key_id or None if principal else None,
        server=server,
        target=path,
        error_code=code,
        error=message,
    )


def answer_entry(
    principal: Principal,
    server: str,
    method: str,
    params: Mapping[str, Any] | None,
    started: float,
    *,
    status: int,
    reply: Mapping[str, Any] | None,
) -> AuditEntry:
    """A request no handler of ours recorded (handshake, ping, one the SDK refused), read from its answer."""
    error = reply.get("error") if reply is not None else None
    outcome: Outcome = "ok"
    code: int | None = None
    message: str | None = None
    if isinstance(error, Mapping):
        raw_code = error.get("code")
        outcome, code, message = "error", raw_code if isinstance(raw_code, int) else None, str(error.get("message"))
    elif status == 0:
        outcome, message = "cancelled", "the agent went away before it was answered"
    elif status >= 400:
        outcome, message = "error", f"HTTP {status}"
    return _request_entry(principal, server, method, params, started, (outcome, code, message))


def _request_entry(
    principal: Principal | None,
    server: str | None,
    method: str,
    params: Mapping[str, Any] | None,
    started: float,
    outcome: tuple[Outcome, int | None, str | None],
    upstream: str | None = None,
    result: Mapping[str, Any] | None = None,
) -> AuditEntry:
    return AuditEntry(
        kind="mcp",
        method=method,
        outcome=outcome[0],
        latency_us=int((time.perf_counter() - started) * 1_000_000),
        agent=principal.agent if principal else None,
        team=principal.team if principal else None,
        key_id=principal.key_id or None if principal else None,
        server=server,
        target=_target(method, params) if params is not None else None,
        upstream=upstream,
        error_code=outcome[1],
        error=outcome[2],
        request=params,
        response=result,
    )


def outcome_of(result: Mapping[str, Any] | None, error: BaseException | None) -> Outcome:
    """How a request ended: answered (a tool's own failure apart), failed, or cancelled before its answer."""
    if error is None:
        return "tool_error" if result is not None and result.get("isError") is True else "ok"
    return "cancelled" if isinstance(error, anyio.get_cancelled_exc_class()) else "error"


def _outcome(result: Mapping[str, Any] | None, error: BaseException | None) -> tuple[Outcome, int | None, str | None]:
    outcome = outcome_of(result, error)
    if outcome == "cancelled":
        return outcome, None, "cancelled before it was answered"
    if error is None:
        return outcome, None, None
    code, message = failure_of(error)
    return outcome, code, message


def _target(method: str, params: Mapping[str, Any]) -> str | None:
    if method in ("tools/call", "prompts/get"):
        return str(params.get("name", ""))
    if method.startswith("resources/"):
        return str(params.get("uri", ""))
    ref = params.get("ref")
    if isinstance(ref, Mapping):
        return str(ref.get("name") or ref.get("uri") or "")
    return None
