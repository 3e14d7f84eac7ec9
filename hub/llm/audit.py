"""LLM calls in the audit log: one record per call (refused ones too), as the agent sent it and what it got."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from hub.core.llm import Api
from hub.core.principal import Principal
from hub.governance.audit import AuditEntry, Auditor, failure_of

_METHODS = {"chat": "chat/completions", "messages": "messages", "embeddings": "embeddings"}


class LlmAudit:
    def __init__(self, auditor: Auditor) -> None:
        self._auditor = auditor

    def ok(
        self, principal: Principal, api: Api, body: Mapping[str, Any], started: float, deployment: str, answer: Any
    ) -> None:
        """Journal a call that answered (`answer`: the body, or a stream's usage)."""
        self._record(principal, api, body, started, deployment, answer, None)

    def failed(
        self, principal: Principal, api: Api, body: Mapping[str, Any], started: float, exc: BaseException
    ) -> None:
        self._record(principal, api, body, started, "", None, exc)

    def _record(
        self,
        principal: Principal,
        api: Api,
        body: Mapping[str, Any],
        started: float,
        deployment: str,
        answer: Any,
        exc: BaseException | None,
    ) -> None:
        code, message = failure_of(exc) if exc is not None else (None, None)
        cancelled = exc is not None and not isinstance(exc, Exception)
        entry = AuditEntry(
            kind="llm",
            method=_METHODS[api],
            outcome="ok" if exc is None else "cancelled" if cancelled else "error",
            latency_us=int((time.perf_counter() - started) * 1_000_000),
            agent=principal.agent,
            team=principal.team,
            key_id=principal.key_id or None,
            target=str(body.get("model", "")),
            upstream=deployment or None,
            error_code=code,
            error=message,
            request=dict(body),
            response=answer,
        )
        self._auditor.record(entry)
