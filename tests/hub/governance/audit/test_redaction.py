"""Redaction: secrets masked by key, text bounded, control characters escaped everywhere."""

from __future__ import annotations

import pytest

from hub.config.model import AuditRedactConfig
from hub.governance.audit.redaction import MASK, Redactor, bounded_text, escape_text


def test_values_of_secret_keys_are_masked_at_any_depth_whatever_their_case() -> None:
    redactor = Redactor(AuditRedactConfig())
    payload = {
        "name": "login",
        "arguments": {
            "user": "ann",
            "Password": "hunter2",
            "nested": [{"API-Key": "k1", "access_token": "t1", "Authorization": "Bearer x"}],
            "max_tokens": 100,
            "client_secret": {"deep": "value"},
        },
    }
    out = redactor.payload(payload)
    args = out["arguments"]
    assert args["user"] == "ann"
    assert args["Password"] == MASK
    assert args["nested"] == [{"API-Key": MASK, "access_token": MASK, "Authorization": MASK}]
    assert args["max_tokens"] == 100  # counts of tokens are not secrets
    assert args["client_secret"] == MASK
    assert payload["arguments"]["Password"] == "hunter2"  # the caller's value is untouched


def test_configured_patterns_replace_the_defaults() -> None:
    redactor = Redactor(AuditRedactConfig(keys=("ssn",)))
    assert redactor.payload({"ssn": "123", "password": "p"}) == {"ssn": MASK, "password": "p"}


def test_long_strings_and_lists_are_cut_and_say_how_much_was_left_out() -> None:
    redactor = Redactor(AuditRedactConfig(max_string_length=5, max_items=2))
    out = redactor.payload({"text": "abcdefghij", "items": [1, 2, 3, 4]})
    assert out["text"] == "abcde…[5 more chars]"
    assert out["items"] == [1, 2, "…[2 more items]"]


def test_control_characters_in_keys_and_values_are_written_as_escapes() -> None:
    redactor = Redactor(AuditRedactConfig())
    out = redactor.payload({"k\x1b[2J": "red\x1b[31m\r\nbell\x07 del\x7f csi\x9b bidi\u202e"})
    assert out == {"k\\u001b[2J": "red\\u001b[31m\\u000d\\u000abell\\u0007 del\\u007f csi\\u009b bidi\\u202e"}


def test_text_fields_are_escaped_and_bounded() -> None:
    assert escape_text("plain ünïcode ✓") == "plain ünïcode ✓"
    assert bounded_text("tool\x1b]0;owned\x07", 64) == "tool\\u001b]0;owned\\u0007"
    assert bounded_text("x" * 10, 4) == "xxx…"
    assert bounded_text(None, 4) is None


def test_numbers_that_json_cannot_carry_become_text() -> None:
    redactor = Redactor(AuditRedactConfig())
    assert redactor.payload([1.5, float("nan"), float("inf"), True, None]) == [1.5, "nan", "inf", True, None]


def test_a_payload_with_nothing_to_redact_is_returned_as_it_is_and_one_with_something_is_copied() -> None:
    redactor = Redactor(AuditRedactConfig(max_string_length=9, max_items=4))
    clean = {"name": "echo", "arguments": {"text": "ping", "n": [1, 2.5, None, True]}, "t": ("a", "b")}
    assert redactor.payload(clean) is clean

    dirty = {"name": "echo", "arguments": {"text": "ping", "token": "t", "n": [1, 2]}}
    out = redactor.payload(dirty)
    assert out == {"name": "echo", "arguments": {"text": "ping", "token": MASK, "n": [1, 2]}}
    assert out is not dirty
    assert out["arguments"] is not dirty["arguments"]
    assert out["arguments"]["n"] is dirty["arguments"]["n"]  # unchanged parts are shared, not copied
    assert dirty["arguments"]["token"] == "t"

    for changed in ({"k": "x" * 10}, [1, 2, 3, 4, 5], {"k\x1b": 1}, {1: "int key"}, [float("nan")], {"k": object()}):
        assert redactor.payload(changed) is not changed


def test_payload_text_is_the_walk_and_its_canonical_text_whichever_way_it_is_found() -> None:
    """The text-only check (no walk) must never keep what the walk would change, at every bound."""
    from hub.governance.audit.record import canonical_text

    redactor = Redactor(AuditRedactConfig(max_string_length=40, max_items=3))
    payloads = [
        {"name": "echo", "arguments": {"text": "ping", "n": [1, 2.5, True, None]}},
        None,
        "text",
        {"Api-Key": "k"},  # a secret key, spelled with a dash and capitals
        {"outer": {"refresh_token": "t"}},
        {"text": "x" * 41},  # one past the string bound
        {"items": [1, 2, 3, 4]},  # one past the item bound
        {"items": [1, 2, 3]},  # at it: kept
        {"text": "line\nbreak"},  # a control character
        {"text": "café"},  # non-ASCII text is kept, and takes the walk
        {"text": 'say "hi"'},
        {"value": float("nan")},
        {"value": object()},
        {"deep": _nested(40)},
        (1, 2),
    ]
    for value in payloads:
        redacted, text = redactor.payload_text(value)
        walked = redactor.payload(value)
        assert redacted == walked or (redacted is value and walked is value), value
        assert text == canonical_text(walked), value


def test_a_payload_with_nothing_to_redact_is_kept_without_the_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    redactor = Redactor(AuditRedactConfig())
    plain = {"name": "echo", "arguments": {"text": "ping", "n": [1, 2.5, True, None]}}
    monkeypatch.setattr(redactor, "payload", _no_walk)
    redacted, text = redactor.payload_text(plain)
    assert redacted is plain
    assert text == '{"arguments":{"n":[1,2.5,true,null],"text":"ping"},"name":"echo"}'


def test_a_glob_without_a_literal_part_always_takes_the_walk() -> None:
    redactor = Redactor(AuditRedactConfig(keys=("*",)))
    redacted, text = redactor.payload_text({"a": "b"})
    assert redacted == {"a": MASK}
    assert text == '{"a":"***"}'


def _no_walk(value: object) -> object:
    raise AssertionError("the walk ran")


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "config",
    [AuditRedactConfig(), AuditRedactConfig(max_string_length=40, max_items=4), AuditRedactConfig(keys=("*id*", "k?"))],
)
def test_payload_text_agrees_with_the_walk_on_random_payloads(config: AuditRedactConfig) -> None:
    """Seeded random payloads: secret-looking keys in any case, with dashes, or with characters whose
    lowercase is ASCII (the Kelvin sign), control and non-ASCII text, long strings and lists."""
    import random

    from hub.governance.audit.record import canonical_text

    rng = random.Random(7)
    keys = ["name", "Password", "pass-wd", "x-api-key", "refreshToken", "max_tokens", "to\u212aen", "sécret", "id", "k"]
    chars = 'abXY -_:,{}[]"\\/\n\u00e9\u212a\u0000\u007f'

    def value(depth: int) -> object:
        roll = rng.random()
        if depth > 4 or roll < 0.4:
            text = "".join(rng.choice(chars) for _ in range(rng.randint(0, 12)))
            return rng.choice([None, True, 0, 1.5, 10**20, text, "x" * rng.randint(0, 60)])
        if roll < 0.7:
            return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 4))}
        return [value(depth + 1) for _ in range(rng.randint(0, 6))]

    redactor = Redactor(config)
    for _ in range(3000):
        payload = value(0)
        redacted, text = redactor.payload_text(payload)
        walked = redactor.payload(payload)
        assert redacted == walked, payload
        assert text == canonical_text(walked), payload
