"""The "everything" upstream: one MCP server exercising every feature the conformance suite checks.

It implements the server contract of the official MCP conformance suite
(`npx @modelcontextprotocol/conformance@0.1.13 server --url ...`): the tool, resource and
prompt names below are the ones its scenarios call, with the content they expect.
`scripts/conformance.sh` runs the suite; `CONFORMANCE.md` beside this file has the results.

    python examples/servers/everything.py --transport streamable-http --host 127.0.0.1 --port 3001
    python examples/servers/everything.py --transport sse --port 0
    python examples/servers/everything.py --transport stdio

The HTTP transports print `LISTENING <url>` on stdout once ready (with `--port 0`, the
URL names the port the OS picked). Streamable HTTP serves `/mcp`; SSE serves `/sse`.

Several features here (logging, sampling, `resources/subscribe`) belong to the handshake-era
protocol (up to 2025-11-25) and are deprecated by the 2026-07-28 revision. The suite
tests them, so this server keeps them on purpose.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import warnings
from typing import Any, Final, Literal, TypeAlias, get_args

import anyio
from _http_support import InMemoryEventStore, serve_http
from mcp.server import MCPServer, ServerRequestContext
from mcp.server.mcpserver import Context, UserMessage
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import (
    AudioContent,
    CallToolResult,
    ClientCapabilities,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    ElicitationCapability,
    EmbeddedResource,
    EmptyResult,
    ImageContent,
    LoggingLevel,
    PromptReference,
    ResourceTemplateReference,
    SamplingCapability,
    SamplingMessage,
    SetLevelRequestParams,
    SubscribeRequestParams,
    TextContent,
    TextResourceContents,
    UnsubscribeRequestParams,
)

# The deprecated features are exercised deliberately (see the module docstring): keep the
# SDK's deprecation warnings out of the server's stderr.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

ToolContext: TypeAlias = Context[Any, Any]

# A 1x1 red PNG and a 1 ms silent 8 kHz mono WAV: the smallest valid media of each kind.
PNG_1X1_BASE64: Final = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
WAV_SILENCE_BASE64: Final = "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA=="

WATCHED_URI: Final = "test://watched-resource"

# Suggestions served by `completion/complete`, by argument name.
COMPLETIONS: Final[dict[str, list[str]]] = {
    "arg1": ["paris", "park", "party", "test-value"],
    "arg2": ["world", "wonder", "test-value"],
    "id": ["123", "456", "789"],
    "resourceUri": ["test://static-text", "test://static-binary", WATCHED_URI],
}

LOG_LEVELS: Final[tuple[LoggingLevel, ...]] = get_args(LoggingLevel)  # least to most severe


class ServerState:
    """Process-wide mutable state.

    It is shared by every connected client, which is fine for a test fixture: the
    conformance suite runs its scenarios one after another.
    """

    def __init__(self) -> None:
        self.log_level: LoggingLevel = "debug"
        self.subscriptions: set[str] = set()
        self.watched_text = "Watched resource content, version 1."


state = ServerState()


# --- Tools whose schema cannot come from a Python signature --------------------------------

JSON_SCHEMA_2020_12: Final = "https://json-schema.org/draft/2020-12/schema"


def json_schema_2020_12_tool(name: str | None = None, address: dict[str, str] | None = None) -> str:
    """Tool with JSON Schema 2020-12 features"""
    return f"Received name={name!r}, address={address!r}"


def _json_schema_2020_12_tool() -> Tool:
    """Build the SEP-1613 tool: a Python function, advertised with a hand-written input schema.

    A signature-derived schema has neither `$schema` nor `additionalProperties: false`;
    the scenario checks that both survive `tools/list`, together with `$defs`.
    """
    tool = Tool.from_function(json_schema_2020_12_tool)
    schema = {
        "$schema": JSON_SCHEMA_2020_12,
        "type": "object",
        "$defs": {
            "address": {
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
            }
        },
        "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
        "additionalProperties": False,
    }
    return tool.model_copy(update={"parameters": schema})


mcp: MCPServer[Any] = MCPServer(
    "everything",
    version="1.0.0",
    log_level="WARNING",
    instructions="Conformance fixture: implements every feature the MCP conformance suite checks.",
    tools=[_json_schema_2020_12_tool()],
)


# --- Content tools -------------------------------------------------------------------------


@mcp.tool()
def test_simple_text() -> str:
    """Returns a single text content block."""
    return "This is a simple text response for testing."


@mcp.tool()
def test_image_content() -> ImageContent:
    """Returns a single image content block (a 1x1 PNG)."""
    return ImageContent(type="image", data=PNG_1X1_BASE64, mime_type="image/png")


@mcp.tool()
def test_audio_content() -> AudioContent:
    """Returns a single audio content block (a short silent WAV)."""
    return AudioContent(type="audio", data=WAV_SILENCE_BASE64, mime_type="audio/wav")


@mcp.tool()
def test_embedded_resource() -> EmbeddedResource:
    """Returns a text resource embedded in the result."""
    return EmbeddedResource(
        type="resource",
        resource=TextResourceContents(
            uri="test://embedded-resource",
            mime_type="text/plain",
            text="This is an embedded resource content.",
        ),
    )


@mcp.tool()
def test_multiple_content_types() -> list[TextContent | ImageContent | EmbeddedResource]:
    """Returns text, image and embedded-resource content in one result."""
    return [
        TextContent(type="text", text="Multiple content types test:"),
        ImageContent(type="image", data=PNG_1X1_BASE64, mime_type="image/png"),
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(
                uri="test://mixed-content-resource",
                mime_type="application/json",
                text=json.dumps({"test": "data", "value": 123}),
            ),
        ),
    ]


@mcp.tool()
def test_error_handling() -> CallToolResult:
    """Always fails, reporting the failure as a tool result with isError set."""
    return CallToolResult(
        is_error=True,
        content=[TextContent(type="text", text="This tool intentionally returns an error for testing")],
    )


# --- Notifications during a call: logging and progress ------------------------------------


async def send_log(ctx: ToolContext, level: LoggingLevel, message: str) -> None:
    """Send a `notifications/message`, unless the client asked (`logging/setLevel`) for higher levels only."""
    if LOG_LEVELS.index(level) >= LOG_LEVELS.index(state.log_level):
        await ctx.log(level, message, logger_name="everything")


@mcp.tool()
async def test_tool_with_logging(ctx: ToolContext) -> str:
    """Sends three info log notifications, 50 ms apart, while it runs."""
    await send_log(ctx, "info", "Tool execution started")
    await anyio.sleep(0.05)
    await send_log(ctx, "info", "Tool processing data")
    await anyio.sleep(0.05)
    await send_log(ctx, "info", "Tool execution completed")
    return "Tool with logging executed successfully"


@mcp.tool()
async def test_tool_with_progress(ctx: ToolContext) -> str:
    """Reports progress 0/100, 50/100 and 100/100, 50 ms apart (when the call carries a progress token)."""
    for step, progress in enumerate((0, 50, 100)):
        if step:
            await anyio.sleep(0.05)
        await ctx.report_progress(progress, 100, f"Completed step {progress} of 100")
    return "Tool with progress executed successfully"


@mcp.tool()
async def test_reconnection(ctx: ToolContext) -> str:
    """Closes the response's SSE stream mid-call, then answers: the client must resume with Last-Event-ID (SEP-1699).

    The SDK offers the close only on Streamable HTTP with an event store, and only for requests
    whose MCP-Protocol-Version header is 2025-11-25 or later; elsewhere the call simply answers.
    """
    await send_log(ctx, "info", "Before disconnect")
    await ctx.close_sse_stream()
    await anyio.sleep(0.2)
    await send_log(ctx, "info", "After reconnect")
    return "Reconnection test completed"


# --- Requests back to the client: sampling and elicitation ---------------------------------


def require_capability(ctx: ToolContext, capability: ClientCapabilities, feature: str) -> None:
    if not ctx.session.check_client_capability(capability):
        raise ToolError(f"The client does not support {feature}")


@mcp.tool()
async def test_sampling(prompt: str, ctx: ToolContext) -> str:
    """Asks the client's LLM to answer `prompt` (sampling/createMessage) and returns the answer."""
    require_capability(ctx, ClientCapabilities(sampling=SamplingCapability()), "sampling")
    result = await ctx.session.create_message(
        messages=[SamplingMessage(role="user", content=TextContent(type="text", text=prompt))],
        max_tokens=100,
        related_request_id=ctx.request_id,
    )
    answer = result.content.text if isinstance(result.content, TextContent) else f"<{result.content.type} content>"
    return f"LLM response: {answer}"


