"""MCP sampling answered through the LLM layer, attributed to the agent whose tool call caused it."""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from tests.e2e.llm_fixtures import deployment, serve_fakes
from tests.servers.llm.faults import FakeState

pytestmark = pytest.mark.anyio

EVERYTHING = Path(__file__).resolve().parents[2] / "examples" / "servers" / "everything.py"
KEY = "hub_sampler_llm_key_000000000000000000000"


async def test_a_virtual_server_with_a_sampling_model_answers_sampling_itself(
    run_hub, make_hub_config, open_agent
) -> None:
    state = FakeState()
    async with serve_fakes(state) as base:
        config = make_hub_config(
            upstreams=[
                {
                    "name": "everything",
                    "kind": "stdio",
                    "command": sys.executable,
                    "args": [str(EVERYTHING), "--transport", "stdio"],
                }
            ],
            virtual_servers=[
                {
                    "name": "tools",
                    "include": [{"upstream": "everything", "tools": ["test_sampling"]}],
                    "sampling_model": "chat",
                },
                {"name": "relayed", "include": [{"upstream": "everything", "tools": ["test_sampling"]}]},
            ],
            agents=[
                {"name": "sampler", "keys": [{"key": KEY}], "servers": [{"server": "tools"}, {"server": "relayed"}]}
            ],
            models=[{"name": "chat", "deployments": [deployment(base, "gpt", input_price=0.001, output_price=0.001)]}],
        )
        with anyio.fail_after(60):
            async with run_hub(config) as running:
                async with open_agent("http-2026", running, "tools", KEY) as agent:
                    answered = await agent.call_tool("test_sampling", {"prompt": "meaning of life?"})
                async with open_agent("http-2026", running, "relayed", KEY) as agent:
                    with pytest.raises(MCPError) as relayed:  # a 2026-era agent cannot be asked, as before
                        await agent.call_tool("test_sampling", {"prompt": "x"})
                await running.hub.llm.usage.flushed()
                registry = running.hub.metrics
    assert not answered.is_error
    assert answered.content[0].text == "LLM response: echo: meaning of life?"
    assert state.models_called() == ["fake-gpt"]  # only the first server's sampling reached the model
    assert state.received[0].body["max_tokens"] == 100
    assert "cannot be relayed" in relayed.value.message
    tokens = registry.get_sample_value("hub_llm_tokens_total", {"agent": "sampler", "model": "chat", "kind": "prompt"})
    assert tokens == 3  # "meaning of life?" is three words at the fake provider
