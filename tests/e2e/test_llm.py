"""The LLM API end to end: the official openai and anthropic SDKs → hub → litellm → fake providers.

Covers the OpenAI-compatible chat (JSON, SSE, tools, JSON mode), embeddings and models endpoints,
the Anthropic-compatible messages endpoint (JSON and SSE), auth with hub identities, fallbacks,
usage rows and the disconnect that cancels the upstream stream. Nothing leaves loopback.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import anyio
import httpx
import openai
import pytest

from tests.e2e.llm_fixtures import ALICE, BOB, PROVIDER_KEY, agents, deployment, loopback_fakes
from tests.servers.llm.faults import FakeState, Fault

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def llm_hub(run_hub, make_hub_config, state: FakeState) -> AsyncIterator[Any]:
    async with loopback_fakes(state) as base:
        config = make_hub_config(
            agents=agents(),
            teams=[{"name": "research"}],
            models=[
                {
                    "name": "chat",
                    "deployments": [
                        deployment(base, "gpt", capabilities=["tools", "json"], input_price=1e-6, output_price=2e-6)
                    ],
                },
                {"name": "claude", "deployments": [deployment(base, "sonnet", "anthropic", capabilities=["tools"])]},
                {"name": "llama", "deployments": [deployment(base, "small", "ollama")]},
                {
                    "name": "flaky",
                    "deployments": [deployment(base, "primary"), deployment(base, "secondary")],
                    "fallbacks": ["chat"],
                },
                {"name": "lonely", "deployments": [deployment(base, "lonely")], "fallbacks": ["llama"]},
                {"name": "embed", "deployments": [deployment(base, "embed", capabilities=["embeddings"])]},
            ],
            llm={"retries": 0, "cooldown_s": 60},
        )
        async with run_hub(config) as running:
            try:
                yield running
            finally:
                await close_clients()


@pytest.fixture
def fresh(state: FakeState) -> FakeState:
    state.faults.clear()
    state.received.clear()
    state.latency_s = state.token_delay_s = 0.0
    state.stream_tokens = None
    state.stream_cancelled = anyio.Event()
    state.stream_started = anyio.Event()
    return state


_clients: dict[tuple[str, str, str], Any] = {}


def oai(running: Any, key: str = ALICE) -> openai.AsyncOpenAI:
    """An openai SDK client of the hub for `key` (closed when the module's hub stops)."""
    found = _clients.get(("openai", running.url, key))
    if found is None:
        found = openai.AsyncOpenAI(base_url=f"{running.url}/v1", api_key=key, max_retries=0, timeout=30)
        _clients["openai", running.url, key] = found
    return found  # type: ignore[no-any-return]


def claude(running: Any, key: str = ALICE) -> anthropic.AsyncAnthropic:
    found = _clients.get(("anthropic", running.url, key))
    if found is None:
        found = anthropic.AsyncAnthropic(base_url=running.url, api_key=key, max_retries=0, timeout=30)
        _clients["anthropic", running.url, key] = found
    return found  # type: ignore[no-any-return]


async def close_clients() -> None:
    for client in _clients.values():
        await client.close()
    _clients.clear()


async def test_chat_completion_through_the_sdk(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        reply = await oai(llm_hub).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hello hub"}]
        )
    assert reply.choices[0].message.content == "echo: hello hub"
    assert reply.model == "chat"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 3)
    sent = fresh.received[-1]
    assert sent.model == "fake-gpt"
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {PROVIDER_KEY}"  # the vault's key, not the agent's


async def test_chat_stream_arrives_chunk_by_chunk_with_usage(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        stream = await oai(llm_hub).chat.completions.create(
            model="chat",
            messages=[{"role": "user", "content": "one two three"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "echo: one two three"
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 4  # one chunk per token
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 4
    assert all(c.model == "chat" for c in chunks)


async def test_usage_chunk_is_only_sent_when_asked_for(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        stream = await oai(llm_hub).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert all(c.usage is None for c in chunks)
    assert fresh.received[-1].body["stream_options"] == {"include_usage": True}  # the hub still counts


async def test_tool_calls_pass_through(llm_hub: Any, fresh: FakeState) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    with anyio.fail_after(30):
        reply = await oai(llm_hub).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "find it"}], tools=tools
        )
        stream = await oai(llm_hub).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "find it"}], tools=tools, stream=True
        )
        streamed = [c async for c in stream]
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("lookup", {"text": "find it"})
    assert reply.choices[0].finish_reason == "tool_calls"
    arguments = "".join(
        tc.function.arguments or "" for c in streamed if c.choices for tc in (c.choices[0].delta.tool_calls or [])
    )
    assert json.loads(arguments) == {"text": "find it"}
    assert fresh.received[0].body["tools"][0]["function"]["name"] == "lookup"


async def test_json_mode(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        reply = await oai(llm_hub).chat.completions.create(
            model="chat", messages=[{"role": "user", "content": "as json"}], response_format={"type": "json_object"}
        )
    assert json.loads(reply.choices[0].message.content or "") == {"echo": "as json"}
    assert fresh.received[-1].body["response_format"] == {"type": "json_object"}


async def test_a_tools_request_only_goes_where_tools_are_supported(llm_hub: Any, fresh: FakeState) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    with anyio.fail_after(30), pytest.raises(openai.BadRequestError) as refused:
        await oai(llm_hub).chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "x"}], tools=tools
        )
    assert "no deployment of group 'llama' supports cap:tools" in str(refused.value)
    assert fresh.received == []


