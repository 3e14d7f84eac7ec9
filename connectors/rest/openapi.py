"""An OpenAPI 3.0/3.1 document's operations as REST tools.

Each operation becomes one tool: named from its operationId (or method and path), described by
its summary and description, with an input schema of its path, query and header parameters and
its request body. A JSON object body whose property names clash with no parameter is flattened
into the arguments; any other body is the single argument `body`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from connectors.rest.arguments import validator_for
from connectors.rest.operation import ARG, Body, Location, Operation, Param, tool_annotations
from connectors.rest.request import RESERVED_HEADERS
from connectors.rest.schema import Defs, SchemaCopier, SpecError
from hub.config.model import OpenApiConfig

if TYPE_CHECKING:
    from referencing._core import Resolver  # the type Registry.resolver() returns; not re-exported

log = logging.getLogger(__name__)

METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_./-]+")
_MEDIA_PREFERENCE = ("application/json", "+json", "application/x-www-form-urlencoded", "text/plain")


@dataclass(frozen=True, slots=True)
class _Source:
    path: str
    method: str
    operation: Mapping[str, Any]
    shared_params: list[Any]  # the path item's parameters


def read_operations(document: Any, uri: str, selection: OpenApiConfig) -> list[Operation]:
    """The selected operations of `document` (read from `uri`) as tools with unique names."""
    if not isinstance(document, Mapping):
        raise SpecError("the document is not a JSON/YAML object")
    version = str(document.get("openapi", ""))
    if not version.startswith(("3.0", "3.1")):
        raise SpecError(f"not an OpenAPI 3.0/3.1 document (openapi: {version or 'missing'!r})")
    copier = SchemaCopier(document, uri, dialect_30=version.startswith("3.0"))
    taken: set[str] = set()
    operations = []
    for source in _sources(document, copier):
        name = _unique(tool_name(source.operation.get("operationId"), source.method, source.path), taken)
        if not _selected(selection, source, name):
            continue
        try:
            operations.append(_operation(copier, source, name))
        except SpecError as exc:
            raise SpecError(f"{source.method.upper()} {source.path}: {exc}") from exc
        taken.add(name)
    return operations


def tool_name(operation_id: Any, method: str, path: str) -> str:
    """An MCP tool name (`^[A-Za-z0-9_./-]{1,128}$`) for an operation."""
    if operation_id:
        name = _UNSAFE_NAME.sub("_", str(operation_id)).strip("_")
    else:
        name = re.sub(r"[^A-Za-z0-9]+", "_", f"{method}_{path}").strip("_")
    return (name or method)[:128]


def server_url(document: Any, uri: str) -> str | None:
    """The document's first server URL with its variables at their defaults, made absolute against `uri`."""
    servers = document.get("servers") if isinstance(document, Mapping) else None
    if not isinstance(servers, list) or not servers or not isinstance(servers[0], Mapping):
        return None
    url = str(servers[0].get("url", ""))
    for name, variable in (servers[0].get("variables") or {}).items():
        url = url.replace("{" + str(name) + "}", str(variable.get("default", "")))
    if "://" in url:
        return url
    if uri.startswith(("http://", "https://")):
        return urljoin(uri, url)
    return None


def _sources(document: Mapping[str, Any], copier: SchemaCopier) -> Iterator[_Source]:
    paths = document.get("paths") or {}
    if not isinstance(paths, Mapping):
        raise SpecError("'paths' is not an object")
    for path, raw_item in paths.items():
        item, _ = copier.follow(raw_item)
        if not isinstance(item, Mapping):
            continue
        shared = list(item.get("parameters") or [])
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, Mapping):
                yield _Source(str(path), method, operation, shared)


def _selected(selection: OpenApiConfig, source: _Source, name: str) -> bool:
    tags = [str(t) for t in source.operation.get("tags") or []]
    ident = str(source.operation.get("operationId") or name)
    if selection.tags and not any(t in selection.tags for t in tags):
        return False
    return (
        not any(t in selection.exclude_tags for t in tags)
        and _any(selection.paths, source.path)
        and not _any(selection.exclude_paths, source.path)
        and (_any(selection.operations, ident) or _any(selection.operations, name))
        and not (_any(selection.exclude_operations, ident) or _any(selection.exclude_operations, name))
    )


def _any(globs: tuple[str, ...], value: str) -> bool:
    return any(fnmatchcase(value, g) for g in globs)


def _unique(name: str, taken: set[str]) -> str:
    n, candidate = 1, name
    while candidate in taken:
        n += 1
        suffix = f"_{n}"
        candidate = name[: 128 - len(suffix)] + suffix
    return candidate


@dataclass
class _Inputs:
    """The input schema being assembled for one operation."""

    defs: Defs
    properties: dict[str, Any]
    required: list[str]
    params: list[Param]


