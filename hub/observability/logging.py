"""The one place log output is configured: JSON lines or text, with the record's extra fields."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from hub.observability.escaping import escape_text

# Record attributes that are not the event's own fields (uvicorn adds a colour copy of its message).
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


def _escape(value: object) -> str:
    """Control characters from agent- or upstream-supplied text never reach the log raw."""
    return escape_text(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            **{k: v if isinstance(v, int | float | bool) or v is None else str(v) for k, v in _fields(record).items()},
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=True)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={_escape(v)}" for k, v in _fields(record).items())
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<7} {_escape(record.getMessage())} {extras}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line.rstrip()


QUIET_LOGGERS = ("httpx", "httpx2", "mcp", "uvicorn.access", "sse_starlette")
"""Libraries whose records below WARNING stay out of the log (request lines carry URLs, which may carry keys)."""


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
