"""Read an upstream's whole catalog (every page of every list it supports) in wire form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client
from pydantic import BaseModel

from hub.core.catalog import Catalog, WireItem

_MAX_PAGES = 100


async def read_catalog(client: Client) -> Catalog:
    caps = client.server_capabilities
    tools: tuple[WireItem, ...] = ()
    resources: tuple[WireItem, ...] = ()
    templates: tuple[WireItem, ...] = ()
    prompts: tuple[WireItem, ...] = ()
    if caps.tools is not None:
        tools = await _all_pages(client.list_tools, "tools")
    if caps.resources is not None:
        resources = await _all_pages(client.list_resources, "resources")
        templates = await _all_pages(client.list_resource_templates, "resourceTemplates")
    if caps.prompts is not None:
        prompts = await _all_pages(client.list_prompts, "prompts")
    return Catalog(
        tools=tools,
        resources=resources,
        resource_templates=templates,
        prompts=prompts,
    )


async def _all_pages(fetch: Callable[..., Awaitable[BaseModel]], field: str) -> tuple[WireItem, ...]:
    items: list[WireItem] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page: dict[str, Any] = (await fetch(cursor=cursor, cache_mode="bypass")).model_dump(
            by_alias=True, mode="json", exclude_none=True
        )
        items.extend(page.get(field, []))
        cursor = page.get("nextCursor")
        if not cursor:
            break
    return tuple(items)
