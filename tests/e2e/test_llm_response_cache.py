"""The response cache end to end: the openai and anthropic SDKs → hub /v1 → cache → litellm → fake providers.

The fake provider echoes the last user message, so an answer served from the cache shows which
question it was made for, and `FakeState.received` shows whether the provider was asked at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anthropic
import anyio
import httpx
import openai
import pytest

from hub.llm.cache.local_embedder import LocalEmbedder
from tests.e2e.llm_fixtures import ALICE, BOB, agents, deployment, loopback_fakes, serve_fakes
from tests.servers.llm.faults import FakeState

pytestmark = pytest.mark.anyio

ADMIN = "admin-token-llm-response-cache-00000"


@pytest.fixture(scope="module")
async def cache_hub(run_hub: Any, make_hub_config: Any, state: FakeState) -> AsyncIterator[Any]:
    async with loopback_fakes(state) as base:
        config = make_hub_config(
            server={"admin_token": ADMIN},
            agents=agents(),
            teams=[{"name": "research"}],
            models=[
                {"name": "chat", "deployments": [deployment(base, "gpt", capabilities=["tools"])]},
                {"name": "other", "deployments": [deployment(base, "other")]},
                {"name": "claude", "deployments": [deployment(base, "sonnet", "anthropic")]},
            ],
            llm={"retries": 0, "cache": {"share": "agent", "streaming": True}},
        )
        async with run_hub(config) as running:
            yield running


@pytest.fixture
def asked(state: FakeState) -> list[str]:
    """The last user message of each request the provider received during the test."""
    state.received.clear()
    return _Asked(state)  # type: ignore[return-value]


class _Asked(list[str]):
    def __init__(self, state: FakeState) -> None:
        super().__init__()
        self._state = state

    def now(self) -> list[str]:
        return [_last_user(r.body) for r in self._state.received]


def _last_user(body: dict[str, Any]) -> str:
    content = [m for m in body.get("messages", []) if m.get("role") == "user"][-1]["content"]
    return content if isinstance(content, str) else " ".join(b.get("text", "") for b in content)


async def ask(hub: Any, text: str, key: str = ALICE, model: str = "chat", **extra: Any) -> str:
    async with openai.AsyncOpenAI(base_url=f"{hub.url}/v1", api_key=key, max_retries=0, timeout=30) as client:
        reply = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}], **extra)
    return reply.choices[0].message.content or ""


async def test_an_exact_repeat_and_a_paraphrase_are_answered_without_the_provider(
    cache_hub: Any, asked: _Asked
) -> None:
    with anyio.fail_after(60):
        first = await ask(cache_hub, "How do I reset my password?")
        again = await ask(cache_hub, "How do I reset my password?")
        similar = await ask(cache_hub, "How can I reset my password?")
        different = await ask(cache_hub, "How do I reset my router?")
    assert first == again == similar == "echo: How do I reset my password?"
    assert different == "echo: How do I reset my router?"
    assert asked.now() == ["How do I reset my password?", "How do I reset my router?"]


async def test_another_agent_is_not_answered_from_alices_cache(cache_hub: Any, asked: _Asked) -> None:
    with anyio.fail_after(60):
        await ask(cache_hub, "What is the capital of France?")
        bobs = await ask(cache_hub, "What is the capital of France?", key=BOB)
        alices = await ask(cache_hub, "Which city is the capital of France?")
    assert bobs == alices == "echo: What is the capital of France?"
    assert asked.now() == ["What is the capital of France?"] * 2  # once for alice, once for bob


async def test_another_model_or_temperature_is_another_answer(cache_hub: Any, asked: _Asked) -> None:
    with anyio.fail_after(60):
        await ask(cache_hub, "Explain how vaccines work.")
        await ask(cache_hub, "Explain how vaccines work.", model="other")
        await ask(cache_hub, "Explain how vaccines work.", temperature=0.9)
        await ask(cache_hub, "Explain how vaccines work.")
    assert asked.now() == ["Explain how vaccines work."] * 3


async def test_a_sensitive_request_is_neither_answered_from_nor_kept(cache_hub: Any, asked: _Asked) -> None:
    secret = {"extra_headers": {"X-Hub-Sensitive": "true"}}
    with anyio.fail_after(60):
        await ask(cache_hub, "Summarize my medical record.", **secret)
        await ask(cache_hub, "Summarize my medical record.")
        await ask(cache_hub, "Summarize my medical record.", **secret)
    assert asked.now() == ["Summarize my medical record."] * 3  # the second one stored, the third skipped it


async def test_a_tool_call_is_not_kept(cache_hub: Any, asked: _Asked) -> None:
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    with anyio.fail_after(60):
        for _ in range(2):
            async with openai.AsyncOpenAI(base_url=f"{cache_hub.url}/v1", api_key=ALICE, max_retries=0) as client:
                reply = await client.chat.completions.create(
                    model="chat", messages=[{"role": "user", "content": "Weather in Lisbon?"}], tools=tools
                )
            assert reply.choices[0].message.tool_calls
    assert asked.now() == ["Weather in Lisbon?"] * 2


async def test_a_stream_is_answered_from_a_stored_answer(cache_hub: Any, asked: _Asked) -> None:
    with anyio.fail_after(60):
        await ask(cache_hub, "How do I delete my account?")
        async with openai.AsyncOpenAI(base_url=f"{cache_hub.url}/v1", api_key=ALICE, max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "How can I delete my account?"}], stream=True
            )
            chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "echo: How do I delete my account?"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert asked.now() == ["How do I delete my account?"]


async def test_anthropic_messages_are_cached_too(cache_hub: Any, asked: _Asked) -> None:
    async def ask_claude(text: str, stream: bool = False) -> str:
        async with anthropic.AsyncAnthropic(base_url=cache_hub.url, api_key=ALICE, max_retries=0) as client:
            messages: Any = [{"role": "user", "content": text}]
            if stream:
                async with client.messages.stream(model="claude", max_tokens=50, messages=messages) as events:
                    return await events.get_final_text()
            reply = await client.messages.create(model="claude", max_tokens=50, messages=messages)
            return "".join(b.text for b in reply.content if b.type == "text")

    with anyio.fail_after(60):
        first = await ask_claude("Who painted the Mona Lisa?")
        similar = await ask_claude("Which artist painted the Mona Lisa?")
        streamed = await ask_claude("Who painted the Mona Lisa?", stream=True)
    assert similar == streamed == first
    assert asked.now() == ["Who painted the Mona Lisa?"]


async def test_metrics_count_hits_by_kind(cache_hub: Any) -> None:
    with anyio.fail_after(60):
        await ask(cache_hub, "How many continents are there?")
        await ask(cache_hub, "What is the number of continents?")
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"{cache_hub.url}/metrics")).text
    counts = {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.startswith(("hub_llm_cache_", 'hub_llm_requests_total{agent="alice"'))
    }
    assert counts['hub_llm_cache_lookups_total{result="semantic_hit"}'] >= 1
    assert counts['hub_llm_cache_lookups_total{result="miss"}'] >= 1
    assert counts["hub_llm_cache_stores_total"] >= 1
    assert 0 < counts["hub_llm_cache_hit_ratio"] < 1
    assert counts['hub_llm_requests_total{agent="alice",arm="",model="chat",status="cached"}'] >= 1


async def test_an_embedding_deployment_can_supply_the_vectors(
    run_hub: Any, make_hub_config: Any, state: FakeState
) -> None:
    """The fake's vectors depend only on a text's length: two questions of one length look identical to it."""
    async with serve_fakes(state) as base:
        config = make_hub_config(
            agents=agents(),
            teams=[{"name": "research"}],
            models=[
                {"name": "chat", "deployments": [deployment(base, "gpt")]},
                {"name": "embed", "deployments": [deployment(base, "embed", capabilities=["embeddings"])]},
            ],
            llm={"retries": 0, "cache": {"embedder": "embed", "guard": False}},
        )
        state.received.clear()
        with anyio.fail_after(60):
            async with run_hub(config) as running:
                first = await ask(running, "Tell me about cats.")
                second = await ask(running, "Tell me about dogs.")
    assert first == second == "echo: Tell me about cats."
    embedded = [r.body["input"] for r in state.received if r.path == "/v1/embeddings"]
    assert embedded == [["Tell me about cats."], ["Tell me about dogs."]]


async def test_the_embedding_deployments_tokens_are_charged_to_the_agent_whose_request_needed_them(
    run_hub: Any, make_hub_config: Any, state: FakeState
) -> None:
    async with serve_fakes(state) as base:
        embed = deployment(base, "embed", capabilities=["embeddings"], input_price=0.0001, output_price=0.0)
        config = make_hub_config(
            server={"admin_token": ADMIN},
            agents=agents(),
            teams=[{"name": "research"}],
            models=[
                {"name": "chat", "deployments": [deployment(base, "gpt")]},
                {"name": "embed", "deployments": [embed]},
            ],
            llm={"retries": 0, "cache": {"embedder": "embed", "guard": False}},
        )
        with anyio.fail_after(60):
            async with run_hub(config) as running:
                await ask(running, "Tell me about cats please.")  # stored: embedded once (5 words)
                await ask(running, "Tell me about dogs please.", key=BOB)  # bob's scope: a miss, embedded
                rows = await usage(running, "agent,team,purpose,model,status")
                async with httpx.AsyncClient() as http:
                    metrics = (await http.get(f"{running.url}/metrics")).text
    embedding = [r for r in rows if r["purpose"] == "cache-embedding"]
    assert [(r["agent"], r["team"], r["model"], r["status"]) for r in embedding] == [
        ("alice", "research", "embed", "ok"),
        ("bob", "research", "embed", "ok"),
    ]
    assert [(r["requests"], r["prompt_tokens"], r["completion_tokens"]) for r in embedding] == [(1, 5, 0), (1, 5, 0)]
    assert [r["cost"] for r in embedding] == [pytest.approx(5 * 0.0001)] * 2
    requests = [(r["agent"], r["model"]) for r in rows if r["purpose"] == "request"]
    assert requests == [("alice", "chat"), ("bob", "chat")]  # the agents' own calls stay apart
    assert 'hub_llm_tokens_total{agent="bob",kind="prompt",model="embed"} 5.0' in metrics


async def test_the_local_model_costs_nothing_and_leaves_no_usage_row(cache_hub: Any, asked: _Asked) -> None:
    with anyio.fail_after(60):
        await ask(cache_hub, "What does a local embedding model cost?")  # looked up by meaning: embedded
        rows = await usage(cache_hub, "purpose,model")
    assert ("request", "chat") in {(r["purpose"], r["model"]) for r in rows}
    assert {r["purpose"] for r in rows} == {"request"}
    assert cache_hub.hub.llm.cache.embedder.state == "ready"  # it did embed
    assert asked.now() == ["What does a local embedding model cost?"]


async def test_the_local_model_is_loaded_at_start_before_any_request(
    run_hub: Any, make_hub_config: Any, state: FakeState
) -> None:
    async with serve_fakes(state) as base:
        config = make_hub_config(
            agents=agents(),
            teams=[{"name": "research"}],
            models=[{"name": "chat", "deployments": [deployment(base, "gpt")]}],
            llm={"cache": {}},
        )
        async with run_hub(config) as running:
            async with httpx.AsyncClient() as http:
                ready = await http.get(f"{running.url}/ready")  # served at once: the model loads in the background
                cache = running.hub.llm.cache
                embedder = cache.embedder
                assert isinstance(embedder, LocalEmbedder)
                with anyio.fail_after(120):
                    await embedder.loaded.wait()
                loaded = await http.get(f"{running.url}/ready")
            stats = cache.stats
            written = running.hub.llm.usage.written
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    assert ready.json()["llm_cache_embedder"] in ("loading", "ready")
    assert loaded.json()["llm_cache_embedder"] == "ready"
    assert (stats.exact_hits, stats.semantic_hits, stats.misses, stats.stores) == (0, 0, 0, 0)  # no request
    assert written == 0


async def usage(running: Any, group_by: str) -> list[dict[str, Any]]:
    await running.hub.llm.usage.flushed()
    admin = {"authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=f"{running.url}/admin", headers=admin) as client:
        report = await client.get("/llm/usage", params={"group_by": group_by})
    assert report.status_code == 200
    rows: list[dict[str, Any]] = report.json()["rows"]
    return rows


def test_the_cache_settings_are_checked(make_hub_config: Any) -> None:
    models = [{"name": "chat", "deployments": [{"name": "d", "provider": "openai", "model": "m"}]}]
    with pytest.raises(ValueError, match=r"needs storage\.redis_url"):
        make_hub_config(models=models, llm={"cache": {"backend": "redis"}})
    with pytest.raises(ValueError, match=r"llm\.cache\.embedder: model group 'nope' is not defined"):
        make_hub_config(models=models, llm={"cache": {"embedder": "nope"}})
