"""A virtual server composed of a stdio, a Streamable HTTP and a legacy SSE upstream, over every agent transport.

Each test runs over every transport and protocol era in `TRANSPORTS` (the `connect` fixture).
"""

from __future__ import annotations

import anyio
import pytest
from mcp_types import (
    SERVER_INFO_META_KEY,
    CallToolResult,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    TextResourceContents,
)

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


def text_of(result: CallToolResult) -> str:
    assert not result.is_error, result
    [block] = result.content
    assert isinstance(block, TextContent)
    return block.text


async def test_tools_are_listed_renamed_redescribed_and_selected(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
    assert sorted(tools) == [
        "get_note",
        "now",
        "remember",  # notes' add_note, renamed
        "test_simple_text",
        "test_tool_with_progress",
    ]  # list_notes excluded, clock's add_days not included, everything's other tools not matched
    assert tools["get_note"].description == "Read one note."
    assert tools["remember"].description == "Save a note under `title`, replacing any note already filed under it."
    assert set(tools["remember"].input_schema["properties"]) == {"title", "text"}


async def test_tools_are_called_on_every_upstream(catalog_hub, connect, keys, transport) -> None:
    title = f"from-{transport}"
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            added = await client.call_tool("remember", {"title": title, "text": "hello"})  # stdio upstream
            note = await client.call_tool("get_note", {"title": title})
            now = await client.call_tool("now", {"tz": "UTC"})  # Streamable HTTP upstream
            simple = await client.call_tool("test_simple_text", {})  # SSE upstream
            failed = await client.call_tool("get_note", {"title": "no such note"})
    assert text_of(added) == f"Added note {title!r}."
    assert text_of(note) == "hello"
    assert text_of(now).endswith("+00:00")
    assert text_of(simple) == "This is a simple text response for testing."
    assert failed.is_error  # an upstream tool that ran and failed is a result, passed through
    assert "No note titled 'no such note'" in str(failed.content[0])


async def test_progress_reaches_the_caller(catalog_hub, connect, keys) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            result = await client.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    assert text_of(result) == "Tool with progress executed successfully"
    assert [p for p, _, _ in seen] == [0, 50, 100]


async def test_resources_and_templates_are_listed_and_read(catalog_hub, connect, keys, transport) -> None:
    title = f"res-{transport}"
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            resources = [r.uri for r in (await client.list_resources()).resources]
            templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
            await client.call_tool("remember", {"title": title, "text": "as a resource"})
            static = await client.read_resource("test://static-text")
            templated = await client.read_resource("test://template/42/data")
            note = await client.read_resource(f"notes://{title}")
    assert resources == ["test://static-text"]
    assert sorted(templates) == ["notes://{title}", "test://template/{id}/data"]
    [static_contents] = static.contents
    assert isinstance(static_contents, TextResourceContents)
    assert static_contents.text == "This is the content of the static text resource."
    [templated_contents] = templated.contents
    assert isinstance(templated_contents, TextResourceContents)
    assert '"id": "42"' in templated_contents.text
    [note_contents] = note.contents
    assert isinstance(note_contents, TextResourceContents)
    assert note_contents.text == "as a resource"


async def test_prompts_are_listed_and_got(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            prompts = sorted(p.name for p in (await client.list_prompts()).prompts)
            got = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
            summary = await client.get_prompt("summarize_notes")
    assert prompts == ["summarize_notes", "test_prompt_with_arguments"]
    [message] = got.messages
    assert isinstance(message.content, TextContent)
    assert message.content.text == "Prompt with arguments: arg1='a', arg2='b'"
    assert summary.messages


async def test_completion_passes_through(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            for_prompt = await client.complete(
                PromptReference(type="ref/prompt", name="test_prompt_with_arguments"), {"name": "arg1", "value": "pa"}
            )
            for_template = await client.complete(
                ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data"),
                {"name": "id", "value": "4"},
            )
    assert for_prompt.completion.values == ["paris", "park", "party"]
    assert for_template.completion.values == ["456"]


async def test_prefix_always_prefixes_every_name(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "prefixed", keys.alice) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            prompts = sorted(p.name for p in (await client.list_prompts()).prompts)
            now = await client.call_tool("clock__now", {})
    assert tools == ["clock__add_days", "clock__now", "notes__add_note", "notes__get_note", "notes__list_notes"]
    assert prompts == ["notes__summarize_notes"]
    assert text_of(now).endswith("+00:00")


async def test_prefix_on_collision_prefixes_only_the_clashing_names(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "collide", keys.alice) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
            listed = await client.call_tool("notes__now", {})  # notes' list_notes, renamed to `now`
            now = await client.call_tool("clock__now", {})
    assert tools == ["add_days", "add_note", "clock__now", "get_note", "notes__now"]
    assert listed.structured_content is not None
    assert "result" in listed.structured_content
    assert text_of(now).endswith("+00:00")


async def test_prefix_never_exposes_neither_side_of_a_clash(catalog_hub, connect, keys) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "strict", keys.alice) as client:
            tools = sorted(t.name for t in (await client.list_tools()).tools)
    assert tools == ["add_days", "add_note", "get_note"]
    view = catalog_hub.hub.registry.view("strict")
    assert view is not None
    [problem] = view.problems
    assert "'now'" in problem
    assert "neither is exposed" in problem


async def test_results_name_the_virtual_server_not_the_upstream_that_answered(
    catalog_hub, connect, keys, transport
) -> None:
    with anyio.fail_after(TIMEOUT):
        async with connect(catalog_hub, "assistant", keys.alice) as client:
            results = [
                await client.call_tool("now", {"tz": "UTC"}),  # a 2026-07-28 upstream, which stamps its own
                await client.call_tool("test_simple_text", {}),  # a handshake-era upstream, which stamps none
            ]
    stamps = [(result.meta or {}).get(SERVER_INFO_META_KEY) for result in results]
    if transport == "http-2026":
        assert [stamp["name"] for stamp in stamps] == ["hub/assistant", "hub/assistant"]
    else:  # handshake-era results carry no stamp
        assert stamps == [None, None]