async def elicit(ctx: ToolContext, message: str, schema: dict[str, Any]) -> str:
    """Send `elicitation/create` with a raw JSON schema and describe the user's answer."""
    require_capability(ctx, ClientCapabilities(elicitation=ElicitationCapability()), "elicitation")
    result = await ctx.session.elicit_form(message, schema, related_request_id=ctx.request_id)
    return f"action={result.action}, content={json.dumps(result.content or {}, sort_keys=True)}"


@mcp.tool()
async def test_elicitation(message: str, ctx: ToolContext) -> str:
    """Asks the user (elicitation/create) for a username and an email address, showing `message`."""
    schema = {
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        "required": ["username", "email"],
    }
    return f"User response: {await elicit(ctx, message, schema)}"


@mcp.tool()
async def test_elicitation_sep1034_defaults(ctx: ToolContext) -> str:
    """Elicits one field of each primitive type, each with a default value (SEP-1034)."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
    }
    return f"Elicitation completed: {await elicit(ctx, 'Please review your profile', schema)}"


@mcp.tool()
async def test_elicitation_sep1330_enums(ctx: ToolContext) -> str:
    """Elicits the five enum shapes of SEP-1330: (un)titled single and multi select, and legacy enumNames."""
    options = ["option1", "option2", "option3"]
    schema = {
        "type": "object",
        "properties": {
            "untitledSingle": {"type": "string", "enum": options},
            "titledSingle": {
                "type": "string",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"},
                ],
            },
            "legacyEnum": {
                "type": "string",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {"type": "array", "items": {"type": "string", "enum": options}},
            "titledMulti": {
                "type": "array",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"},
                    ]
                },
            },
        },
    }
    return f"Elicitation completed: {await elicit(ctx, 'Please pick some options', schema)}"


# --- Resources -----------------------------------------------------------------------------


@mcp.resource("test://static-text", mime_type="text/plain", description="A static text resource.")
def static_text() -> str:
    return "This is the content of the static text resource."


@mcp.resource("test://static-binary", mime_type="image/png", description="A static binary resource (a PNG).")
def static_binary() -> bytes:
    return base64.b64decode(PNG_1X1_BASE64)


@mcp.resource(
    "test://template/{id}/data",
    mime_type="application/json",
    description="A templated resource: {id} is substituted into the data.",
)
def template_data(id: str) -> str:
    return json.dumps({"id": id, "templateTest": True, "data": f"Data for ID: {id}"})


@mcp.resource(WATCHED_URI, mime_type="text/plain", description="A resource to subscribe to; see test_update_watched.")
def watched_resource() -> str:
    return state.watched_text


@mcp.tool()
async def test_update_watched(text: str, ctx: ToolContext) -> str:
    """Replaces the text of test://watched-resource and notifies the subscribers of its update."""
    state.watched_text = text
    await ctx.notify_resource_updated(WATCHED_URI)  # 2026-07-28 clients: subscriptions/listen streams
    if WATCHED_URI in state.subscriptions:  # handshake-era clients that sent resources/subscribe
        await ctx.session.send_resource_updated(WATCHED_URI)
    return f"{WATCHED_URI} updated"


