"""The e2e hub: four real upstreams (stdio, Streamable HTTP, legacy SSE, stdio) behind six virtual servers.

One hub is shared per test module (`catalog_hub`); modules that break their hub on purpose build
their own with `run_hub`.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hub.config.model import HubConfig
from tests.servers.llm.faults import FakeState

if TYPE_CHECKING:
    from conftest import RunningHub

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SERVERS = ROOT / "examples" / "servers"
TEST_SERVERS = ROOT / "tests" / "servers"

ALICE = "hub_alice_e2e_key_0000000000000000000000"
BOB = "hub_bob_e2e_key_00000000000000000000000000"
MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class Keys:
    alice: str = ALICE  # granted every virtual server but `secret`
    bob: str = BOB  # `assistant` narrowed to get_note and n*, and `echo`
    unknown: str = "hub_nobody_e2e_key_000000000000000000000"


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys()


@pytest.fixture(scope="session")
def servers() -> dict[str, Path]:
    """Paths of the upstream scripts, by name."""
    return {
        "notes": EXAMPLE_SERVERS / "notes.py",
        "clock": EXAMPLE_SERVERS / "clock.py",
        "everything": EXAMPLE_SERVERS / "everything.py",
        "echo": TEST_SERVERS / "echo.py",
    }


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """Module-scoped, so one hub (and its upstreams) serves a whole module."""
    return "asyncio"


def stdio_upstream(name: str, script: Path, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "stdio", "command": sys.executable, "args": [str(script)], **extra}


def catalog_sections(clock_url: str, everything_sse_url: str) -> dict[str, Any]:
    """The standard catalog: what each agent may see through which virtual server."""
    notes_without_list = {"upstream": "notes", "rename": {"list_notes": "now"}}
    return {
        "server": {"limits": {"max_body_bytes": MAX_BODY_BYTES}},
        "upstreams": [
            stdio_upstream("notes", EXAMPLE_SERVERS / "notes.py"),
            {"name": "clock", "kind": "streamable-http", "url": clock_url},
            {"name": "everything", "kind": "sse", "url": everything_sse_url},
            stdio_upstream("echo", TEST_SERVERS / "echo.py"),
        ],
        "virtual_servers": [
            {
                "name": "assistant",
                "description": "notes, time and the conformance fixture",
                "include": [
                    {
                        "upstream": "notes",
                        "exclude_tools": ["list_notes"],
                        "rename": {"add_note": "remember"},
                        "descriptions": {"get_note": "Read one note."},
                    },
                    {"upstream": "clock", "tools": ["now"]},
                    {
                        "upstream": "everything",
                        "tools": ["test_simple_*", "test_tool_with_progress"],
                        "resources": ["test://static-text", "test://template/*"],
                        "prompts": ["test_prompt_with_*"],
                        "exclude_prompts": ["*_image", "*_embedded_resource"],
                    },
                ],
            },
            {"name": "prefixed", "prefix": "always", "include": [{"upstream": "notes"}, {"upstream": "clock"}]},
            {"name": "collide", "prefix": "on_collision", "include": [notes_without_list, {"upstream": "clock"}]},
            {"name": "strict", "prefix": "never", "include": [notes_without_list, {"upstream": "clock"}]},
            {"name": "secret", "include": [{"upstream": "clock"}]},
            {"name": "echo", "include": [{"upstream": "echo"}]},
        ],
        "agents": [
            {
                "name": "alice",
                "keys": [{"key": ALICE}],
                "servers": [{"server": s} for s in ("assistant", "prefixed", "collide", "strict", "echo")],
            },
            {
                "name": "bob",
                "keys": [{"key": BOB}],
                "servers": [{"server": "assistant", "tools": ["get_note", "n*"]}, {"server": "echo"}],
            },
        ],
    }


@pytest.fixture(scope="module")
async def catalog_hub(
    start_upstream: Callable[..., AbstractAsyncContextManager[str]],
    run_hub: Callable[[HubConfig], AbstractAsyncContextManager[RunningHub]],
    make_hub_config: Callable[..., HubConfig],
) -> AsyncIterator[RunningHub]:
    async with (
        start_upstream(EXAMPLE_SERVERS / "clock.py") as clock_url,
        start_upstream(EXAMPLE_SERVERS / "everything.py", "--transport", "sse") as everything_url,
        run_hub(make_hub_config(**catalog_sections(clock_url, everything_url))) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def state() -> FakeState:
    """The fake LLM providers' shared state (what they received, the faults to inject), one per module."""
    return FakeState()
