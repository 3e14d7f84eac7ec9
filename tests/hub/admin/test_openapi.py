"""/admin/openapi.json: an OpenAPI 3.1 document of every admin route, its bodies and answers."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from jsonschema import Draft202012Validator

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_the_document_describes_every_route_and_resolves(running, admin_client, notes_upstream) -> None:
    with anyio.fail_after(TIMEOUT):
        async with admin_client(running, token=None) as anonymous:
            response = await anonymous.get("/openapi.json")
    assert response.status_code == 200  # no token needed: it describes the API and holds no secrets
    doc = response.json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {
        "/upstreams",
        "/upstreams/{name}",
        "/upstreams/{name}/health",
        "/virtual_servers",
        "/teams",
        "/teams/{name}",
        "/limits",
        "/limits/{name}",
        "/virtual_servers/{name}",
        "/agents",
        "/agents/{name}",
        "/agents/{name}/keys",
        "/agents/{name}/keys/{key_id}",
        "/agents/{name}/keys/{key_id}/rotate",
        "/audit",
        "/audit/export",
        "/llm/usage",
    }
    assert set(doc["paths"]["/upstreams/{name}"]) == {"get", "put", "delete"}
    audit_params = {p["name"]: p for p in doc["paths"]["/audit"]["get"]["parameters"]}
    assert {"agent", "tool", "outcome", "since", "until", "cursor", "limit"} <= set(audit_params)
    assert all(p["in"] == "query" and not p["required"] for p in audit_params.values())
    assert "application/x-ndjson" in doc["paths"]["/audit/export"]["get"]["responses"]["200"]["content"]
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    body = doc["paths"]["/upstreams"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**body, "components": doc["components"]})
    assert validator.is_valid(notes_upstream())
    assert not validator.is_valid({"name": "x", "kind": "carrier-pigeon"})
