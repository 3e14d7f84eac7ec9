"""Translate what the HTTP client raises into the hub's errors, where REST calls leave the hub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio
import httpx2

from hub.errors import UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError


@contextmanager
def upstream_failures(upstream: str, deadline: float) -> Iterator[None]:
    """Run one outbound call (retries included) under `deadline`."""
    try:
        with anyio.fail_after(max(deadline - anyio.current_time(), 0)):
            yield
    except (TimeoutError, httpx2.TimeoutException) as exc:
        raise UpstreamTimeoutError(f"upstream {upstream!r} did not answer in time", upstream=upstream) from exc
    except (httpx2.TransportError, OSError) as exc:
        raise UpstreamUnavailableError(f"upstream {upstream!r} is unreachable", upstream=upstream) from exc
    except httpx2.HTTPError as exc:
        raise UpstreamError(f"upstream {upstream!r} sent a response the hub cannot read", upstream=upstream) from exc
