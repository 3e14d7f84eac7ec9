"""Model grants end to end: the openai SDK → hub → fake providers; an agent calls only the models it was granted.

alice holds her own globs, bob only his team's, carol nothing. A model not granted answers exactly
like an unknown one, /v1/models lists only granted ones, and routing (fallbacks, rules,
experiments) never takes a caller to a group it was not granted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import openai
import pytest

from tests.e2e.llm_fixtures import deployment, loopback_fakes
from tests.servers.llm.faults import FakeState, Fault

pytestmark = pytest.mark.anyio

ADMIN = "admin-token-llm-grants-00000000000000"
KEYS = {
    "alice": "hub_alice_grants_key_000000000000000000",
    "bob": "hub_bob_grants_key_00000000000000000000",
    "carol": "hub_carol_grants_key_000000000000000000",
    "dave": "hub_dave_grants_key_0000000000000000000",
}


@pytest.fixture(scope="module")
async def grants_hub(run_hub: Any, make_hub_config: Any, state: FakeState) -> AsyncIterator[Any]:
    async with loopback_fakes(state) as base:
        config = make_hub_config(
            server={"admin_token": ADMIN},
            teams=[{"name": "research", "models": ["team-*", "embed"]}],
            agents=[
                {"name": "alice", "keys": [{"key": KEYS["alice"]}], "models": ["gpt-*", "chat", "flaky", "ab-test"]},
                {"name": "bob", "team": "research", "keys": [{"key": KEYS["bob"]}]},
                {"name": "carol", "keys": [{"key": KEYS["carol"]}]},
                {"name": "dave", "keys": [{"key": KEYS["dave"]}], "models": ["solo"]},
            ],
            models=[
                {"name": "chat", "deployments": [deployment(base, "gpt")]},
                {"name": "gpt-mini", "deployments": [deployment(base, "mini")]},
                {"name": "secret", "deployments": [deployment(base, "secret")]},
                {"name": "team-model", "deployments": [deployment(base, "team")]},
                {"name": "embed", "deployments": [deployment(base, "embed", capabilities=["embeddings"])]},
                {"name": "flaky", "deployments": [deployment(base, "flaky")], "fallbacks": ["secret", "chat"]},
                {"name": "solo", "deployments": [deployment(base, "solo")], "fallbacks": ["secret"]},
            ],
            llm={
                "retries": 0,
                "cooldown_s": 60,
                "rules": [{"name": "fast-to-secret", "model": "gpt-*", "when_tags": ["fast"], "group": "secret"}],
                "experiments": [
                    {
                        "name": "ab",
                        "model": "ab-test",
                        "arms": [{"group": "secret", "weight": 99}, {"group": "chat", "weight": 1}],
                    }
                ],
            },
        )
        async with run_hub(config) as running:
            yield running


@pytest.fixture
def fresh(state: FakeState) -> FakeState:
    state.faults.clear()
    state.received.clear()
    return state


async def chat(running: Any, agent: str, model: str, **extra: Any) -> str:
    async with openai.AsyncOpenAI(base_url=f"{running.url}/v1", api_key=KEYS[agent], max_retries=0) as client:
        reply = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra)
    return str(reply.choices[0].message.content)


async def raw(running: Any, agent: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {KEYS[agent]}"}) as client:
        response = await client.post(f"{running.url}/v1{path}", json=body)
    return response.status_code, response.json()


async def test_own_team_and_glob_grants_allow_their_models(grants_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        by_glob = await chat(grants_hub, "alice", "gpt-mini")
        by_name = await chat(grants_hub, "alice", "chat")
        by_team = await chat(grants_hub, "bob", "team-model")
        async with openai.AsyncOpenAI(base_url=f"{grants_hub.url}/v1", api_key=KEYS["bob"], max_retries=0) as c:
            vectors = await c.embeddings.create(model="embed", input=["one"])
    assert by_glob == by_name == by_team == "echo: hi"
    assert len(vectors.data) == 1
    assert fresh.models_called() == ["fake-mini", "fake-gpt", "fake-team", "fake-embed"]


@pytest.mark.parametrize(("agent", "model"), [("alice", "secret"), ("bob", "gpt-mini"), ("carol", "chat")])
async def test_a_model_not_granted_is_refused_like_an_unknown_one(
    grants_hub: Any, fresh: FakeState, agent: str, model: str
) -> None:
    with anyio.fail_after(30):
        with pytest.raises(openai.NotFoundError):
            await chat(grants_hub, agent, model)
        calls: list[tuple[str, dict[str, Any]]] = [
            ("/chat/completions", {"messages": [{"role": "user", "content": "x"}]}),
            ("/messages", {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}),
            ("/embeddings", {"input": "x"}),
        ]
        for path, extra in calls:
            denied = await raw(grants_hub, agent, path, {"model": model, **extra})
            unknown = await raw(grants_hub, agent, path, {"model": "no-such-model", **extra})
            assert denied[0] == unknown[0] == 404, path
            assert denied[1] == json.loads(json.dumps(unknown[1]).replace("no-such-model", model)), path
    assert fresh.received == []  # nothing reached a provider


async def test_models_lists_only_granted_groups(grants_hub: Any) -> None:
    listed: dict[str, set[str]] = {}
    with anyio.fail_after(30):
        for agent in ("alice", "bob", "carol"):
            async with openai.AsyncOpenAI(base_url=f"{grants_hub.url}/v1", api_key=KEYS[agent], max_retries=0) as c:
                listed[agent] = {m.id async for m in c.models.list()}
    assert listed["alice"] == {"chat", "gpt-mini", "flaky", "ab-test"}
    assert listed["bob"] == {"team-model", "embed"}
    assert listed["carol"] == set()


async def test_a_fallback_to_an_ungranted_group_is_skipped(grants_hub: Any, fresh: FakeState) -> None:
    fresh.faults.append(Fault(status=429, model="fake-flaky", retry_after_s=7, times=2))
    with anyio.fail_after(30):
        answer = await chat(grants_hub, "alice", "flaky")
    assert answer == "echo: hi"
    # flaky falls back to [secret, chat]: alice may not use secret, so chat answers
    assert fresh.models_called() == ["fake-flaky", "fake-flaky", "fake-gpt"]


async def test_no_granted_fallback_leaves_the_providers_error(grants_hub: Any, fresh: FakeState) -> None:
    fresh.faults.append(Fault(status=429, model="fake-solo", retry_after_s=7, times=2))
    with anyio.fail_after(30), pytest.raises(openai.RateLimitError):
        await chat(grants_hub, "dave", "solo")
    assert "fake-secret" not in fresh.models_called()


async def test_rules_and_experiments_stay_within_the_grants(grants_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        ruled = await chat(grants_hub, "alice", "gpt-mini", extra_headers={"x-hub-tags": "fast"})
        arms = [await chat(grants_hub, "alice", "ab-test") for _ in range(3)]
        with pytest.raises(openai.NotFoundError):
            await chat(grants_hub, "bob", "ab-test")
    assert ruled == "echo: hi"
    assert arms == ["echo: hi"] * 3
    # the rule names secret, which alice was not granted: it does not apply to her; the arm she may use answers
    assert fresh.models_called() == ["fake-mini", "fake-gpt", "fake-gpt", "fake-gpt"]


async def test_the_admin_api_keeps_model_grants_and_a_new_grant_applies_at_once(grants_hub: Any) -> None:
    admin = {"authorization": f"Bearer {ADMIN}"}
    with anyio.fail_after(30):
        async with httpx.AsyncClient(base_url=f"{grants_hub.url}/admin", headers=admin) as a:
            before = (await a.get("/agents/carol")).json()
            put = await a.put("/agents/carol", json={"name": "carol", "models": ["secret"]})
            after = (await a.get("/agents/carol")).json()
        answer = await chat(grants_hub, "carol", "secret")
        with pytest.raises(openai.NotFoundError):
            await chat(grants_hub, "carol", "chat")
    assert before["config"]["models"] == []
    assert put.status_code == 200
    assert after["config"]["models"] == ["secret"]
    assert answer == "echo: hi"


async def test_a_refused_model_leaves_an_audit_record(grants_hub: Any) -> None:
    with anyio.fail_after(30):
        with pytest.raises(openai.NotFoundError):
            await chat(grants_hub, "bob", "chat")
        await grants_hub.hub.audit.flushed()
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {ADMIN}"}) as admin:
            page = (await admin.get(f"{grants_hub.url}/admin/audit", params={"agent": "bob", "limit": 100})).json()
    refused = [r for r in page["records"] if r["kind"] == "llm" and r["target"] == "chat"]
    assert len(refused) == 1
    assert refused[0]["outcome"] == "error"
    assert "not served by this hub" in refused[0]["error"]