# --- Prompts -------------------------------------------------------------------------------


@mcp.prompt()
def test_simple_prompt() -> list[UserMessage]:
    """A prompt without arguments."""
    return [UserMessage("This is a simple prompt for testing.")]


@mcp.prompt()
def test_prompt_with_arguments(arg1: str, arg2: str) -> list[UserMessage]:
    """A prompt with two required arguments, substituted into its text."""
    return [UserMessage(f"Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")]


@mcp.prompt()
def test_prompt_with_embedded_resource(resourceUri: str) -> list[UserMessage]:  # noqa: N803 (the suite's name)
    """A prompt embedding the resource named by `resourceUri`."""
    text = "Embedded resource content for testing."
    resource = TextResourceContents(uri=resourceUri, mime_type="text/plain", text=text)
    return [
        UserMessage(EmbeddedResource(type="resource", resource=resource)),
        UserMessage("Please process the embedded resource above."),
    ]


@mcp.prompt()
def test_prompt_with_image() -> list[UserMessage]:
    """A prompt carrying an image."""
    return [
        UserMessage(ImageContent(type="image", data=PNG_1X1_BASE64, mime_type="image/png")),
        UserMessage("Please analyze the image above."),
    ]


# --- Protocol methods registered on the low-level server ---------------------------------
# MCPServer has no decorator for `logging/setLevel` or `resources/(un)subscribe` (the 2026
# revision removed them; the SDK points to `Server.add_request_handler` for keeping them), and
# its `completion()` decorator is untyped. Registering a handler also advertises the matching
# capability: `logging`, `resources.subscribe`, `completions`.


