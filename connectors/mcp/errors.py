"""Translate what the SDK and the HTTP client raise into the hub's errors, where calls leave the hub."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import anyio
import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from hub.errors import UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError

CALL_STREAM_ENDED = "SSE stream "
"""How the SDK client's Streamable HTTP transport (mcp 2.3.0) begins the CONNECTION_CLOSED message
it resolves one request with when that request's SSE answer ended, or failed, before the response
and could not be resumed ("SSE stream ended without a response", "... and reconnection attempts were
exhausted", "SSE stream failed: ..."); the lean path raises the same. Only that call is lost: the
session is fine, so the upstream is not restarted for it (a closed session says "Connection closed")."""


class upstream_failures:  # noqa: N801  # a context manager, named like the function it replaced
    """Run one outbound call under `deadline`; `on_broken` runs when the connection itself failed.

    A class rather than `@contextmanager` around `anyio.fail_after`: it runs on every call, and the
    deadline is already absolute, so one cancel scope does (the generator layers were ~3 % of a call).
    """

    def __init__(self, upstream: str, deadline: float, on_broken: Callable[[], None]) -> None:
        self._upstream = upstream
        self._on_broken = on_broken
        self._scope = anyio.CancelScope(deadline=deadline)

    def __enter__(self) -> None:
        self._scope.__enter__()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        scope = self._scope
        swallowed = scope.__exit__(exc_type, exc, tb)
        if scope.cancelled_caught and anyio.current_time() >= scope.deadline:
            raise self._timeout() from TimeoutError()
        if swallowed or exc is None:
            return bool(swallowed)
        translated = self._translated(exc)
        if translated is exc:
            return False  # not an upstream failure: it goes on as it is
        raise translated from exc

    def _timeout(self) -> UpstreamTimeoutError:
        return UpstreamTimeoutError(f"upstream {self._upstream!r} did not answer in time", upstream=self._upstream)

    def _translated(self, exc: BaseException) -> BaseException:
        """The hub's error for what the call raised (the exception itself when it is not an upstream failure)."""
        upstream = self._upstream
        if isinstance(exc, TimeoutError | httpx2.TimeoutException):
            return self._timeout()
        if isinstance(exc, MCPError):
            if exc.code == CONNECTION_CLOSED and exc.message.startswith(CALL_STREAM_ENDED):
                return UpstreamUnavailableError(f"upstream {upstream!r}: {exc.message}", upstream=upstream)
            if exc.code == CONNECTION_CLOSED:
                self._on_broken()
                return UpstreamUnavailableError(
                    f"upstream {upstream!r} closed the connection; it is being restarted", upstream=upstream
                )
            if exc.code == REQUEST_TIMEOUT:
                return self._timeout()
            return UpstreamRejectedError(exc.code, exc.message, exc.data)
        if isinstance(exc, httpx2.TransportError | anyio.BrokenResourceError | anyio.ClosedResourceError | OSError):
            self._on_broken()
            return UpstreamUnavailableError(f"upstream {upstream!r} is unreachable", upstream=upstream)
        return exc
