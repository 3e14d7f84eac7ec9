"""A small legacy REST service with an OpenAPI document: the example's purchasing system.

    python examples/legacy/purchasing_api.py             # serves http://127.0.0.1:8940/api
    python examples/legacy/purchasing_api.py --port 0    # any free port

Once it accepts connections it prints `LISTENING http://127.0.0.1:<port>`. The document is at
`/api/openapi.json`; its server is `/api`. Suppliers are fixed; purchase orders live in memory.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "servers"))
from _http_support import serve_http  # the example servers' LISTENING helper

DEFAULT_PORT = 8940

SUPPLIERS = {
    "acme": {"id": "acme", "name": "ACME Fasteners", "lead_time_days": 3},
    "globex": {"id": "globex", "name": "Globex Tools", "lead_time_days": 7},
}
ORDERS: dict[int, dict[str, Any]] = {}
_order_ids = itertools.count(1001)

_SUPPLIER = {
    "type": "object",
    "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "lead_time_days": {"type": "integer"}},
}
_ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "supplier_id": {"type": "string"},
        "sku": {"type": "string"},
        "quantity": {"type": "integer"},
        "status": {"type": "string"},
    },
}
_NOT_FOUND = {"description": "no such item"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "Purchasing", "version": "1.0.0"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/suppliers": {
            "get": {
                "operationId": "listSuppliers",
                "summary": "List the suppliers we buy from",
                "responses": {"200": _json("suppliers", {"type": "array", "items": _SUPPLIER})},
            }
        },
        "/suppliers/{supplier_id}": {
            "get": {
                "operationId": "getSupplier",
                "summary": "One supplier, with its lead time in days",
                "parameters": [{"name": "supplier_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json("the supplier", _SUPPLIER), "404": _NOT_FOUND},
            }
        },
        "/orders": {
            "post": {
                "operationId": "createPurchaseOrder",
                "summary": "Order stock from a supplier",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["supplier_id", "sku", "quantity"],
                                "properties": {
                                    "supplier_id": {"type": "string"},
                                    "sku": {"type": "string"},
                                    "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
                                },
                            }
                        }
                    },
                },
                "responses": {"201": _json("the new order", _ORDER), "404": _NOT_FOUND},
            }
        },
        "/orders/{order_id}": {
            "get": {
                "operationId": "getPurchaseOrder",
                "summary": "A purchase order and its status",
                "parameters": [{"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _json("the order", _ORDER), "404": _NOT_FOUND},
            }
        },
    },
}


async def document(request: Request) -> JSONResponse:
    return JSONResponse(DOCUMENT)


async def list_suppliers(request: Request) -> JSONResponse:
    return JSONResponse(list(SUPPLIERS.values()))


async def get_supplier(request: Request) -> JSONResponse:
    supplier = SUPPLIERS.get(request.path_params["supplier_id"])
    if supplier is None:
        return JSONResponse({"error": "no such supplier"}, status_code=404)
    return JSONResponse(supplier)


async def create_order(request: Request) -> JSONResponse:
    body = await request.json()
    if not isinstance(body, dict) or body.get("supplier_id") not in SUPPLIERS:
        return JSONResponse({"error": "no such supplier"}, status_code=404)
    order = {
        "id": next(_order_ids),
        "supplier_id": body["supplier_id"],
        "sku": str(body.get("sku", "")),
        "quantity": int(body.get("quantity", 0)),
        "status": "placed",
    }
    ORDERS[order["id"]] = order
    return JSONResponse(order, status_code=201)


async def get_order(request: Request) -> JSONResponse:
    try:
        order = ORDERS.get(int(request.path_params["order_id"]))
    except ValueError:
        order = None
    if order is None:
        return JSONResponse({"error": "no such order"}, status_code=404)
    return JSONResponse(order)


app = Starlette(
    routes=[
        Mount(
            "/api",
            routes=[
                Route("/openapi.json", document),
                Route("/suppliers", list_suppliers),
                Route("/suppliers/{supplier_id}", get_supplier),
                Route("/orders", create_order, methods=["POST"]),
                Route("/orders/{order_id}", get_order),
            ],
        )
    ]
)


def main() -> None:
    parser = argparse.ArgumentParser(description="The example's purchasing REST service.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    args = parser.parse_args()
    anyio.run(lambda: serve_http(app, host=args.host, port=args.port, path=""))


if __name__ == "__main__":
    main()