async def handle_complete(ctx: ServerRequestContext[Any], params: CompleteRequestParams) -> CompleteResult:
    """Suggest values for a prompt or resource-template argument, filtered by the typed prefix."""
    known = isinstance(params.ref, PromptReference | ResourceTemplateReference)
    candidates = COMPLETIONS.get(params.argument.name, []) if known else []
    values = [value for value in candidates if value.startswith(params.argument.value)]
    return CompleteResult(completion=Completion(values=values, total=len(values), has_more=False))


async def handle_set_level(ctx: ServerRequestContext[Any], params: SetLevelRequestParams) -> EmptyResult:
    state.log_level = params.level
    return EmptyResult()


async def handle_subscribe(ctx: ServerRequestContext[Any], params: SubscribeRequestParams) -> EmptyResult:
    state.subscriptions.add(str(params.uri))
    return EmptyResult()


async def handle_unsubscribe(ctx: ServerRequestContext[Any], params: UnsubscribeRequestParams) -> EmptyResult:
    state.subscriptions.discard(str(params.uri))
    return EmptyResult()


_lowlevel = mcp._lowlevel_server  # no public accessor in mcp 2.3.0
_lowlevel.add_request_handler("completion/complete", CompleteRequestParams, handle_complete)
_lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, handle_set_level)
_lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, handle_subscribe)
_lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, handle_unsubscribe)


# --- Entry point ---------------------------------------------------------------------------

Transport = Literal["stdio", "streamable-http", "sse"]


async def run(transport: Transport, host: str, port: int) -> None:
    if transport == "stdio":
        await mcp.run_stdio_async()
    elif transport == "sse":
        await serve_http(mcp.sse_app(host=host), host=host, port=port, path="/sse")
    else:
        # The event store makes response streams resumable; retry tells clients to reconnect after 100 ms.
        app = mcp.streamable_http_app(host=host, event_store=InMemoryEventStore(), retry_interval=100)
        await serve_http(app, host=host, port=port, path="/mcp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transport", choices=get_args(Transport), default="streamable-http")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001, help="0 picks a free port (see the LISTENING line)")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(run, args.transport, args.host, args.port)


if __name__ == "__main__":
    main()
