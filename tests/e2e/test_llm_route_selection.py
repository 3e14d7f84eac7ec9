"""Routing end to end: the openai SDK → hub → litellm's Router → fake providers on 127.0.0.1.

Fallbacks on a timeout and on a provider's 429, with the failing deployment cooled down;
capability matching (images only to vision deployments, prompts only to windows they fit);
rules by tag and prompt size (simple → the cheapest healthy deployments); an A/B experiment
whose arms are sticky per agent and counted per arm in /metrics and the usage report.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import openai
import pytest

from tests.e2e.llm_fixtures import ALICE, BOB, agents, deployment, loopback_fakes
from tests.servers.llm.faults import FakeState, Fault

pytestmark = pytest.mark.anyio

ADMIN = "admin-token-llm-routing-0000000000000"
IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}


@dataclass
class RoutingHub:
    url: str
    hub: Any
    alice: openai.AsyncOpenAI
    bob: openai.AsyncOpenAI


@pytest.fixture(scope="module")
async def routing_hub(run_hub: Any, make_hub_config: Any, state: FakeState) -> AsyncIterator[RoutingHub]:
    async with loopback_fakes(state) as base:
        config = make_hub_config(
            server={"admin_token": ADMIN},
            agents=agents(),
            teams=[{"name": "research"}],
            models=[
                {"name": "hang", "deployments": [deployment(base, "stuck", timeout_s=0.5)], "fallbacks": ["rescue"]},
                {"name": "rescue", "deployments": [deployment(base, "rescue")]},
                {"name": "pool", "deployments": [deployment(base, "limited", weight=9), deployment(base, "spare")]},
                {
                    "name": "seeing",
                    "deployments": [
                        deployment(base, "blind", weight=9),
                        deployment(base, "eyes", capabilities=["vision"]),
                    ],
                },
                {"name": "text-only", "deployments": [deployment(base, "words")]},
                {
                    "name": "windows",
                    "deployments": [
                        deployment(base, "small", context_window=40, weight=9),
                        deployment(base, "big", context_window=400),
                    ],
                },
                {
                    "name": "mixed",
                    "deployments": [
                        deployment(base, "pricey", weight=20, input_price=1e-5, output_price=3e-5),
                        deployment(base, "thrifty", tags=["cheap"], input_price=1e-7, output_price=3e-7),
                        deployment(base, "frugal", tags=["cheap"], input_price=2e-7, output_price=6e-7),
                    ],
                },
                {"name": "long", "deployments": [deployment(base, "long", context_window=100000)]},
                {"name": "arm-a", "deployments": [deployment(base, "arm-a")]},
                {"name": "arm-b", "deployments": [deployment(base, "arm-b")]},
            ],
            llm={
                # one retry within the group: where litellm's Router tries another deployment after a failure
                "retries": 1,
                "cooldown_s": 60,
                "rules": [
                    {
                        "name": "simple",
                        "model": "auto",
                        "when_tags": ["simple"],
                        "group": "mixed",
                        "require_tags": ["cheap"],
                    },
                    {"name": "long", "model": "auto", "min_prompt_tokens": 200, "group": "long"},
                    {"name": "default", "model": "auto", "group": "mixed"},
                ],
                # sha256("ab" 0x1f agent) puts alice in the first arm and bob in the second (hub/llm/routing.py)
                "experiments": [{"name": "ab", "model": "assistant", "arms": [{"group": "arm-a"}, {"group": "arm-b"}]}],
            },
        )
        async with (
            run_hub(config) as running,
            openai.AsyncOpenAI(base_url=f"{running.url}/v1", api_key=ALICE, max_retries=0, timeout=30) as alice,
            openai.AsyncOpenAI(base_url=f"{running.url}/v1", api_key=BOB, max_retries=0, timeout=30) as bob,
        ):
            yield RoutingHub(running.url, running.hub, alice, bob)
        state.released.set()


@pytest.fixture
def fresh(state: FakeState) -> FakeState:
    state.faults.clear()
    state.received.clear()
    state.released.set()  # whatever an earlier test held goes now
    state.released = anyio.Event()
    state.held = set()
    return state


async def ask(client: openai.AsyncOpenAI, model: str, content: Any = "hi", **extra: Any) -> str:
    messages = [{"role": "user", "content": content}]
    reply = await client.chat.completions.create(model=model, messages=messages, **extra)
    return str(reply.choices[0].message.content)


async def test_a_hanging_deployment_times_out_falls_back_and_cools_down(
    routing_hub: RoutingHub, fresh: FakeState
) -> None:
    fresh.held = {"fake-stuck"}
    with anyio.fail_after(30):
        first = await ask(routing_hub.alice, "hang", "are you there")
        tried = fresh.models_called()
        second = await ask(routing_hub.alice, "hang", "still there")
    assert first == "echo: are you there"
    assert second == "echo: still there"
    assert tried[-1] == "fake-rescue"  # the fallback group answered the first request
    assert set(tried[:-1]) == {"fake-stuck"}
    assert len(tried) <= 3  # the direct attempt and litellm's own, at most, before the fallback (docs/llm.md)
    assert fresh.models_called()[len(tried) :] == ["fake-rescue"]  # the cooled-down deployment is not tried again


async def test_a_rate_limited_deployment_falls_back_within_its_group_and_cools_down(
    routing_hub: RoutingHub, fresh: FakeState
) -> None:
    fresh.faults.append(Fault(status=429, model="fake-limited", retry_after_s=30, times=100))
    with anyio.fail_after(30):
        answers = [await ask(routing_hub.alice, "pool", "x") for _ in range(6)]
    assert answers == ["echo: x"] * 6
    models = fresh.models_called()
    # limited (weight 9 of 10) is tried first, then spare answers every request while limited cools down
    assert 1 <= models.count("fake-limited") <= 2, models
    assert models.count("fake-spare") == 6, models


async def test_an_image_goes_only_to_a_vision_deployment(routing_hub: RoutingHub, fresh: FakeState) -> None:
    picture = [{"type": "text", "text": "what is this"}, IMAGE]
    with anyio.fail_after(30):
        answers = [await ask(routing_hub.alice, "seeing", picture) for _ in range(5)]
        with pytest.raises(openai.BadRequestError) as refused:
            await ask(routing_hub.alice, "text-only", picture)
    assert answers == ["echo: what is this"] * 5
    assert fresh.models_called() == ["fake-eyes"] * 5  # blind has 9 of 10 weight, but no vision
    assert refused.value.status_code == 400
    assert "no deployment of group 'text-only' supports cap:vision" in str(refused.value)


async def test_a_long_prompt_goes_only_to_the_window_it_fits(routing_hub: RoutingHub, fresh: FakeState) -> None:
    long_prompt = "word " * 100  # ~100 tokens: past small's 40, within big's 400
    with anyio.fail_after(30):
        answers = [await ask(routing_hub.alice, "windows", long_prompt) for _ in range(5)]
        short = [await ask(routing_hub.alice, "windows", "short one") for _ in range(5)]
        with pytest.raises(openai.BadRequestError) as refused:
            await ask(routing_hub.alice, "windows", "word " * 1000)
    assert all(a.startswith("echo: word") for a in answers)
    assert short == ["echo: short one"] * 5
    models = fresh.models_called()
    assert models[:5] == ["fake-big"] * 5  # small has 9 of 10 weight, but the prompt does not fit it
    assert "fake-small" in models[5:]  # a short prompt may go to small
    assert len(models) == 10  # the prompt that fits no window was not sent
    assert refused.value.status_code == 400
    assert "exceed the largest context window (400) of group 'windows'" in str(refused.value)


async def test_rules_send_simple_requests_to_the_cheapest_healthy_deployments(
    routing_hub: RoutingHub, fresh: FakeState
) -> None:
    simple = {"x-hub-tags": "simple"}
    with anyio.fail_after(30):
        by_header = [await ask(routing_hub.alice, "auto", extra_headers=simple) for _ in range(4)]
        by_metadata = [
            await ask(routing_hub.alice, "auto", extra_body={"metadata": {"tags": ["simple"]}}) for _ in range(4)
        ]
        cheap = fresh.models_called()
        fresh.faults.append(Fault(status=500, model="fake-thrifty", times=100))
        healthy = [await ask(routing_hub.alice, "auto", extra_headers=simple) for _ in range(4)]
        after_failure = fresh.models_called()[len(cheap) :]
        before_long = len(fresh.models_called())
        long = await ask(routing_hub.alice, "auto", "word " * 300)
        before_untagged = len(fresh.models_called())
        untagged = await ask(routing_hub.alice, "auto", "plain")
    assert by_header == by_metadata == healthy == ["echo: hi"] * 4
    assert set(cheap) <= {"fake-thrifty", "fake-frugal"}  # pricey has 20 of 22 weight, but is not cheap
    assert "fake-pricey" not in after_failure
    assert after_failure.count("fake-thrifty") <= 2  # failed, then cooled down
    assert after_failure.count("fake-frugal") == 4  # the healthy cheap one answered every request
    assert long.startswith("echo: word")
    assert untagged == "echo: plain"
    assert fresh.models_called()[before_long:before_untagged] == ["fake-long"]  # the size rule: ≥ 200 prompt tokens
    # The default rule. Thrifty still fails: if the four simple requests above all drew frugal (the
    # two are picked at random), thrifty never failed, is not cooled down, may be drawn first here,
    # and the request falls over to another deployment, so its first pick is what is checked.
    assert fresh.models_called()[before_untagged] in {"fake-pricey", "fake-thrifty", "fake-frugal"}


async def test_an_experiment_is_sticky_per_agent_and_counted_per_arm(routing_hub: RoutingHub, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        for _ in range(4):
            await ask(routing_hub.alice, "assistant", "from alice")
            await ask(routing_hub.bob, "assistant", "from bob")
        await routing_hub.hub.llm.usage.flushed()
        async with httpx.AsyncClient(base_url=routing_hub.url) as http:
            metrics = (await http.get("/metrics")).text
            report = await http.get(
                "/admin/llm/usage", params={"group_by": "agent,arm"}, headers={"authorization": f"Bearer {ADMIN}"}
            )
    by_agent = {"alice": [], "bob": []}
    for received in fresh.received:
        by_agent["alice" if "alice" in str(received.body["messages"]) else "bob"].append(received.model)
    assert by_agent == {"alice": ["fake-arm-a"] * 4, "bob": ["fake-arm-b"] * 4}
    assert 'hub_llm_requests_total{agent="alice",arm="arm-a",model="arm-a",status="ok"} 4.0' in metrics
    assert 'hub_llm_requests_total{agent="bob",arm="arm-b",model="arm-b",status="ok"} 4.0' in metrics
    assert 'hub_llm_request_duration_seconds_count{arm="arm-a",model="arm-a"} 4.0' in metrics
    assert report.status_code == 200
    rows = {(r["agent"], r["arm"]): r for r in report.json()["rows"] if r["arm"]}
    assert set(rows) == {("alice", "arm-a"), ("bob", "arm-b")}
    assert rows["alice", "arm-a"]["requests"] == rows["bob", "arm-b"]["requests"] == 4
    assert rows["alice", "arm-a"]["prompt_tokens"] == 4 * 2  # "from alice": two words a request
