"""Anthropic bodies read like OpenAI ones, and a stored answer replayed as its API's stream."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.config.llm_cache import LlmCacheConfig
from hub.llm.cache import CacheScope, from_anthropic_messages, from_openai_chat
from hub.llm.cache.local_embedder import LocalEmbedder
from hub.llm.cache.replay import replay_events
from hub.llm.cache.rules import keeps_answer, skip_reason
from tests.hub.llm.cache.conftest import answer, memory_cache

ALICE = CacheScope("alice")


def anthropic(text: str, **fields: Any) -> dict[str, Any]:
    return {"model": "claude-test", "max_tokens": 100, "messages": [{"role": "user", "content": text}], **fields}


def anthropic_answer(text: str, stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 3},
    }


def test_an_anthropic_body_keys_its_system_field_and_parameters() -> None:
    request = from_anthropic_messages(anthropic("Hi", system=[{"type": "text", "text": "Be brief."}], top_k=5))
    assert request.system == "Be brief."
    assert request.params == {"max_tokens": 100, "top_k": 5}
    assert request.messages == ({"role": "user", "content": "Hi"},)


@pytest.mark.anyio
async def test_anthropic_requests_are_answered_exactly_and_by_meaning(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)
    assert await cache.store(
        from_anthropic_messages(anthropic("How do I reset my password?")), anthropic_answer("Link."), ALICE
    )
    assert await cache.lookup(from_anthropic_messages(anthropic("How do I reset my password?")), ALICE) is not None
    hit = await cache.lookup(from_anthropic_messages(anthropic("How can I reset my password?")), ALICE)
    assert hit is not None
    assert hit.match == "semantic"
    assert (
        await cache.lookup(from_anthropic_messages(anthropic("How can I reset my password?", system="Pirate.")), ALICE)
        is None
    )


def test_anthropic_tool_turns_are_skipped_and_tool_use_answers_not_kept() -> None:
    turns = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
    ]
    request = from_anthropic_messages({"model": "claude-test", "max_tokens": 10, "messages": turns})
    assert skip_reason(request, LlmCacheConfig()) == "tool_calling"
    calls = anthropic_answer("") | {"content": [{"type": "tool_use", "id": "t2", "name": "w", "input": {}}]}
    assert not keeps_answer(calls | {"stop_reason": "tool_use"})
    assert keeps_answer(anthropic_answer("fine"))


def test_an_openai_answer_replays_as_chunks_that_add_up_to_it() -> None:
    stored = answer("Use the reset link.") | {"created": 1, "usage": {"prompt_tokens": 4, "completion_tokens": 5}}
    events = replay_events("chat", stored)
    assert events[-1] == b"data: [DONE]\n\n"
    chunks = [json.loads(e.removeprefix(b"data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "Use the reset link."
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]] == [None, "stop"]
    assert chunks[-1]["usage"] == stored["usage"]


def test_an_anthropic_answer_replays_as_its_event_sequence() -> None:
    events = replay_events("messages", anthropic_answer("Use the link."))
    names = [e.split(b"\n")[0].removeprefix(b"event: ").decode() for e in events]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    data = [json.loads(e.split(b"\n")[1].removeprefix(b"data: ")) for e in events]
    assert data[2]["delta"]["text"] == "Use the link."
    assert data[4]["delta"]["stop_reason"] == "end_turn"
    assert not data[0]["message"]["content"]


def test_an_openai_body_marked_sensitive_in_metadata_is_skipped() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "metadata": {"sensitive": "true"}}
    assert skip_reason(from_openai_chat(body), LlmCacheConfig()) == "sensitive"
