"""Turn an operation and its checked arguments into an HTTP request on the admin's base URL.

Arguments can never change where a request goes: each path value is percent-encoded as one
segment part (so `/`, `?`, `#`, `%` and `@` lose their meaning), whole-dot segments and empty
values are refused, and the finished URL is checked to keep the base URL's scheme, host, port and
path prefix. Header values with CR, LF or other control characters are refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx2

from connectors.rest.operation import ARG, Operation
from hub.errors import InvalidParamsError

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_LITERAL_SAFE = "/-._~!$&'()*+,;=:@%"
# Headers an argument may never set: they frame or route the request, or carry credentials.
RESERVED_HEADERS = frozenset(
    {
        "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "trailer",
        "upgrade", "expect", "proxy-authorization", "authorization", "cookie", "content-type", "accept",
    }
)  # fmt: skip
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class BaseUrl:
    """Where every request of one upstream goes: fixed by the admin."""

    url: httpx2.URL

    @classmethod
    def parse(cls, text: str) -> BaseUrl:
        url = httpx2.URL(text)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base URL {text!r} must be an absolute http(s) URL")
        return cls(url.copy_with(query=None, fragment=None))

    @property
    def prefix(self) -> bytes:
        return self.url.raw_path.rstrip(b"/")

    def same_origin(self, other: httpx2.URL) -> bool:
        return (other.scheme, other.host, other.port) == (self.url.scheme, self.url.host, self.url.port)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A request before credentials are added."""

    method: str
    url: httpx2.URL
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    content: bytes | None = None
    content_type: str | None = None


def build(operation: Operation, arguments: Mapping[str, Any], base: BaseUrl) -> Outgoing:
    url = base.url.copy_with(raw_path=base.prefix + _path(operation, arguments).encode("ascii"))
    if not base.same_origin(url) or not url.raw_path.startswith(base.prefix + b"/"):
        raise InvalidParamsError("the arguments would leave the upstream's base URL")
    params: list[tuple[str, str]] = []
    headers: list[tuple[str, str]] = []
    for param in operation.params:
        value = arguments.get(param.arg, _ABSENT)
        if value is _ABSENT or value is None:
            continue
        if param.location == "query":
            params += [(param.wire, _text(param.arg, item)) for item in (value if isinstance(value, list) else [value])]
        elif param.location == "header":
            headers.append((param.wire, _header_value(param.arg, value)))
    content, content_type = _body(operation, arguments)
    return Outgoing(operation.method, url, params, headers, content, content_type)


def _path(operation: Operation, arguments: Mapping[str, Any]) -> str:
    """The operation's path template, literal parts kept (percent-encoded), placeholders filled."""
    by_wire = {p.wire: p.arg for p in operation.params if p.location == "path"}
    parts = _PLACEHOLDER.split(operation.path)  # literal, name, literal, name, ..., literal
    return "".join(
        _segment_part(by_wire.get(part, part), arguments) if i % 2 else quote(part, safe=_LITERAL_SAFE)
        for i, part in enumerate(parts)
    )


def _segment_part(arg: str, arguments: Mapping[str, Any]) -> str:
    value = arguments.get(arg)
    if value is None:
        raise InvalidParamsError(f"invalid argument {arg!r}: is required", field=arg)
    text = _text(arg, value)
    if text.strip(".") == "":
        raise InvalidParamsError(f"invalid argument {arg!r}: a path value cannot be empty, '.' or '..'", field=arg)
    return quote(text, safe="")


def _text(arg: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    raise InvalidParamsError(f"invalid argument {arg!r}: unsupported value", field=arg)


def _header_value(arg: str, value: Any) -> str:
    text = ",".join(_text(arg, v) for v in value) if isinstance(value, list) else _text(arg, value)
    if _CONTROL.search(text):
        raise InvalidParamsError(
            f"invalid argument {arg!r}: a header value cannot contain CR, LF or control characters", field=arg
        )
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        raise InvalidParamsError(f"invalid argument {arg!r}: a header value must be Latin-1 text", field=arg) from None
    return text


def _body(operation: Operation, arguments: Mapping[str, Any]) -> tuple[bytes | None, str | None]:
    if operation.body is None:
        return None, None
    value = fill(operation.body.template, arguments)
    if value is _ABSENT:
        return None, None
    media = operation.body.media_type
    bare = media.split(";")[0].strip().lower()
    if bare == "application/x-www-form-urlencoded":
        if not isinstance(value, dict):
            raise InvalidParamsError("a form body must be an object", field="body")
        return httpx2.QueryParams({k: _text(k, v) for k, v in value.items()}).__str__().encode(), media
    if bare.startswith("text/") and isinstance(value, str):
        return value.encode(), media
    return json.dumps(value, separators=(",", ":")).encode(), media


def fill(template: Any, arguments: Mapping[str, Any]) -> Any:
    """`template` with each {"$arg": name} replaced by that argument; absent arguments drop out."""
    if isinstance(template, dict):
        if set(template) == {ARG}:
            return arguments.get(str(template[ARG]), _ABSENT)
        filled = {k: fill(v, arguments) for k, v in template.items()}
        return {k: v for k, v in filled.items() if v is not _ABSENT}
    if isinstance(template, list):
        return [v for v in (fill(item, arguments) for item in template) if v is not _ABSENT]
    return template
