"""Translate what the SDK and the HTTP client raise into the hub's errors, where calls leave the hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio
import httpx2
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

from hub.errors import UpstreamRejectedError, UpstreamTimeoutError, UpstreamUnavailableError


@contextmanager
def upstream_failures(upstream: str, deadline: float, on_broken: Callable[[], None]) -> Iterator[None]:
    """Run one outbound call under `deadline`; `on_broken` runs when the connection itself failed."""
    try:
        with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
            yield
    except TimeoutError as exc:
        raise UpstreamTimeoutError(f"upstream {upstream!r} did not answer in time", upstream=upstream) from exc
    except MCPError as exc:
        if exc.code == CONNECTION_CLOSED:
            on_broken()
            raise UpstreamUnavailableError(
                f"upstream {upstream!r} closed the connection; it is being restarted", upstream=upstream
            ) from exc
        if exc.code == REQUEST_TIMEOUT:
            raise UpstreamTimeoutError(f"upstream {upstream!r} did not answer in time", upstream=upstream) from exc
        raise UpstreamRejectedError(exc.code, exc.message, exc.data) from exc
    except httpx2.TimeoutException as exc:
        raise UpstreamTimeoutError(f"upstream {upstream!r} did not answer in time", upstream=upstream) from exc
    except (httpx2.TransportError, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
        on_broken()
        raise UpstreamUnavailableError(f"upstream {upstream!r} is unreachable", upstream=upstream) from exc
