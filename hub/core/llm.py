"""What the LLM layer and a model backend share: a call, its usage, its result, and the backend protocol.

Bodies are the agent's wire JSON (OpenAI chat/embeddings or Anthropic messages) with `model`
already set to the model group the hub chose. The backend (litellm, in connectors/llm) routes the
call across the group's deployments and answers in the same wire format it was asked in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Api = Literal["chat", "messages", "embeddings"]


@dataclass(frozen=True, slots=True)
class LlmCall:
    api: Api
    group: str  # the model group to route in (after rules and experiments)
    body: Mapping[str, Any]  # the wire request, `model` = group
    require_tags: tuple[str, ...] = ()  # only deployments carrying all of these (capabilities, rule tags)
    agent: str = ""
    # per group, the groups this caller may fall back to (None: the configured ones)
    fallbacks: Mapping[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class LlmResult:
    body: dict[str, Any]  # the wire response
    usage: Usage
    deployment: str  # "<group>/<deployment name>" that answered
    cost: float


class LlmStream(Protocol):
    """Wire-format bytes of a streamed answer (SSE events), ready to send as they come.

    `usage`, `deployment` and `cost` are known once iteration ends (or estimated when it was cut
    short); `aclose()` stops the upstream request.
    """

    usage: Usage
    deployment: str
    cost: float

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ModelInfo:
    name: str
    context_window: int | None
    capabilities: tuple[str, ...]


class LlmBackend(Protocol):
    async def complete(self, call: LlmCall) -> LlmResult: ...

    async def stream(self, call: LlmCall) -> LlmStream:
        """Open the stream: routing, fallbacks and the first upstream byte happen here; errors raise here."""
        ...

    def count_tokens(self, group: str, call_body: Mapping[str, Any], api: Api) -> int:
        """An estimate of the prompt's tokens with the group's tokenizer."""
        ...

    def cost(self, deployment: str, usage: Usage) -> float: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class CacheQuery:
    """What the response cache is asked with: the wire body (its `model` the group that answers), whose
    request it is, and whether the caller marked it sensitive (then nothing is looked up or kept)."""

    api: Api
    body: Mapping[str, Any]
    agent: str
    team: str | None = None
    sensitive: bool = False


class ResponseCache(Protocol):
    """Answers reused across identical (or, semantically, similar) requests within a scope.

    The LLM layer asks before calling a model and stores after a successful non-streaming answer;
    a streaming request may be answered from the cache too (the cache decides, by its settings).
    """

    async def lookup(self, query: CacheQuery) -> dict[str, Any] | None: ...

    async def store(self, query: CacheQuery, response: Mapping[str, Any]) -> None: ...
