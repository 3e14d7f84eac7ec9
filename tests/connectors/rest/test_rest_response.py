"""HTTP responses as CallToolResults: JSON, text, errors, binary and oversized bodies."""

from __future__ import annotations

import json

from connectors.rest.response import Reply, select, to_result


def reply(body: bytes, content_type: str = "application/json", status: int = 200, truncated: bool = False) -> Reply:
    return Reply(status, "OK" if status < 400 else "Not Found", content_type, body, truncated)


def test_a_json_object_is_structured_content_and_text() -> None:
    result = to_result(reply(b'{"a": {"b": [1, 2]}}'))
    assert result["isError"] is False
    assert result["structuredContent"] == {"a": {"b": [1, 2]}}
    assert json.loads(result["content"][0]["text"]) == {"a": {"b": [1, 2]}}


def test_a_json_pointer_selects_part_and_non_objects_are_wrapped() -> None:
    body = b'{"data": {"items": [{"id": 1}, {"id": 2}], "a/b": {"~x": 5}}}'
    assert to_result(reply(body), "/data/items")["structuredContent"] == {"result": [{"id": 1}, {"id": 2}]}
    assert to_result(reply(body), "/data/items/1")["structuredContent"] == {"id": 2}
    assert select(json.loads(body), "/data/a~1b/~0x") == 5
    assert select(json.loads(body), "/data/missing") is None


def test_an_error_status_is_a_tool_error_with_a_trimmed_body() -> None:
    result = to_result(reply(b"x" * 10_000, "text/plain", status=404))
    assert result["isError"] is True
    text = result["content"][0]["text"]
    assert text.startswith("HTTP 404 Not Found: xxx")
    assert text.endswith("...(trimmed)")
    assert len(text) < 2100
    assert "structuredContent" not in result


def test_binary_is_described_not_dumped_and_images_are_images() -> None:
    result = to_result(reply(bytes(range(256)), "application/octet-stream"))
    assert result["content"][0]["text"] == "[binary response: application/octet-stream, 256 bytes; not shown]"
    image = to_result(reply(b"\x89PNG", "image/png"))
    assert image["content"][0] == {"type": "image", "data": "iVBORw==", "mimeType": "image/png"}


def test_truncated_bodies_say_so() -> None:
    text = to_result(reply(b"abc", "text/plain", truncated=True))
    assert text["content"][0]["text"] == "abc\n[truncated at 3 bytes]"
    json_cut = to_result(reply(b'{"a": 1', "application/json", truncated=True))
    assert "structuredContent" not in json_cut
    assert "truncated" in json_cut["content"][0]["text"]
    binary = to_result(reply(b"\x00" * 8, "application/pdf", truncated=True))
    assert "more than 8 bytes" in binary["content"][0]["text"]


def test_empty_and_invalid_json_bodies() -> None:
    assert to_result(reply(b"", status=204))["content"][0]["text"] == "HTTP 204 OK: no content"
    broken = to_result(reply(b"{nope"))
    assert broken["isError"] is True
    assert "invalid JSON" in broken["content"][0]["text"]
