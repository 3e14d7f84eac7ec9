"""The SDK's per-message span middleware runs only when an OpenTelemetry tracer provider is installed."""

from __future__ import annotations

import pytest
from mcp.server._otel import OpenTelemetryMiddleware
from opentelemetry import trace

from hub.pipeline import Pipeline
from hub.transports.mcp_server import VirtualMcpServer
from hub.virtual.registry import Registry


class _Provider(trace.TracerProvider):
    def get_tracer(self, *args: object, **kwargs: object) -> trace.Tracer:
        return trace.NoOpTracer()


def _server() -> VirtualMcpServer:
    return VirtualMcpServer("tools", "", Pipeline(Registry(dict), {}))


def test_without_a_tracer_provider_no_span_middleware_runs() -> None:
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert _server().server.middleware == []


def test_with_a_tracer_provider_the_sdk_span_middleware_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: _Provider())
    middleware = _server().server.middleware
    assert len(middleware) == 1
    assert isinstance(middleware[0], OpenTelemetryMiddleware)
