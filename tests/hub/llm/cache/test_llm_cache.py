"""The cache on its embedded backend with the real local model: what it serves, to whom, and when it stays out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from hub.config.llm_cache import LlmCacheConfig
from hub.llm.cache import CacheScope, LlmCache, from_openai_chat
from hub.llm.cache.embedder import DeploymentEmbedder
from hub.llm.cache.local_embedder import LocalEmbedder
from hub.llm.cache.memory import MemoryBackend
from tests.hub.llm.cache.conftest import answer, chat, memory_cache

pytestmark = pytest.mark.anyio

ALICE = CacheScope("alice", team="support")
BOB = CacheScope("bob", team="support")
CAROL = CacheScope("carol", team="sales")


async def test_the_same_request_is_answered_exactly(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)
    assert await cache.lookup(chat("How do I reset my password?"), ALICE) is None
    assert await cache.store(chat("How do I reset my password?"), answer("Use the reset link."), ALICE)
    hit = await cache.lookup(chat("How do I reset my password?"), ALICE)
    assert hit is not None
    assert (hit.match, hit.similarity) == ("exact", 1.0)
    assert hit.response == answer("Use the reset link.")
    assert cache.stats.snapshot() == {"exact_hit": 1, "semantic_hit": 0, "miss": 1, "store": 1, "error": 0}
    assert cache.stats.hit_ratio == 0.5


async def test_a_paraphrase_is_answered_by_meaning(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)
    await cache.store(chat("How do I reset my password?"), answer("Use the reset link."), ALICE)
    hit = await cache.lookup(chat("How can I reset my password?"), ALICE)
    assert hit is not None
    assert hit.match == "semantic"
    assert cache.config.threshold <= hit.similarity < 1.0
    assert hit.response == answer("Use the reset link.")
    assert cache.stats.semantic_hits == 1


async def test_a_different_question_below_the_threshold_is_a_miss(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)
    await cache.store(chat("How do I reset my password?"), answer("Use the reset link."), ALICE)
    assert await cache.lookup(chat("How do I reset my router?"), ALICE) is None
    assert await cache.lookup(chat("How can I reset my password?"), ALICE) is not None
    strict = memory_cache(local_embedder, threshold=0.999)
    await strict.store(chat("How do I reset my password?"), answer("Use the reset link."), ALICE)
    assert await strict.lookup(chat("How can I reset my password?"), ALICE) is None
    assert strict.stats.misses == 1


@pytest.mark.parametrize(
    ("share", "bob_hits", "carol_hits"),
    [("agent", False, False), ("team", True, False), ("global", True, True)],
)
async def test_answers_cross_agents_only_as_far_as_share_allows(
    local_embedder: LocalEmbedder, share: str, bob_hits: bool, carol_hits: bool
) -> None:
    cache = memory_cache(local_embedder, share=share)
    await cache.store(chat("How do I reset my password?"), answer("alice's answer"), ALICE)
    for asker, expected in ((BOB, bob_hits), (CAROL, carol_hits)):
        exact = await cache.lookup(chat("How do I reset my password?"), asker)
        similar = await cache.lookup(chat("How can I reset my password?"), asker)
        assert (exact is not None, similar is not None) == (expected, expected), asker
    assert await cache.lookup(chat("How do I reset my password?"), ALICE) is not None


async def test_an_agent_without_a_team_keeps_its_answers_when_teams_share(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder, share="team")
    await cache.store(chat("How do I reset my password?"), answer("loner"), CacheScope("loner"))
    assert await cache.lookup(chat("How do I reset my password?"), CacheScope("other")) is None
    assert await cache.lookup(chat("How do I reset my password?"), CacheScope("loner")) is not None


@pytest.mark.parametrize(
    "changed",
    [
        {"model": "gpt-other"},
        {"system": "You are verbose."},
        {"temperature": 0.9},
        {"top_p": 0.5},
        {"max_tokens": 20},
        {"response_format": {"type": "json_object"}},
        {"tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]},
    ],
)
async def test_model_system_prompt_and_sampling_are_part_of_the_key(
    local_embedder: LocalEmbedder, changed: dict[str, Any]
) -> None:
    cache = memory_cache(local_embedder)
    await cache.store(chat("How do I reset my password?", temperature=0.0), answer("stored"), ALICE)
    base = {"temperature": 0.0, **changed}
    assert await cache.lookup(chat("How do I reset my password?", **base), ALICE) is None
    assert await cache.lookup(chat("How can I reset my password?", **base), ALICE) is None
    assert await cache.lookup(chat("How do I reset my password?", temperature=0.0), ALICE) is not None


async def test_earlier_turns_must_match_exactly_for_a_match_by_meaning(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)

    def follow_up(topic: str, question: str) -> Any:
        turns = [
            {"role": "user", "content": f"Tell me about {topic}."},
            {"role": "assistant", "content": f"{topic} is a language."},
            {"role": "user", "content": question},
        ]
        return from_openai_chat({"model": "gpt-test", "messages": turns})

    await cache.store(follow_up("Python", "How do I install it?"), answer("pip"), ALICE)
    assert await cache.lookup(follow_up("Python", "How can I install it?"), ALICE) is not None
    assert await cache.lookup(follow_up("Rust", "How do I install it?"), ALICE) is None


async def test_streaming_requests_are_skipped_unless_configured(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)
    assert not await cache.store(chat("What is DNS?", stream=True), answer("names"), ALICE)
    await cache.store(chat("What is DNS?"), answer("names"), ALICE)
    assert await cache.lookup(chat("What is DNS?", stream=True), ALICE) is None
    assert cache.stats.skips["streaming"] == 1
    streaming = memory_cache(local_embedder, streaming=True)
    await streaming.store(chat("What is DNS?"), answer("names"), ALICE)
    assert await streaming.lookup(chat("What is DNS?", stream=True), ALICE) is not None


async def test_long_conversations_are_skipped(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder, max_messages=3)
    turns: list[dict[str, Any]] = []
    for n in range(2):
        turns += [{"role": "user", "content": f"question {n}"}, {"role": "assistant", "content": f"answer {n}"}]
    long = from_openai_chat({"model": "gpt-test", "messages": [*turns, {"role": "user", "content": "and then?"}]})
    short = from_openai_chat({"model": "gpt-test", "messages": [*turns[2:], {"role": "user", "content": "and then?"}]})
    assert not await cache.store(long, answer("stored"), ALICE)
    assert await cache.lookup(long, ALICE) is None
    assert cache.stats.skips["long_conversation"] == 1
    assert await cache.store(short, answer("stored"), ALICE)
    assert await cache.lookup(short, ALICE) is not None


@pytest.mark.parametrize(
    "marked",
    [
        from_openai_chat({"model": "gpt-test", "messages": [{"role": "user", "content": "My SSN?"}]}, sensitive=True),
        from_openai_chat(
            {
                "model": "gpt-test",
                "messages": [{"role": "user", "content": "My SSN?"}],
                "metadata": {"sensitive": "true"},
            }
        ),
    ],
    ids=["by-the-caller", "by-metadata"],
)
async def test_sensitive_requests_are_neither_stored_nor_answered(local_embedder: LocalEmbedder, marked: Any) -> None:
    cache = memory_cache(local_embedder)
    assert not await cache.store(marked, answer("123-45-6789"), ALICE)
    plain = from_openai_chat({"model": "gpt-test", "messages": [{"role": "user", "content": "My SSN?"}]})
    assert await cache.lookup(plain, ALICE) is None  # nothing was kept
    await cache.store(plain, answer("not telling"), ALICE)
    assert await cache.lookup(marked, ALICE) is None  # and a marked request is not answered from the cache
    assert cache.stats.skips["sensitive"] == 1


async def test_tool_calling_turns_are_skipped_and_tool_calls_not_stored(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder)
    call = {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}
    with_result = from_openai_chat(
        {
            "model": "gpt-test",
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
            ],
        }
    )
    assert await cache.lookup(with_result, ALICE) is None
    assert cache.stats.skips["tool_calling"] == 1
    calls_a_tool = answer("")
    calls_a_tool["choices"][0].update(message={"role": "assistant", "tool_calls": [call]}, finish_reason="tool_calls")
    assert not await cache.store(chat("Weather in Paris?"), calls_a_tool, ALICE)
    assert await cache.lookup(chat("Weather in Paris?"), ALICE) is None


async def test_entries_lapse_after_their_ttl(local_embedder: LocalEmbedder) -> None:
    now = [1000.0]
    config = LlmCacheConfig(ttl_s=60)
    cache = LlmCache(config, MemoryBackend(100, 100, clock=lambda: now[0]), local_embedder)
    await cache.store(chat("How do I reset my password?"), answer("link"), ALICE)
    now[0] += 59
    assert await cache.lookup(chat("How do I reset my password?"), ALICE) is not None
    assert await cache.lookup(chat("How can I reset my password?"), ALICE) is not None
    now[0] += 2
    assert await cache.lookup(chat("How do I reset my password?"), ALICE) is None
    assert await cache.lookup(chat("How can I reset my password?"), ALICE) is None


async def test_the_least_recently_used_entry_makes_room(local_embedder: LocalEmbedder) -> None:
    backend = MemoryBackend(max_entries=3, max_partition_entries=100)
    cache = LlmCache(LlmCacheConfig(), backend, local_embedder)
    questions = ["What is DNS?", "What is TCP?", "What is HTTP?", "What is TLS?"]
    for question in questions[:3]:
        await cache.store(chat(question), answer(question), ALICE)
    assert await cache.lookup(chat("What is DNS?"), ALICE) is not None  # DNS is now the most recent
    await cache.store(chat("What is TLS?"), answer("TLS"), ALICE)
    assert len(backend) == 3
    assert await cache.lookup(chat("What is TCP?"), ALICE) is None
    for question in ("What is DNS?", "What is HTTP?", "What is TLS?"):
        assert await cache.lookup(chat(question), ALICE) is not None, question


async def test_a_full_partition_drops_its_oldest_entry(local_embedder: LocalEmbedder) -> None:
    backend = MemoryBackend(max_entries=100, max_partition_entries=2)
    cache = LlmCache(LlmCacheConfig(), backend, local_embedder)
    for question in ("What is DNS?", "What is TCP?", "What is HTTP?"):
        await cache.store(chat(question), answer(question), ALICE)
    await cache.store(chat("What is DNS?", model="gpt-other"), answer("other partition"), ALICE)
    assert len(backend) == 3
    assert await cache.lookup(chat("What is DNS?"), ALICE) is None
    assert await cache.lookup(chat("What is TCP?"), ALICE) is not None
    assert await cache.lookup(chat("What is DNS?", model="gpt-other"), ALICE) is not None


async def test_a_long_last_message_is_matched_exactly_only(local_embedder: LocalEmbedder) -> None:
    cache = memory_cache(local_embedder, semantic_max_chars=40)
    text = "Summarise this report for me please: " + "sales rose in every region. " * 3
    await cache.store(chat(text), answer("summary"), ALICE)
    assert await cache.lookup(chat(text), ALICE) is not None
    assert await cache.lookup(chat(text.replace("please", "kindly")), ALICE) is None


async def test_an_embedding_deployment_serves_as_the_embedder(local_embedder: LocalEmbedder) -> None:
    asked: list[tuple[Sequence[str], CacheScope | None]] = []

    async def deployment(texts: Sequence[str], requester: CacheScope | None) -> list[list[float]]:
        asked.append((texts, requester))  # the requester is who pays for the embedding
        return [[3.0 * x for x in row] for row in (await local_embedder.embed(texts)).tolist()]

    cache = memory_cache(DeploymentEmbedder("embed-small", deployment))
    await cache.store(chat("How do I reset my password?"), answer("link"), ALICE)
    hit = await cache.lookup(chat("How can I reset my password?"), ALICE)
    assert hit is not None
    assert hit.similarity <= 1.0 + 1e-6  # the deployment's vectors were scaled to unit length
    assert asked == [(["How do I reset my password?"], ALICE), (["How can I reset my password?"], ALICE)]


async def test_a_failing_embedder_leaves_exact_matches_working(caplog: pytest.LogCaptureFixture) -> None:
    async def down(texts: Sequence[str], requester: CacheScope | None) -> list[list[float]]:
        raise ConnectionError("embedding deployment is down")

    cache = memory_cache(DeploymentEmbedder("embed-small", down))
    assert not await cache.store(chat("How do I reset my password?"), answer("link"), ALICE)
    assert await cache.lookup(chat("How can I reset my password?"), ALICE) is None
    assert cache.stats.errors == 2
    assert [r.message for r in caplog.records] == ["llm_cache.unavailable", "llm_cache.unavailable"]
    exact_only = memory_cache(None)
    await exact_only.store(chat("How do I reset my password?"), answer("link"), ALICE)
    assert await exact_only.lookup(chat("How do I reset my password?"), ALICE) is not None
    assert await exact_only.lookup(chat("How can I reset my password?"), ALICE) is None


def test_an_openai_body_is_read_into_what_decides_the_answer() -> None:
    body = {
        "model": "gpt-test",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": [{"type": "text", "text": "No emoji."}]},
            {"role": "user", "content": "Hi"},
        ],
        "temperature": 0.2,
        "stream": True,
        "user": "end-user-7",
        "metadata": {"ticket": "42"},
    }
    request = from_openai_chat(body)
    assert request.system == "Be brief.\n\nNo emoji."
    assert request.messages == ({"role": "user", "content": "Hi"},)
    assert request.params == {"temperature": 0.2}
    assert (request.stream, request.sensitive) == (True, False)


async def test_the_guard_refuses_a_close_vector_with_another_meaning(local_embedder: LocalEmbedder) -> None:
    for guard, served in ((True, False), (False, True)):
        cache = memory_cache(local_embedder, guard=guard)
        await cache.store(chat("Convert Celsius to Fahrenheit."), answer("F = C * 9/5 + 32"), ALICE)
        await cache.store(chat("How do I turn on dark mode?"), answer("Settings > Display"), ALICE)
        assert (await cache.lookup(chat("Convert Fahrenheit to Celsius."), ALICE) is not None) == served
        assert (await cache.lookup(chat("How do I turn off dark mode?"), ALICE) is not None) == served
    assert await cache.lookup(chat("How can I turn on dark mode?"), ALICE) is not None
