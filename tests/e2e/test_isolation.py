"""Two agents calling the same upstream tool at once, with the same JSON-RPC ids, each get their own answer.

Both SDK clients number their requests from the same start, so the ids collide on the way in;
the `rendezvous` tool only returns once both calls are in flight at the upstream together.
"""

from __future__ import annotations

import anyio
import pytest
from mcp_types import TextContent

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0


async def test_concurrent_calls_with_colliding_ids_stay_apart(catalog_hub, connect, keys, transport) -> None:
    group = f"isolation-{transport}"
    results: dict[str, str] = {}
    progress: dict[str, list[str]] = {"alice": [], "bob": []}

    async def call(agent: str) -> None:
        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress[agent].append(str(message))

        async with connect(catalog_hub, "echo", getattr(keys, agent)) as client:
            result = await client.call_tool(
                "rendezvous", {"text": f"from {agent}", "group": group, "parties": 2}, progress_callback=on_progress
            )
            [block] = result.content
            assert isinstance(block, TextContent)
            results[agent] = block.text

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "alice")
            tg.start_soon(call, "bob")
    assert results == {"alice": "from alice", "bob": "from bob"}
    assert progress == {
        "alice": ["arrived from alice", "leaving from alice"],
        "bob": ["arrived from bob", "leaving from bob"],
    }


async def test_progress_goes_only_to_the_caller_that_asked(catalog_hub, connect, keys, transport) -> None:
    """Bob asks for progress, alice does not: bob hears his own, alice hears no progress at all."""
    group = f"progress-{transport}"
    alice_heard: list[object] = []
    bob_progress: list[str] = []

    async def alice_messages(message: object) -> None:
        if getattr(message, "method", None) == "notifications/progress":
            alice_heard.append(message)

    async def bob_on_progress(value: float, total: float | None, message: str | None) -> None:
        bob_progress.append(str(message))

    async def alice() -> None:
        async with connect(catalog_hub, "echo", keys.alice, message_handler=alice_messages) as client:
            await client.call_tool("rendezvous", {"text": "alice", "group": group})

    async def bob() -> None:
        async with connect(catalog_hub, "echo", keys.bob) as client:
            await client.call_tool("rendezvous", {"text": "bob", "group": group}, progress_callback=bob_on_progress)

    with anyio.fail_after(TIMEOUT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(alice)
            tg.start_soon(bob)
    assert alice_heard == []
    assert bob_progress == ["arrived bob", "leaving bob"]
