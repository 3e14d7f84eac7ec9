"""One REST tool: the MCP tool an agent sees, and the request template its arguments fill."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from jsonschema.protocols import Validator

Location = Literal["path", "query", "header"]
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
ARG = "$arg"  # a body template's {"$arg": "name"} stands for that argument's value


@dataclass(frozen=True, slots=True)
class Param:
    """Where one argument goes on the wire."""

    arg: str  # the argument's name in the tool's input
    wire: str  # the path placeholder, query key or header name
    location: Location


@dataclass(frozen=True, slots=True)
class Body:
    media_type: str  # application/json, application/x-www-form-urlencoded, or a text type
    template: Any  # JSON value; {"$arg": name} is replaced by that argument (dropped when absent)


@dataclass(frozen=True, slots=True)
class Operation:
    tool: dict[str, Any]  # the MCP tool as listed: name, description, inputSchema, tool_annotations
    method: str
    path: str  # relative to the base URL; "{wire}" placeholders each fill part of one segment
    params: tuple[Param, ...]
    body: Body | None
    validator: Validator  # checks arguments against tool["inputSchema"]
    response: str = ""  # JSON pointer selecting the part of a JSON response to return

    @property
    def name(self) -> str:
        return str(self.tool["name"])

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT


def tool_annotations(method: str) -> dict[str, bool]:
    """MCP tool hints that follow from the HTTP method's semantics."""
    return {
        "readOnlyHint": method in ("GET", "HEAD", "OPTIONS"),
        "destructiveHint": method == "DELETE",
        "idempotentHint": method in IDEMPOTENT,
        "openWorldHint": True,
    }
