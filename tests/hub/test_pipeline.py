"""The pipeline's routing decisions that need no upstream: grants, hidden-vs-missing, offline tools.

Calls that reach an upstream are covered end to end in tests/e2e.
"""

from __future__ import annotations

from typing import Any

import pytest

from hub.config.model import VirtualServerConfig
from hub.core.catalog import Catalog
from hub.core.principal import Grant, Principal
from hub.errors import NotFoundError, UpstreamUnavailableError
from hub.pipeline import Caller, Pipeline
from hub.virtual.registry import Registry

pytestmark = pytest.mark.anyio


def tool(name: str) -> dict[str, Any]:
    return {"name": name, "inputSchema": {"type": "object"}}


@pytest.fixture
def catalogs() -> dict[str, Catalog | None]:
    return {"notes": Catalog(tools=(tool("add_note"), tool("get_note"))), "clock": Catalog(tools=(tool("now"),))}


@pytest.fixture
def registry(catalogs: dict[str, Catalog | None]) -> Registry:
    registry = Registry(lambda: catalogs)
    registry.put(
        VirtualServerConfig.model_validate({"name": "desk", "include": [{"upstream": "notes"}, {"upstream": "clock"}]})
    )
    registry.put(VirtualServerConfig.model_validate({"name": "vault", "include": [{"upstream": "clock"}]}))
    return registry


def agent(tools: tuple[str, ...] | None = None) -> Principal:
    return Principal("alice", None, {"desk": Grant("desk", tools)})


async def test_lists_are_narrowed_by_the_grant(registry: Registry) -> None:
    pipeline = Pipeline(registry, {})
    narrowed = await pipeline.list_items(agent(("get_*", "now")), "desk", "tool")
    assert [t["name"] for t in narrowed] == ["get_note", "now"]
    assert len(await pipeline.list_items(agent(), "desk", "tool")) == 3


def test_an_ungranted_server_reads_like_a_missing_one(registry: Registry) -> None:
    pipeline = Pipeline(registry, {})
    with pytest.raises(NotFoundError) as hidden:
        pipeline.open(agent(), "vault")
    with pytest.raises(NotFoundError) as missing:
        pipeline.open(agent(), "nowhere")
    assert hidden.value.message.replace("vault", "X") == missing.value.message.replace("nowhere", "X")


@pytest.mark.parametrize("name", ["add_note", "notes__get_note", "clock__now"])
async def test_a_hidden_tool_reads_like_a_missing_one(registry: Registry, name: str) -> None:
    pipeline = Pipeline(registry, {})
    caller = Caller(agent(("get_note", "now")), "desk")
    with pytest.raises(NotFoundError) as hidden:
        await pipeline.forward(caller, "tools/call", {"name": name, "arguments": {}})
    with pytest.raises(NotFoundError) as missing:
        await pipeline.forward(caller, "tools/call", {"name": "nope", "arguments": {}})
    assert hidden.value.message.replace(name, "X") == missing.value.message.replace("nope", "X")


async def test_a_tool_of_an_upstream_that_went_down_fails_naming_it(
    registry: Registry, catalogs: dict[str, Catalog | None]
) -> None:
    pipeline = Pipeline(registry, {})
    catalogs["clock"] = None
    registry.upstream_changed("clock")
    with pytest.raises(UpstreamUnavailableError) as caught:
        await pipeline.forward(Caller(agent(), "desk"), "tools/call", {"name": "now", "arguments": {}})
    assert "'clock'" in caught.value.message
    with pytest.raises(NotFoundError):  # not granted: still reads as missing
        await pipeline.forward(Caller(agent(("get_note",)), "desk"), "tools/call", {"name": "now", "arguments": {}})
