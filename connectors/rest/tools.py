"""Hand-written REST tools (for services without an OpenAPI document) as operations."""

from __future__ import annotations

import re

from jsonschema.exceptions import SchemaError

from connectors.rest.arguments import validator_for
from connectors.rest.operation import ARG, Body, Operation, Param, tool_annotations
from connectors.rest.request import RESERVED_HEADERS
from hub.config.model import RestToolConfig
from hub.errors import ConfigError

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_BODY_METHODS = ("POST", "PUT", "PATCH")


def operation_for(tool: RestToolConfig) -> Operation:
    schema = dict(tool.parameters)
    schema.setdefault("type", "object")
    try:
        validator = validator_for(schema)
    except SchemaError as exc:
        raise ConfigError(f"tool {tool.name!r}: parameters is not a valid JSON Schema: {exc.message}") from exc
    reserved = sorted(h for h in tool.headers if h.lower() in RESERVED_HEADERS)
    if reserved:
        raise ConfigError(f"tool {tool.name!r}: arguments cannot set the {reserved[0]} header")
    path_args = _PLACEHOLDER.findall(tool.path)
    params = [Param(arg, arg, "path") for arg in path_args]
    params += [Param(arg, arg, "query") for arg in tool.query]
    params += [Param(arg, header, "header") for header, arg in tool.headers.items()]
    body = None
    if tool.body is not None:
        body = Body("application/json", tool.body)
    elif tool.method in _BODY_METHODS:
        used = {p.arg for p in params}
        rest = [name for name in schema.get("properties", {}) if name not in used]
        body = Body("application/json", {name: {ARG: name} for name in rest})
    wire = {
        "name": tool.name,
        "description": tool.description or f"{tool.method} {tool.path}",
        "inputSchema": schema,
        "annotations": tool_annotations(tool.method),
    }
    return Operation(wire, tool.method, tool.path, tuple(params), body, validator, tool.response)