async def test_embeddings_and_models(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        vectors = await oai(llm_hub).embeddings.create(model="embed", input=["a b", "c"])
        models = await oai(llm_hub).models.list()
    assert [len(d.embedding) for d in vectors.data] == [8, 8]
    assert vectors.usage.prompt_tokens == 3
    assert {m.id for m in models.data} >= {"chat", "claude", "llama", "flaky", "embed"}


async def test_anthropic_messages_through_the_sdk(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        message = await claude(llm_hub).messages.create(
            model="claude", max_tokens=64, messages=[{"role": "user", "content": "hello claude"}]
        )
    assert message.content[0].type == "text"
    assert message.content[0].text == "echo: hello claude"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (2, 3)
    assert message.stop_reason == "end_turn"
    sent = fresh.received[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == PROVIDER_KEY


async def test_anthropic_stream_through_the_sdk(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        async with claude(llm_hub).messages.stream(
            model="claude", max_tokens=64, messages=[{"role": "user", "content": "stream this please"}]
        ) as stream:
            pieces = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
    assert "".join(pieces) == "echo: stream this please"
    assert len(pieces) == 4
    assert final.usage.output_tokens == 4


async def test_anthropic_api_in_front_of_an_openai_deployment(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        message = await claude(llm_hub).messages.create(
            model="chat", max_tokens=64, messages=[{"role": "user", "content": "cross over"}]
        )
    assert message.content[0].text == "echo: cross over"
    assert fresh.received[-1].path == "/v1/chat/completions"


async def test_ollama_wire_format_streams_too(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        stream = await oai(llm_hub).chat.completions.create(
            model="llama", messages=[{"role": "user", "content": "via ollama"}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "echo: via ollama"
    assert fresh.received[-1].path == "/api/chat"


async def test_unknown_key_and_unknown_model_are_refused(llm_hub: Any, fresh: FakeState) -> None:
    with anyio.fail_after(30):
        with pytest.raises(openai.AuthenticationError):
            await oai(llm_hub, "hub_not_a_key").chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(anthropic.AuthenticationError):
            await claude(llm_hub, "hub_not_a_key").messages.create(
                model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}]
            )
        with pytest.raises(openai.NotFoundError) as unknown:
            await oai(llm_hub).chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
        with pytest.raises(openai.BadRequestError) as malformed:
            await oai(llm_hub).chat.completions.create(model="chat", messages=[])
    assert "model 'gpt-9' is not served by this hub" in str(unknown.value)
    assert "messages" in str(malformed.value)
    assert fresh.received == []


async def test_a_failing_deployment_falls_back_and_cools_down(llm_hub: Any, fresh: FakeState) -> None:
    fresh.faults.append(Fault(status=500, model="fake-primary", times=100))
    with anyio.fail_after(30):
        replies = [
            await oai(llm_hub).chat.completions.create(model="flaky", messages=[{"role": "user", "content": "x"}])
            for _ in range(6)
        ]
    assert all(r.choices[0].message.content == "echo: x" for r in replies)
    models = fresh.models_called()
    assert models.count("fake-primary") <= 2  # after its failure it is cooled down, not retried every time
    assert models.count("fake-secondary") + models.count("fake-gpt") >= 6


async def test_a_rate_limited_group_falls_back_to_another_group(llm_hub: Any, fresh: FakeState) -> None:
    fresh.faults.append(Fault(status=429, model="fake-lonely", retry_after_s=7, times=2))
    with anyio.fail_after(30):
        reply = await oai(llm_hub).chat.completions.create(model="lonely", messages=[{"role": "user", "content": "y"}])
    assert reply.choices[0].message.content == "echo: y"
    # the direct attempt, litellm's own attempt on the same deployment, then the fallback group
    assert fresh.models_called() == ["fake-lonely", "fake-lonely", "llama-small"]


async def test_provider_rate_limit_without_fallback_is_a_429_with_retry_after(llm_hub: Any, fresh: FakeState) -> None:
    fresh.faults.append(Fault(status=429, model="claude-sonnet", retry_after_s=7, times=5))
    with anyio.fail_after(30), pytest.raises(anthropic.RateLimitError) as limited:
        await claude(llm_hub).messages.create(model="claude", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert limited.value.status_code == 429
    assert int(limited.value.response.headers["retry-after"]) >= 1
    assert PROVIDER_KEY not in limited.value.response.text


async def test_client_disconnect_cancels_the_upstream_stream(llm_hub: Any, fresh: FakeState) -> None:
    fresh.stream_tokens = 500
    fresh.token_delay_s = 0.02
    body = {"model": "chat", "messages": [{"role": "user", "content": "long"}], "stream": True}
    with anyio.fail_after(30):
        async with (
            httpx.AsyncClient(timeout=30) as http,
            http.stream(
                "POST", f"{llm_hub.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {BOB}"}
            ) as response,
        ):
            assert response.status_code == 200
            received = 0
            async for line in response.aiter_lines():
                received += line.startswith("data: ")
                if received >= 5:
                    break
        await fresh.stream_cancelled.wait()
        await llm_hub.hub.llm.usage.flushed()
    assert fresh.completed == 0 or fresh.cancelled >= 1
    assert fresh.cancelled >= 1
