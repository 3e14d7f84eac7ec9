"""The admin API's OpenAPI 3.1 document, built from the routes and their pydantic models."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from hub.admin.http import Operation
from hub.admin.schemas import ErrorOut

_PARAM = re.compile(r"\{(\w+)\}")
_REF = "#/components/schemas/{model}"
_ERROR = TypeAdapter(ErrorOut)
_DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    204: "Done; no body",
    401: "Missing or invalid admin token",
    404: "Not defined (or the admin API is disabled)",
    409: "In use, exists already, or ambiguous",
    422: "The body is invalid; `errors` lists each field path",
}


def openapi_document(operations: Sequence[Operation], version: str) -> dict[str, Any]:
    adapters = _adapters(operations)
    inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = [
        (key, "validation", adapter) for key, adapter in adapters.items()
    ]
    schemas, definitions = TypeAdapter.json_schemas(inputs, ref_template=_REF)

    def schema_of(adapter: TypeAdapter[Any]) -> dict[str, Any]:
        return schemas[(id(adapter), "validation")]

    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schema_of)
    return {
        "openapi": "3.1.0",
        "info": {"title": "hub admin API", "version": version},
        "servers": [{"url": "/admin"}],
        "security": [{"adminToken": []}],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer", "description": "server.admin_token"}
            },
        },
    }


def _adapters(operations: Sequence[Operation]) -> dict[int, TypeAdapter[Any]]:
    found: dict[int, TypeAdapter[Any]] = {id(_ERROR): _ERROR}
    for op in operations:
        for adapter in (op.body, op.response):
            if adapter is not None:
                found[id(adapter)] = adapter
    return found


def _operation(op: Operation, schema_of: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": _operation_id(op),
        "summary": op.summary,
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(op.path)
        ]
        + _query_parameters(op.query),
        "responses": {},
    }
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of(op.body)}}}
    ok: dict[str, Any] = {"description": _DESCRIPTIONS.get(op.status, "OK")}
    if op.response is not None:
        ok["content"] = {op.media_type: {"schema": schema_of(op.response)}}
    elif op.media_type != "application/json":
        ok["content"] = {op.media_type: {"schema": {"type": "string"}}}
    out["responses"][str(op.status)] = ok
    for status in op.errors:
        out["responses"][str(status)] = {
            "description": _DESCRIPTIONS[status],
            "content": {"application/json": {"schema": schema_of(_ERROR)}},
        }
    return out


def _query_parameters(query: TypeAdapter[Any] | None) -> list[dict[str, Any]]:
    """One OpenAPI parameter per field of a flat query model (plain values: no references to resolve)."""
    if query is None:
        return []
    schema = query.json_schema()
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            param["description"] = prop["description"]
        param["schema"] = {k: v for k, v in prop.items() if k not in ("title", "description")}
        out.append(param)
    return out


def _operation_id(op: Operation) -> str:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", op.path) if w]
    return "_".join([op.method.lower(), *words])
