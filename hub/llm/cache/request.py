"""What the cache sees of a chat request: model, system prompt, sampling parameters, turns, marks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SYSTEM_ROLES = frozenset({"system", "developer"})
NOT_KEYED = frozenset({"model", "messages", "system", "stream", "stream_options", "user", "metadata"})
"""Body fields that do not change the answer (or are keyed apart); every other field is part of the key."""


@dataclass(frozen=True, slots=True)
class CacheRequest:
    """A chat request in OpenAI's form, reduced to what decides its answer.

    `params` holds every field that shapes the answer (temperature, top_p, max_tokens, tools,
    tool_choice, response_format, stop, seed, n...). `sensitive` marks a request whose prompt and
    answer must not be kept: it is neither looked up nor stored.
    """

    model: str
    messages: tuple[Mapping[str, Any], ...]  # the non-system turns, as sent
    system: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    stream: bool = False
    sensitive: bool = False


@dataclass(frozen=True, slots=True)
class CacheScope:
    """Who asks. The cache's `share` setting decides whether the agent, its team or everyone shares answers."""

    agent: str
    team: str | None = None


def from_openai_chat(body: Mapping[str, Any], *, sensitive: bool = False) -> CacheRequest:
    """A `CacheRequest` from an OpenAI chat-completions body (already checked to have `model` and `messages`).

    A request is sensitive when the caller says so (`sensitive=True`, e.g. from the `X-Hub-Sensitive`
    header) or when its `metadata` carries `"sensitive": "true"`.
    """
    system: list[str] = []
    turns: list[Mapping[str, Any]] = []
    for message in body["messages"]:
        if message.get("role") in SYSTEM_ROLES:
            system.append(message_text(message))
        else:
            turns.append(message)
    return _request(body, turns, "\n\n".join(system), sensitive)


def from_anthropic_messages(body: Mapping[str, Any], *, sensitive: bool = False) -> CacheRequest:
    """A `CacheRequest` from an Anthropic messages body: `system` is a field (text or text blocks)."""
    system = body.get("system", "")
    text = system if isinstance(system, str) else message_text({"content": system})
    return _request(body, list(body["messages"]), text, sensitive)


def _request(body: Mapping[str, Any], turns: list[Mapping[str, Any]], system: str, sensitive: bool) -> CacheRequest:
    metadata = body.get("metadata")
    marked = isinstance(metadata, Mapping) and str(metadata.get("sensitive", "")).lower() in ("true", "1", "yes")
    return CacheRequest(
        model=str(body["model"]),
        messages=tuple(turns),
        system=system,
        params={k: v for k, v in body.items() if k not in NOT_KEYED},
        stream=bool(body.get("stream", False)),
        sensitive=sensitive or marked,
    )


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message: its string content, or its text parts joined (other parts are left out)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            str(part.get("text", "")) for part in content if isinstance(part, Mapping) and part.get("type") == "text"
        )
    return ""


def only_text(message: Mapping[str, Any]) -> bool:
    """True when the message holds text alone (no image, audio or file parts)."""
    content = message.get("content")
    if isinstance(content, str):
        return True
    return isinstance(content, list) and all(isinstance(p, Mapping) and p.get("type") == "text" for p in content)
