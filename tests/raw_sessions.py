"""A 2025-era Streamable HTTP session opened by hand: for tests that must see the raw HTTP answers.

`VERSION` is 2025-11-25, the first handshake version whose SSE answers are primed for resumption
(Last-Event-ID).
"""

from __future__ import annotations

import httpx2

VERSION = "2025-11-25"


def session_headers(key: str, session: str | None = None, **more: str) -> dict[str, str]:
    """The headers of a request on `session` (of the initialize when None), `more` added or replacing."""
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "MCP-Protocol-Version": VERSION,
        **more,
    }
    if session is not None:
        headers["Mcp-Session-Id"] = session
    return headers


async def open_session(http: httpx2.AsyncClient, url: str, key: str) -> str:
    """Initialize a session at `url` and confirm it (notifications/initialized); its id."""
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": VERSION, "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }
    opened = await http.post(url, json=init, headers=session_headers(key))
    assert opened.status_code == 200
    session = opened.headers["mcp-session-id"]
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert (await http.post(url, json=done, headers=session_headers(key, session))).status_code == 202
    return session
