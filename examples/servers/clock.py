"""A clock MCP server, spoken to over Streamable HTTP: the quickstart's HTTP upstream.

    python examples/servers/clock.py                 # serves http://127.0.0.1:8931/mcp
    python examples/servers/clock.py --port 0        # any free port

Once it accepts connections it prints one line, `LISTENING http://127.0.0.1:<port>/mcp`,
on stdout: with `--port 0` that line is how a script learns the port.

Tools:

* `now(tz="UTC")` - the current time in an IANA time zone, e.g. "Europe/Paris";
* `add_days(date, days)` - the ISO date `days` days after `date` (before, if negative).
"""

from __future__ import annotations

import argparse
import contextlib
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio
from _http_support import serve_http
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

DEFAULT_PORT = 8931

mcp = MCPServer("clock", version="1.0.0", instructions="Tells the time, and does date arithmetic.")


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC  # needs no time zone database
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolError(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'.") from exc


@mcp.tool()
def now(tz: str = "UTC") -> str:
    """The current date and time in time zone `tz` (an IANA name), as ISO 8601 with its UTC offset."""
    return datetime.now(_zone(tz)).isoformat(timespec="seconds")


@mcp.tool()
def add_days(date: str, days: int) -> str:
    """The ISO date (YYYY-MM-DD) that is `days` days after `date`; a negative `days` goes back."""
    try:
        start = datetime.strptime(date, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ToolError(f"{date!r} is not a date of the form YYYY-MM-DD.") from exc
    try:
        result = start + timedelta(days=days)
    except OverflowError as exc:
        raise ToolError(f"{date} plus {days} days is outside the calendar.") from exc
    return result.isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description="Clock MCP server (Streamable HTTP).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    args = parser.parse_args()
    app = mcp.streamable_http_app(host=args.host)
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(lambda: serve_http(app, host=args.host, port=args.port, path="/mcp"))


if __name__ == "__main__":
    main()
