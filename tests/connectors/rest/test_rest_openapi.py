"""OpenAPI operations as tools: names, descriptions, input schemas, $refs (shared, nested, recursive), selection."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.rest.arguments import check_arguments
from connectors.rest.openapi import read_operations, server_url, tool_name
from connectors.rest.operation import Operation
from connectors.rest.schema import SpecError
from hub.config.model import OpenApiConfig
from hub.errors import InvalidParamsError

URI = "https://api.example.test/openapi.json"
ALL = OpenApiConfig(source=URI)


def document(paths: dict[str, Any], version: str = "3.1.0", **components: Any) -> dict[str, Any]:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths, "components": components}


def one(doc: dict[str, Any], selection: OpenApiConfig = ALL) -> Operation:
    operations = read_operations(doc, URI, selection)
    assert len(operations) == 1
    return operations[0]


PETS = document(
    {
        "/pets/{petId}": {
            "parameters": [{"name": "petId", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {
                "operationId": "showPet",
                "summary": "Info for a pet",
                "description": "Longer words.",
                "tags": ["pets"],
                "parameters": [
                    {"name": "fields", "in": "query", "schema": {"type": "string", "enum": ["all", "short"]}},
                    {"name": "X-Request-Id", "in": "header", "required": True, "schema": {"type": "string"}},
                    {"name": "Accept", "in": "header", "schema": {"type": "string"}},
                    {"name": "Host", "in": "header", "schema": {"type": "string"}},
                    {"name": "Content-Length", "in": "header", "schema": {"type": "string"}},
                    {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                ],
            },
            "put": {
                "tags": ["pets", "write"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                },
            },
        },
        "/tree": {
            "post": {
                "operationId": "plant",
                "tags": ["trees"],
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Node"}}}},
            }
        },
    },
    schemas={
        "Pet": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "owner": {"$ref": "#/components/schemas/Person"},
                "status": {"type": "string", "enum": ["available", "sold"], "default": "available"},
            },
        },
        "Person": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "pet": {"$ref": "#/components/schemas/Pet"}},
        },
        "Node": {
            "type": "object",
            "properties": {
                "label": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
            },
        },
    },
)


def test_an_operation_becomes_a_tool_with_its_parameters() -> None:
    op = one(PETS, OpenApiConfig(source=URI, operations=["showPet"]))
    assert op.name == "showPet"
    assert op.tool["description"] == "Info for a pet\n\nLonger words."
    assert op.tool["annotations"]["readOnlyHint"] is True
    schema = op.tool["inputSchema"]
    assert set(schema["properties"]) == {"petId", "fields", "X-Request-Id"}  # reserved headers, cookies: not arguments
    assert sorted(schema["required"]) == ["X-Request-Id", "petId"]
    assert schema["properties"]["fields"]["enum"] == ["all", "short"]
    assert schema["additionalProperties"] is False
    assert {(p.arg, p.location) for p in op.params} == {
        ("petId", "path"),
        ("fields", "query"),
        ("X-Request-Id", "header"),
    }


def test_a_body_object_is_flattened_and_shared_refs_become_defs() -> None:
    op = one(PETS, OpenApiConfig(source=URI, tags=["write"]))
    assert op.name == "put_pets_petId"  # no operationId: method and path, sanitized
    schema = op.tool["inputSchema"]
    assert set(schema["properties"]) == {"petId", "name", "owner", "status"}
    assert sorted(schema["required"]) == ["name", "petId"]
    assert schema["properties"]["status"]["default"] == "available"
    # Person refers back to Pet: both are defs, referenced, never expanded without end.
    assert schema["properties"]["owner"] == {"$ref": "#/$defs/Person"}
    assert schema["$defs"]["Person"]["properties"]["pet"] == {"$ref": "#/$defs/Pet"}
    assert schema["$defs"]["Pet"]["properties"]["owner"] == {"$ref": "#/$defs/Person"}
    assert op.body is not None
    assert op.body.template == {
        "name": {"$arg": "name"},
        "owner": {"$arg": "owner"},
        "status": {"$arg": "status"},
    }


def test_a_recursive_body_stays_a_reference_and_still_validates() -> None:
    op = one(PETS, OpenApiConfig(source=URI, tags=["trees"]))
    schema = op.tool["inputSchema"]
    assert schema["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    assert schema["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}
    deep = {"label": "a", "children": [{"label": "b", "children": [{"label": "c", "children": []}]}]}
    assert check_arguments(op.name, op.validator, deep) == deep
    with pytest.raises(InvalidParamsError) as bad:
        check_arguments(op.name, op.validator, {"children": [{"children": [{"label": 3}]}]})
    assert bad.value.data["field"] == "children.0.children.0.label"


def test_selection_by_tag_path_and_operation() -> None:
    def names(**selection: Any) -> list[str]:
        return sorted(op.name for op in read_operations(PETS, URI, OpenApiConfig(source=URI, **selection)))

    assert names() == ["plant", "put_pets_petId", "showPet"]
    assert names(tags=["pets"], exclude_tags=["write"]) == ["showPet"]
    assert names(paths=["/pets/*"]) == ["put_pets_petId", "showPet"]
    assert names(exclude_paths=["/pets/*"]) == ["plant"]
    assert names(operations=["show*", "plant"]) == ["plant", "showPet"]
    assert names(exclude_operations=["put_*"]) == ["plant", "showPet"]


def test_openapi_30_nullable_and_exclusive_bounds_become_2020_12() -> None:
    doc = document(
        {
            "/n": {
                "get": {
                    "operationId": "n",
                    "parameters": [
                        {
                            "name": "a",
                            "in": "query",
                            "schema": {"type": "integer", "nullable": True, "minimum": 0, "exclusiveMinimum": True},
                        },
                        {"$ref": "#/components/parameters/B"},
                    ],
                }
            }
        },
        version="3.0.3",
        parameters={"B": {"name": "b", "in": "query", "required": True, "schema": {"type": "string", "example": "x"}}},
    )
    op = one(doc)
    props = op.tool["inputSchema"]["properties"]
    assert props["a"] == {"type": ["integer", "null"], "exclusiveMinimum": 0}
    assert props["b"] == {"type": "string", "examples": ["x"]}
    assert op.tool["inputSchema"]["required"] == ["b"]
    with pytest.raises(InvalidParamsError) as bad:
        check_arguments("n", op.validator, {"a": 0, "b": "x"})
    assert bad.value.data["field"] == "a"
    assert "must be > 0" in bad.value.message


def test_a_non_object_body_is_one_body_argument() -> None:
    doc = document(
        {
            "/bulk": {
                "post": {
                    "operationId": "bulk",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "integer"}}}},
                    },
                }
            }
        }
    )
    op = one(doc)
    assert op.tool["inputSchema"]["properties"] == {"body": {"type": "array", "items": {"type": "integer"}}}
    assert op.tool["inputSchema"]["required"] == ["body"]
    assert op.body is not None
    assert op.body.template == {"$arg": "body"}


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "expected"),
    [
        ("listPets", "get", "/pets", "listPets"),
        ("pets list (v2)!", "get", "/pets", "pets_list_v2"),
        (None, "delete", "/pets/{id}/tags", "delete_pets_id_tags"),
        ("x" * 300, "get", "/", "x" * 128),
    ],
)
def test_tool_names_follow_the_mcp_rule(operation_id: Any, method: str, path: str, expected: str) -> None:
    assert tool_name(operation_id, method, path) == expected


def test_duplicate_names_get_a_suffix() -> None:
    doc = document({"/a": {"get": {"operationId": "same"}}, "/b": {"get": {"operationId": "same"}}})
    assert [op.name for op in read_operations(doc, URI, ALL)] == ["same", "same_2"]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"swagger": "2.0"}, "not an OpenAPI 3.0/3.1 document"),
        (
            document({"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/Missing"}]}}}),
            "cannot resolve $ref",
        ),
        (document({"/a": {"get": {"parameters": [{"$ref": "other.yaml#/X"}]}}}), "cannot resolve $ref"),
        (
            document({"/a": {"post": {"requestBody": {"content": {"multipart/form-data": {"schema": {}}}}}}}),
            "no supported request body",
        ),
        (
            document(
                {"/a": {"get": {"parameters": [{"$ref": "#/components/parameters/L"}]}}},
                parameters={"L": {"$ref": "#/components/parameters/L"}},
            ),
            "chain longer",
        ),
    ],
)
def test_a_broken_document_is_reported(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("$", r"\$")):
        read_operations(doc, URI, ALL)


def test_server_url_uses_variables_and_the_document_url() -> None:
    templated = {"servers": [{"url": "https://{region}.example.test/v1", "variables": {"region": {"default": "eu"}}}]}
    assert server_url(templated, URI) == "https://eu.example.test/v1"
    assert server_url({"servers": [{"url": "/v2"}]}, URI) == "https://api.example.test/v2"
    assert server_url({"servers": [{"url": "/v2"}]}, "file:///tmp/openapi.json") is None
    assert server_url({}, URI) is None