def _operation(copier: SchemaCopier, source: _Source, name: str) -> Operation:
    inputs = _Inputs(Defs(), {}, [], [])
    for param, resolver in _parameters(copier, source):
        _add_parameter(copier, inputs, param, resolver)
    body = _add_body(copier, inputs, source.operation.get("requestBody"))
    schema: dict[str, Any] = {"type": "object", "properties": inputs.properties, "additionalProperties": False}
    if inputs.required:
        schema["required"] = inputs.required
    if inputs.defs.schemas:
        schema["$defs"] = inputs.defs.schemas
    method = source.method.upper()
    tool: dict[str, Any] = {
        "name": name,
        "description": _description(source.operation, method, source.path),
        "inputSchema": schema,
        "annotations": tool_annotations(method),
    }
    if source.operation.get("summary"):
        tool["title"] = str(source.operation["summary"])
    try:
        validator = validator_for(schema)
    except Exception as exc:  # jsonschema's SchemaError, from a schema the document got wrong
        raise SpecError(f"the input schema is not valid JSON Schema: {str(exc).splitlines()[0]}") from exc
    return Operation(tool, method, source.path, tuple(inputs.params), body, validator)


def _parameters(copier: SchemaCopier, source: _Source) -> list[tuple[Mapping[str, Any], Resolver]]:
    """The operation's parameters, overriding the path item's with the same name and location."""
    merged: dict[tuple[str, str], tuple[Mapping[str, Any], Resolver]] = {}
    for raw in [*source.shared_params, *(source.operation.get("parameters") or [])]:
        param, resolver = copier.follow(raw)
        if not isinstance(param, Mapping) or "name" not in param or "in" not in param:
            raise SpecError("a parameter needs 'name' and 'in'")
        merged[(str(param["name"]), str(param["in"]))] = (param, resolver)
    return list(merged.values())


def _add_parameter(copier: SchemaCopier, inputs: _Inputs, param: Mapping[str, Any], resolver: Resolver) -> None:
    wire, location = str(param["name"]), str(param["in"])
    if location == "cookie" or (location == "header" and wire.lower() in RESERVED_HEADERS):
        return
    if location not in ("path", "query", "header"):
        raise SpecError(f"parameter {wire!r}: unknown location {location!r}")
    raw_schema = param.get("schema")
    if raw_schema is None and isinstance(param.get("content"), Mapping):
        media: Any = next(iter(param["content"].values()), {})
        raw_schema = media.get("schema") if isinstance(media, Mapping) else None
    schema = copier.copy(raw_schema if raw_schema is not None else {}, inputs.defs, resolver)
    if param.get("description") and isinstance(schema, dict) and "description" not in schema:
        schema = {**schema, "description": str(param["description"])}
    arg = wire if wire not in inputs.properties else f"{location}_{wire}"
    inputs.properties[arg] = schema
    if location == "path" or param.get("required") is True:
        inputs.required.append(arg)
    inputs.params.append(Param(arg, wire, _location(location)))


def _location(value: str) -> Location:
    return "path" if value == "path" else "query" if value == "query" else "header"


def _add_body(copier: SchemaCopier, inputs: _Inputs, raw: Any) -> Body | None:
    if raw is None:
        return None
    request_body, resolver = copier.follow(raw)
    content = request_body.get("content") if isinstance(request_body, Mapping) else None
    if not isinstance(content, Mapping) or not content:
        return None
    media = _pick_media(content)
    if media is None:
        raise SpecError(f"no supported request body media type among {sorted(content)}")
    raw_schema = (content[media] or {}).get("schema", {})
    schema, schema_resolver = copier.follow(raw_schema, resolver)
    required = request_body.get("required") is True
    properties = schema.get("properties") if isinstance(schema, Mapping) else None
    flat = (
        isinstance(properties, Mapping)
        and properties
        and not any(k in schema for k in ("allOf", "anyOf", "oneOf", "$ref"))
        and not set(properties) & set(inputs.properties)
    )
    if flat and isinstance(properties, Mapping):
        for prop, prop_schema in properties.items():
            inputs.properties[str(prop)] = copier.copy(prop_schema, inputs.defs, schema_resolver)
        if required:
            inputs.required.extend(str(r) for r in schema.get("required") or [] if r in properties)
        return Body(media, {str(prop): {ARG: str(prop)} for prop in properties})
    arg = "body" if "body" not in inputs.properties else "request_body"
    inputs.properties[arg] = copier.copy(raw_schema, inputs.defs, resolver)
    if required:
        inputs.required.append(arg)
    return Body(media, {ARG: arg})


def _pick_media(content: Mapping[str, Any]) -> str | None:
    types = [str(t) for t in content]
    for preferred in _MEDIA_PREFERENCE:
        for media in types:
            bare = media.split(";")[0].strip().lower()
            if bare == preferred or (preferred == "+json" and bare.endswith("+json")):
                return media
    return None


def _description(operation: Mapping[str, Any], method: str, path: str) -> str:
    parts = [str(operation[k]).strip() for k in ("summary", "description") if operation.get(k)]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts.pop()
    return "\n\n".join(parts) or f"{method} {path}"
