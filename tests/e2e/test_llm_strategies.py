"""litellm's load-balancing strategies end to end: the openai SDK → hub → fake providers on 127.0.0.1.

Both groups here take the hub's direct path (every deployment speaks the OpenAI API), where the hub
sends the request itself after litellm picked the deployment. These tests prove the strategy still
sees each call: lowest-latency its latency, least-busy its requests in flight.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import openai
import pytest

from tests.e2e.llm_fixtures import ALICE, agents, deployment, loopback_fakes
from tests.servers.llm.faults import FakeState

pytestmark = pytest.mark.anyio

SLOW_S = 0.3  # the slow deployment's added latency: far above a fake's answer on loopback


@asynccontextmanager
async def strategy_hub(run_hub: Any, make_hub_config: Any, state: FakeState, strategy: str) -> AsyncIterator[Any]:
    """A hub routing group `pair` (deployments `one` and `two`) with `strategy`."""
    async with loopback_fakes(state) as base:
        config = make_hub_config(
            agents=agents(),
            teams=[{"name": "research"}],
            models=[{"name": "pair", "deployments": [deployment(base, "one"), deployment(base, "two")]}],
            llm={"strategy": strategy, "retries": 0},
        )
        async with run_hub(config) as running:
            yield running


async def ask(client: openai.AsyncOpenAI, stream: bool = False) -> str:
    messages = [{"role": "user", "content": "which one"}]
    if stream:
        chunks = await client.chat.completions.create(model="pair", messages=messages, stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])
    reply = await client.chat.completions.create(model="pair", messages=messages)
    return str(reply.choices[0].message.content)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_lowest_latency_sends_most_requests_to_the_fast_deployment(
    run_hub: Any, make_hub_config: Any, stream: bool
) -> None:
    state = FakeState(model_latency_s={"fake-two": SLOW_S})
    async with (
        strategy_hub(run_hub, make_hub_config, state, "lowest-latency") as hub,
        openai.AsyncOpenAI(base_url=f"{hub.url}/v1", api_key=ALICE, max_retries=0) as client,
    ):
        with anyio.fail_after(60):
            for _ in range(3):  # warm-up: a deployment without a sample is tried first
                await ask(client, stream)
            warm_up = state.models_called()
            answers = [await ask(client, stream) for _ in range(12)]
    assert answers == ["echo: which one"] * 12
    assert set(warm_up) == {"fake-one", "fake-two"}  # both measured
    after = state.models_called()[len(warm_up) :]
    assert after.count("fake-one") >= 10, after  # the fast one, once the router has seen both latencies


async def test_least_busy_sends_requests_to_the_idle_deployment(run_hub: Any, make_hub_config: Any) -> None:
    state = FakeState(held={"fake-one", "fake-two"})
    async with (
        strategy_hub(run_hub, make_hub_config, state, "least-busy") as hub,
        openai.AsyncOpenAI(base_url=f"{hub.url}/v1", api_key=ALICE, max_retries=0, timeout=30) as client,
        anyio.create_task_group() as tg,
    ):
        answers: list[str] = []

        async def one(done: anyio.Event) -> None:
            answers.append(await ask(client))
            done.set()

        with anyio.fail_after(60):
            tg.start_soon(one, anyio.Event())
            await state.wait_received(1)
            busy = state.received[0].model  # this deployment now holds a request in flight
            state.held = {busy}
            for i in range(5):
                done = anyio.Event()
                tg.start_soon(one, done)
                await state.wait_received(2 + i)
                if state.received[-1].model != busy:
                    await done.wait()  # answered at once: the next request sees it idle again
            state.released.set()
    assert len(answers) == 6
    idle = {"fake-one", "fake-two"} - {busy}
    assert state.models_called() == [busy, *idle, *idle, *idle, *idle, *idle]
