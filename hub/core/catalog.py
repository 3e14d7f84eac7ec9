"""What an upstream offers: its tools, resources, resource templates and prompts, as wire dicts.

Items are kept in their wire form (camelCase JSON objects) so that every field an upstream sends,
including ones newer than this hub, reaches the agent unchanged apart from the renames a virtual
server asks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ItemKind = Literal["tool", "resource", "resource_template", "prompt"]
WireItem = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Catalog:
    tools: tuple[WireItem, ...] = ()
    resources: tuple[WireItem, ...] = ()
    resource_templates: tuple[WireItem, ...] = ()
    prompts: tuple[WireItem, ...] = ()

    def items(self, kind: ItemKind) -> tuple[WireItem, ...]:
        return {
            "tool": self.tools,
            "resource": self.resources,
            "resource_template": self.resource_templates,
            "prompt": self.prompts,
        }[kind]


def item_key(kind: ItemKind, item: WireItem) -> str:
    """The upstream's own identifier of an item: a name, a URI or a URI template."""
    if kind == "resource":
        return str(item["uri"])
    if kind == "resource_template":
        return str(item["uriTemplate"])
    return str(item["name"])
