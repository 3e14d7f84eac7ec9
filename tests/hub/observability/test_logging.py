"""Log output: control characters from agents or upstreams never reach the log raw, in either format."""

from __future__ import annotations

import json
import logging

import pytest

from hub.observability.logging import JsonFormatter, TextFormatter

HOSTILE = "tool\x1b[2J\x1b]0;pwned\x07\r\nFAKE 00:00:00 ERROR forged\x9b\u202egnp.exe"


def record() -> logging.LogRecord:
    made = logging.LogRecord("hub.test", logging.WARNING, __file__, 1, "upstream.stderr", (), None)
    made.__dict__.update({"line": HOSTILE, "upstream": "ok-name"})
    return made


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
def test_control_characters_in_fields_are_escaped(formatter: logging.Formatter) -> None:
    out = formatter.format(record())
    assert out.isprintable()  # one line, no escape sequences, no bidi overrides
    assert "\\u001b[2J" in out
    assert "ok-name" in out


def test_json_lines_keep_the_text_recoverable() -> None:
    out = json.loads(JsonFormatter().format(record()))
    assert out["line"] == HOSTILE


def test_text_lines_escape_every_control_character_and_nothing_else() -> None:
    out = TextFormatter().format(record())
    assert "line=tool\\u001b[2J\\u001b]0;pwned\\u0007\\u000d\\u000aFAKE" in out
    assert "\\u009b\\u202egnp.exe" in out
    plain = logging.LogRecord("hub.test", logging.INFO, __file__, 1, "event", (), None)
    plain.__dict__["name_field"] = "café ✓"
    assert "name_field=café ✓" in TextFormatter().format(plain)
