"""Requests built from arguments stay on the admin's base URL, whatever the arguments say."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connectors.rest.arguments import check_arguments
from connectors.rest.operation import Operation
from connectors.rest.request import BaseUrl, build, fill
from connectors.rest.tools import operation_for
from hub.config.model import RestToolConfig, RestUpstreamConfig
from hub.errors import ConfigError, InvalidParamsError

BASE = BaseUrl.parse("https://api.example.test:8443/v1/")
STRINGS = {"type": "object", "properties": {n: {"type": "string"} for n in ("id", "q", "trace", "name")}}


def tool(**fields: Any) -> Operation:
    return operation_for(RestToolConfig.model_validate({"name": "t", "parameters": STRINGS, **fields}))


GET_ITEM = tool(path="/items/{id}/details", query=["q"], headers={"X-Trace": "trace"})

HOSTILE = [
    "http://169.254.169.254/latest/meta-data/",
    "../../admin",
    "..%2F..%2Fadmin",
    "%2e%2e",
    "%2e%2e/%2e%2e/secret",
    "//evil.example/x",
    "@evil.example",
    "user@evil.example:80",
    "a/b?c=d#e",
    "x\r\nHost: evil.example",
    "https://evil.example",
    "\\\\evil.example\\share",
    "…/ünïcode",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_path_value_never_changes_origin_or_leaves_the_base_path(value: str) -> None:
    out = build(GET_ITEM, {"id": value}, BASE)
    assert (out.url.scheme, out.url.host, out.url.port) == ("https", "api.example.test", 8443)
    raw = out.url.raw_path.decode("ascii")
    assert raw.startswith("/v1/items/")
    assert raw.endswith("/details")
    segment = raw.removeprefix("/v1/items/").removesuffix("/details")
    assert "/" not in segment
    assert "?" not in segment
    assert "#" not in segment
    assert "\r" not in raw
    assert "\n" not in raw
    assert not out.url.query


@pytest.mark.parametrize("value", ["", ".", "..", "..."])
def test_dot_and_empty_path_values_are_refused(value: str) -> None:
    with pytest.raises(InvalidParamsError) as refused:
        build(GET_ITEM, {"id": value}, BASE)
    assert refused.value.data == {"field": "id"}


def test_query_values_are_encoded_as_values() -> None:
    out = build(GET_ITEM, {"id": "1", "q": "a&admin=true#x"}, BASE)
    assert out.params == [("q", "a&admin=true#x")]
    assert out.url.host == "api.example.test"


@pytest.mark.parametrize("value", ["a\r\nX-Admin: 1", "a\nb", "a\rb", "a\x00b", "a\x7fb"])
def test_header_values_with_line_breaks_or_controls_are_refused(value: str) -> None:
    with pytest.raises(InvalidParamsError) as refused:
        build(GET_ITEM, {"id": "1", "trace": value}, BASE)
    assert refused.value.data == {"field": "trace"}
    assert "trace" in refused.value.message


def test_header_values_are_sent_under_their_header_name() -> None:
    out = build(GET_ITEM, {"id": "7", "trace": "abc\tdef"}, BASE)
    assert out.headers == [("X-Trace", "abc\tdef")]
    assert out.url.raw_path == b"/v1/items/7/details"


def test_body_defaults_to_the_arguments_not_used_elsewhere() -> None:
    op = tool(method="POST", path="/items/{id}", query=["q"])
    out = build(op, {"id": "1", "q": "x", "name": "n"}, BASE)
    assert out.content == b'{"name":"n"}'
    assert out.content_type == "application/json"


def test_a_body_template_places_arguments_and_drops_absent_ones() -> None:
    template = {"item": {"label": {"$arg": "name"}, "note": {"$arg": "q"}}, "fixed": [1, {"$arg": "id"}]}
    assert fill(template, {"name": "n", "id": "7"}) == {"item": {"label": "n"}, "fixed": [1, "7"]}
    out = build(tool(method="PUT", path="/x", body=template), {"name": "n"}, BASE)
    assert out.content == b'{"item":{"label":"n"},"fixed":[1]}'


def test_arguments_are_checked_against_the_schema_first() -> None:
    op = tool(path="/x", parameters={"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}})
    with pytest.raises(InvalidParamsError) as missing:
        check_arguments("t", op.validator, {})
    assert missing.value.data == {"field": "n"}
    assert "'n'" in missing.value.message
    assert "required" in missing.value.message
    with pytest.raises(InvalidParamsError) as wrong:
        check_arguments("t", op.validator, {"n": "seven"})
    assert wrong.value.data == {"field": "n"}
    assert "integer" in wrong.value.message
    with pytest.raises(InvalidParamsError):
        check_arguments("t", op.validator, ["n"])


@pytest.mark.parametrize("text", ["ftp://example.test/", "/relative", "http://"])
def test_a_base_url_must_be_absolute_http(text: str) -> None:
    with pytest.raises(ValueError, match="absolute http"):
        BaseUrl.parse(text)


def test_tool_config_names_unknown_arguments() -> None:
    with pytest.raises(ValueError, match=r"'nope' is not in parameters\.properties"):
        RestToolConfig.model_validate({"name": "t", "path": "/a/{nope}", "parameters": STRINGS})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"headers": {"X-Key": "a\r\nX-Admin: 1"}}, "headers.X-Key: a header value cannot contain CR, LF or NUL"),
        ({"auth": {"type": "bearer", "token": "t\nX: y"}}, "token: a credential cannot contain CR, LF or NUL"),
        (
            {"auth": {"type": "api_key", "name": "k", "value": "v\r"}},
            "value: a credential cannot contain CR, LF or NUL",
        ),
    ],
)
def test_configured_credentials_cannot_split_headers(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RestUpstreamConfig.model_validate(
            {
                "name": "r",
                "kind": "rest",
                "base_url": "http://127.0.0.1:1",
                "tools": [{"name": "t", "path": "/"}],
                **fields,
            }
        )


@pytest.mark.parametrize("header", ["Host", "content-length", "Authorization", "Transfer-Encoding"])
def test_a_hand_written_tool_cannot_hand_reserved_headers_to_arguments(header: str) -> None:
    with pytest.raises(ConfigError, match=f"cannot set the {header} header"):
        tool(path="/x", headers={header: "q"})
