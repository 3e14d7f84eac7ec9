"""Resumable Streamable HTTP streams (Last-Event-ID) replay only to the session that owns them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest

from tests.raw_sessions import open_session, session_headers

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def _events(response: httpx2.Response) -> AsyncIterator[dict[str, Any]]:
    """SSE events as {"id": ..., "data": ...}, as they arrive."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = value.lstrip()


async def test_a_stream_resumes_on_its_own_session_only(catalog_hub, keys) -> None:
    alice, bob_key = keys.alice, keys.bob
    url = catalog_hub.server_url("echo")
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "slow", "arguments": {"seconds": 0.3}},
    }
    with anyio.fail_after(TIMEOUT):
        async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
            session = await open_session(http, url, alice)
            other_session = await open_session(http, url, alice)
            # The call's stream is primed with an event id; the client drops the stream right after it.
            async with http.stream("POST", url, json=call, headers=session_headers(alice, session)) as response:
                first = await anext(_events(response))
            cursor = first["id"]

            # Another agent cannot even reach the session; the same agent's other session gets nothing.
            bob = await http.get(url, headers=session_headers(bob_key, session, **{"Last-Event-ID": cursor}))
            async with http.stream(
                "GET", url, headers=session_headers(alice, other_session, **{"Last-Event-ID": cursor})
            ) as foreign:
                foreign_body = (await foreign.aread()).decode()

            async with http.stream(
                "GET", url, headers=session_headers(alice, session, **{"Last-Event-ID": cursor})
            ) as resumed:
                assert resumed.status_code == 200
                async for event in _events(resumed):
                    if '"id":7' in event.get("data", "").replace(" ", ""):
                        result = event["data"]
                        break

    assert bob.status_code == 404
    assert '"id":7' not in foreign_body.replace(" ", "")
    assert "slept" in result
