"""The example upstream servers, run as real subprocesses and driven by the SDK's `Client`.

notes.py speaks stdio (the client launches it); clock.py and everything.py listen on a
free port and announce it on their LISTENING line.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext, IncomingMessage
from mcp.client.sse import sse_client
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.shared.subscriptions import ResourceUpdated
from mcp_types import (
    CallToolResult,
    CreateMessageRequestParams,
    CreateMessageResult,
    ResourceUpdatedNotification,
    TextContent,
    TextResourceContents,
)

pytestmark = pytest.mark.anyio

HttpServerStarter = Callable[..., AbstractAsyncContextManager[str]]

CALL_TIMEOUT = 30.0
"""Seconds for one whole client session: connect, a few calls, disconnect."""

MODES = ["legacy", "2026-07-28"]
"""The handshake-era protocol, and the 2026-07-28 per-request protocol."""


def text_of(result: CallToolResult) -> str:
    """The text of a tool result made of one text block."""
    assert len(result.content) == 1, result.content
    block = result.content[0]
    assert isinstance(block, TextContent), block
    return block.text


def stdio(script: Path, *args: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=[str(script), *args])


@pytest.mark.parametrize("mode", MODES)
async def test_notes_over_stdio(example_servers: Path, mode: str) -> None:
    with anyio.fail_after(CALL_TIMEOUT):
        async with Client(stdio(example_servers / "notes.py"), mode=mode) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"add_note", "list_notes", "get_note"} <= tools

            added = await client.call_tool("add_note", {"title": "groceries", "text": "eggs, milk"})
            assert not added.is_error
            assert text_of(added) == "Added note 'groceries'."
            await client.call_tool("add_note", {"title": "ideas", "text": "an MCP hub"})

            listed = await client.call_tool("list_notes", {})
            assert listed.structured_content == {"result": ["groceries", "ideas"]}

            note = await client.call_tool("get_note", {"title": "groceries"})
            assert text_of(note) == "eggs, milk"

            missing = await client.call_tool("get_note", {"title": "nope"})
            assert missing.is_error
            assert "No note titled 'nope'" in text_of(missing)

            templates = (await client.list_resource_templates()).resource_templates
            assert [template.uri_template for template in templates] == ["notes://{title}"]
            read = await client.read_resource("notes://ideas")
            [contents] = read.contents
            assert isinstance(contents, TextResourceContents)
            assert contents.text == "an MCP hub"

            prompt = await client.get_prompt("summarize_notes")
            [message] = prompt.messages
            assert isinstance(message.content, TextContent)
            assert "- groceries: eggs, milk" in message.content.text
            assert "- ideas: an MCP hub" in message.content.text


@pytest.mark.parametrize("mode", MODES)
async def test_clock_over_streamable_http(start_http_server: HttpServerStarter, mode: str) -> None:
    async with start_http_server("clock.py") as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/mcp")
        assert not url.endswith(":8931/mcp"), "--port 0 must pick a free port"
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(url, mode=mode) as client:
                assert client.protocol_version == ("2026-07-28" if mode == "2026-07-28" else "2025-11-25")

                before = datetime.now().astimezone()
                utc = datetime.fromisoformat(text_of(await client.call_tool("now", {})))
                assert utc.utcoffset() == timedelta(0)
                assert abs(utc - before) < timedelta(minutes=1)

                tokyo = datetime.fromisoformat(text_of(await client.call_tool("now", {"tz": "Asia/Tokyo"})))
                assert tokyo.utcoffset() == timedelta(hours=9)

                unknown = await client.call_tool("now", {"tz": "Mars/Olympus_Mons"})
                assert unknown.is_error
                assert "Unknown time zone" in text_of(unknown)

                leap = await client.call_tool("add_days", {"date": "2024-02-28", "days": 1})
                assert text_of(leap) == "2024-02-29"
                back = await client.call_tool("add_days", {"date": "2025-01-01", "days": -365})
                assert date.fromisoformat(text_of(back)) == date(2024, 1, 2)

                bad = await client.call_tool("add_days", {"date": "tomorrow", "days": 1})
                assert bad.is_error


async def check_everything(client: Client) -> None:
    tools = {tool.name for tool in (await client.list_tools()).tools}
    assert {"test_simple_text", "test_sampling", "json_schema_2020_12_tool"} <= tools
    assert text_of(await client.call_tool("test_simple_text", {})) == "This is a simple text response for testing."
    prompt = await client.get_prompt("test_prompt_with_arguments", {"arg1": "a", "arg2": "b"})
    assert isinstance(prompt.messages[0].content, TextContent)
    assert prompt.messages[0].content.text == "Prompt with arguments: arg1='a', arg2='b'"


async def test_everything_over_stdio(example_servers: Path) -> None:
    with anyio.fail_after(CALL_TIMEOUT):
        async with Client(stdio(example_servers / "everything.py", "--transport", "stdio"), mode="legacy") as client:
            await check_everything(client)


async def test_everything_over_sse(start_http_server: HttpServerStarter) -> None:
    async with start_http_server("everything.py", "--transport", "sse") as url:
        assert url.endswith("/sse")
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(sse_client(url), mode="legacy") as client:
                await check_everything(client)


async def test_everything_sampling_round_trip(start_http_server: HttpServerStarter) -> None:
    """A server-to-client request (sampling) answered by the client, over Streamable HTTP."""
    prompts: list[str] = []

    async def sampling_callback(
        context: ClientRequestContext, params: CreateMessageRequestParams
    ) -> CreateMessageResult:
        content = params.messages[0].content
        assert isinstance(content, TextContent)
        prompts.append(content.text)
        return CreateMessageResult(
            role="assistant", content=TextContent(type="text", text="42"), model="test", stop_reason="endTurn"
        )

    async with start_http_server("everything.py") as url:
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(url, mode="legacy", sampling_callback=sampling_callback) as client:
                result = await client.call_tool("test_sampling", {"prompt": "meaning of life?"})
    assert text_of(result) == "LLM response: 42"
    assert prompts == ["meaning of life?"]


WATCHED = "test://watched-resource"


async def test_everything_resource_updated_legacy(start_http_server: HttpServerStarter) -> None:
    """Handshake era: resources/subscribe, then notifications/resources/updated on the session."""
    updates: list[str] = []
    updated = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, ResourceUpdatedNotification):
            updates.append(message.params.uri)
            updated.set()

    async with start_http_server("everything.py") as url:
        with anyio.fail_after(CALL_TIMEOUT):
            async with Client(url, mode="legacy", message_handler=on_message) as client:
                with pytest.warns(MCPDeprecationWarning, match="resources/subscribe"):
                    await client.subscribe_resource(WATCHED)
                await client.call_tool("test_update_watched", {"text": "version 2"})
                await updated.wait()
                [contents] = (await client.read_resource(WATCHED)).contents
    assert updates == [WATCHED]
    assert isinstance(contents, TextResourceContents)
    assert contents.text == "version 2"


async def test_everything_resource_updated_2026(start_http_server: HttpServerStarter) -> None:
    """2026-07-28: the update arrives on a subscriptions/listen stream."""
    async with start_http_server("everything.py") as url:
        with anyio.fail_after(CALL_TIMEOUT):
            async with (
                Client(url, mode="2026-07-28") as client,
                client.listen(resource_subscriptions=[WATCHED]) as subscription,
            ):
                await client.call_tool("test_update_watched", {"text": "version 3"})
                event = await anext(subscription)
    assert isinstance(event, ResourceUpdated)
    assert event.uri == WATCHED
