"""How long the hub keeps an idle upstream connection for reuse: less than servers keep it open.

A server closes a kept-alive connection after its own idle time: 5 s in uvicorn (so in most Python
MCP and REST services), Node's http server and Apache. A client that keeps it as long may send its
next request just as the server closes it, and gets "Server disconnected without sending a
response" for a request the server never read. Dropping idle connections a second earlier leaves
that race to servers with a shorter idle time; the REST connector also retries idempotent requests
that meet it (connectors/rest/sender.py).
"""

from __future__ import annotations

UPSTREAM_KEEPALIVE_S = 4.0
