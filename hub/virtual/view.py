"""What one virtual server exposes, computed from its config and its upstreams' catalogs.

A View is immutable and rebuilt whenever a catalog or the server's config changes, so list
requests are a dictionary read and calls resolve their target in one lookup.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from hub.config.model import TOOL_NAME_RE, SelectionConfig, VirtualServerConfig
from hub.core.catalog import Catalog, ItemKind, WireItem, item_key
from hub.virtual.uri_match import template_matches

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Exposed:
    """One item as an agent sees it, and where it really lives."""

    upstream: str
    original: str  # the upstream's name, URI or URI template
    item: WireItem  # the wire object, renamed and re-described


@dataclass(frozen=True, slots=True)
class View:
    name: str
    description: str
    tools: Mapping[str, Exposed] = field(default_factory=dict)
    prompts: Mapping[str, Exposed] = field(default_factory=dict)
    resources: Mapping[str, Exposed] = field(default_factory=dict)
    templates: tuple[Exposed, ...] = ()
    unavailable: tuple[str, ...] = ()  # upstreams whose items are missing right now
    offline_tools: Mapping[str, str] = field(default_factory=dict)  # exposed name -> its upstream, down right now
    problems: tuple[str, ...] = ()  # e.g. name collisions, for health and the log

    def resolve_resource(self, uri: str) -> Exposed | None:
        exact = self.resources.get(uri)
        if exact is not None:
            return exact
        for template in self.templates:
            if template_matches(template.original, uri):
                return template
        return None

    def upstreams(self) -> set[str]:
        return {e.upstream for e in (*self.tools.values(), *self.prompts.values(), *self.resources.values())} | {
            e.upstream for e in self.templates
        }


def build_view(
    config: VirtualServerConfig, catalogs: Mapping[str, Catalog | None], previous: View | None = None
) -> View:
    """What `config` exposes now; `previous` tells which tool names belong to upstreams that went down."""
    unavailable: list[str] = []
    picked: dict[ItemKind, list[tuple[SelectionConfig, str, WireItem]]] = {
        "tool": [],
        "prompt": [],
        "resource": [],
        "resource_template": [],
    }
    for selection in config.include:
        catalog = catalogs.get(selection.upstream)
        if catalog is None:
            unavailable.append(selection.upstream)
            continue
        for kind, bucket in picked.items():
            for item in catalog.items(kind):
                key = item_key(kind, item)
                if _selected(selection, kind, key):
                    bucket.append((selection, key, item))
    problems: list[str] = []
    tools = _name_items(config, picked["tool"], problems, "tool")
    prompts = _name_items(config, picked["prompt"], problems, "prompt")
    resources: dict[str, Exposed] = {}
    for selection, uri, item in picked["resource"]:
        if uri in resources:
            problems.append(
                f"resource {uri!r} is offered by both {resources[uri].upstream!r} and {selection.upstream!r};"
                f" {resources[uri].upstream!r} serves it"
            )
            continue
        resources[uri] = Exposed(selection.upstream, uri, _described(item, selection.descriptions.get(uri)))
    templates = tuple(
        Exposed(sel.upstream, key, _described(item, sel.descriptions.get(key)))
        for sel, key, item in picked["resource_template"]
    )
    for problem in problems:
        log.warning("virtual.collision", extra={"server": config.name, "problem": problem})
    offline = _offline_tools(previous, set(unavailable)) if previous is not None else {}
    return View(
        name=config.name,
        description=config.description,
        tools=tools,
        prompts=prompts,
        resources=resources,
        templates=templates,
        unavailable=tuple(unavailable),
        problems=tuple(problems),
        offline_tools={name: upstream for name, upstream in offline.items() if name not in tools},
    )


def _offline_tools(previous: View, down: set[str]) -> dict[str, str]:
    """Tool names the previous view exposed (or already knew as offline) from upstreams now down."""
    known = {name: e.upstream for name, e in previous.tools.items()} | dict(previous.offline_tools)
    return {name: upstream for name, upstream in known.items() if upstream in down}


def _selected(selection: SelectionConfig, kind: ItemKind, key: str) -> bool:
    if kind == "tool":
        include, exclude = selection.tools, selection.exclude_tools
    elif kind == "prompt":
        include, exclude = selection.prompts, selection.exclude_prompts
    else:
        include, exclude = selection.resources, selection.exclude_resources
    return any(fnmatchcase(key, p) for p in include) and not any(fnmatchcase(key, p) for p in exclude)


def _name_items(
    config: VirtualServerConfig,
    items: list[tuple[SelectionConfig, str, WireItem]],
    problems: list[str],
    what: str,
) -> dict[str, Exposed]:
    """Give every item its exposed name, by the server's prefix mode; report collisions."""
    base_names = [sel.rename.get(original, original) for sel, original, _ in items]
    counts: dict[str, int] = {}
    for base in base_names:
        counts[base] = counts.get(base, 0) + 1
    exposed: dict[str, Exposed] = {}
    clashed: set[str] = set()
    for (selection, original, item), base in zip(items, base_names, strict=True):
        prefixed = config.prefix == "always" or (config.prefix == "on_collision" and counts[base] > 1)
        name = f"{selection.upstream}{config.separator}{base}" if prefixed else base
        if not TOOL_NAME_RE.match(name):
            problems.append(
                f"{what} {original!r} of {selection.upstream!r} would be exposed as {name!r}, not a valid name"
            )
            continue
        if name in exposed or name in clashed:
            if name in exposed:
                other = exposed.pop(name)
                problems.append(
                    f"{what} name {name!r} is claimed by {other.upstream}:{other.original} and"
                    f" {selection.upstream}:{original}; neither is exposed (rename one, or use prefix mode)"
                )
            clashed.add(name)
            continue
        wire: dict[str, Any] = dict(item)
        wire["name"] = name
        exposed[name] = Exposed(selection.upstream, original, _described(wire, selection.descriptions.get(original)))
    return exposed


def _described(item: WireItem, description: str | None) -> WireItem:
    if description is None:
        return item
    wire = dict(item)
    wire["description"] = description
    return wire
