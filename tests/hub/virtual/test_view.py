"""build_view: selection globs, renames, descriptions, prefix modes and collisions, offline tools."""

from __future__ import annotations

from typing import Any

from hub.config.model import VirtualServerConfig
from hub.core.catalog import Catalog
from hub.virtual.view import build_view


def tool(name: str, description: str = "") -> dict[str, Any]:
    return {"name": name, "description": description or f"the {name} tool", "inputSchema": {"type": "object"}}


CATALOGS: dict[str, Catalog | None] = {
    "notes": Catalog(
        tools=(tool("add_note"), tool("get_note"), tool("list_notes")),
        resource_templates=({"uriTemplate": "notes://{title}", "name": "note"},),
        prompts=({"name": "summarize"},),
    ),
    "clock": Catalog(tools=(tool("now"), tool("add_days")), resources=({"uri": "clock://zones", "name": "zones"},)),
}


def view_of(**config: Any):
    return build_view(VirtualServerConfig.model_validate({"name": "vs", **config}), CATALOGS)


def test_globs_select_and_exclude_upstream_names() -> None:
    view = view_of(include=[{"upstream": "notes", "tools": ["*_note"], "exclude_tools": ["add_*"]}])
    assert list(view.tools) == ["get_note"]
    assert view.tools["get_note"].upstream == "notes"


def test_renames_and_descriptions_apply_to_the_exposed_item_only() -> None:
    view = view_of(
        include=[{"upstream": "notes", "rename": {"add_note": "remember"}, "descriptions": {"add_note": "Keep it."}}]
    )
    exposed = view.tools["remember"]
    assert exposed.original == "add_note"
    assert exposed.item["name"] == "remember"
    assert exposed.item["description"] == "Keep it."
    assert CATALOGS["notes"].tools[0]["name"] == "add_note"  # the catalog is untouched


def test_prefix_always() -> None:
    view = view_of(prefix="always", include=[{"upstream": "notes"}, {"upstream": "clock"}])
    assert sorted(view.tools) == [
        "clock__add_days",
        "clock__now",
        "notes__add_note",
        "notes__get_note",
        "notes__list_notes",
    ]
    assert list(view.prompts) == ["notes__summarize"]
    assert view.tools["clock__now"].original == "now"


def test_prefix_on_collision_prefixes_only_clashing_names() -> None:
    view = view_of(include=[{"upstream": "notes", "rename": {"list_notes": "now"}}, {"upstream": "clock"}])
    assert sorted(view.tools) == ["add_days", "add_note", "clock__now", "get_note", "notes__now"]
    assert view.problems == ()


def test_prefix_never_exposes_neither_side_of_a_clash_and_reports_it() -> None:
    view = view_of(
        prefix="never", include=[{"upstream": "notes", "rename": {"list_notes": "now"}}, {"upstream": "clock"}]
    )
    assert sorted(view.tools) == ["add_days", "add_note", "get_note"]
    [problem] = view.problems
    assert "'now'" in problem
    assert "notes:list_notes" in problem
    assert "clock:now" in problem


def test_a_custom_separator() -> None:
    view = view_of(prefix="always", separator=".", include=[{"upstream": "clock", "tools": ["now"]}])
    assert list(view.tools) == ["clock.now"]


def test_resources_and_templates_resolve_by_uri() -> None:
    view = view_of(include=[{"upstream": "notes"}, {"upstream": "clock"}])
    assert view.resolve_resource("clock://zones").upstream == "clock"
    assert view.resolve_resource("notes://groceries").upstream == "notes"
    assert view.resolve_resource("other://thing") is None


def test_an_upstream_without_a_catalog_is_unavailable_and_its_known_tools_offline() -> None:
    config = VirtualServerConfig.model_validate(
        {"name": "vs", "include": [{"upstream": "notes"}, {"upstream": "clock"}]}
    )
    up = build_view(config, CATALOGS)
    down = build_view(config, {**CATALOGS, "clock": None}, up)
    still_down = build_view(config, {**CATALOGS, "clock": None}, down)
    back = build_view(config, CATALOGS, still_down)
    assert down.unavailable == ("clock",)
    assert sorted(down.tools) == ["add_note", "get_note", "list_notes"]
    assert down.offline_tools == {"now": "clock", "add_days": "clock"}
    assert still_down.offline_tools == down.offline_tools
    assert back.offline_tools == {}
    assert "now" in back.tools
