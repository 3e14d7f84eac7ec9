"""What the fake providers share: injected faults and latency, and a record of what they received.

A test (or `python -m tests.servers.llm`) sets `FakeState` fields; every provider consults them
before answering. Faults, per-model latency and holds are matched by the upstream model name, so
one fake server can host a failing, slow or hanging deployment next to a healthy one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import anyio


@dataclass
class Fault:
    """Answer the next `times` requests for `model` ("*" = any) with `status`, after `delay_s`."""

    status: int
    model: str = "*"
    times: int = 1
    retry_after_s: int | None = None
    delay_s: float = 0.0
    message: str = "injected failure"


@dataclass
class Received:
    path: str
    model: str
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeState:
    latency_s: float = 0.0  # before the first byte (the whole answer when not streaming)
    token_delay_s: float = 0.0  # between streamed chunks
    stream_tokens: int | None = None  # stream this many tokens instead of the echo's words
    faults: list[Fault] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    cancelled: int = 0  # streams whose client went away before the end
    completed: int = 0  # streams sent to the end
    stream_cancelled: anyio.Event = field(default_factory=anyio.Event)
    stream_started: anyio.Event = field(default_factory=anyio.Event)
    model_latency_s: dict[str, float] = field(default_factory=dict)  # added before answering that model
    held: set[str] = field(default_factory=set)  # models whose requests wait for `released` (bounded by hold_s)
    released: anyio.Event = field(default_factory=anyio.Event)
    hold_s: float = 10.0
    arrived: anyio.Event = field(default_factory=anyio.Event)  # set (and replaced) on every recorded request

    async def before_answer(self, model: str) -> None:
        """The wait before an answer: the common latency, the model's own, and a hold if it is held."""
        await anyio.sleep(self.latency_s + self.model_latency_s.get(model, 0.0))
        if model in self.held:
            with anyio.move_on_after(self.hold_s):
                await self.released.wait()

    async def wait_received(self, count: int, timeout_s: float = 10.0) -> None:
        """Until `count` requests have arrived (bounded)."""
        with anyio.fail_after(timeout_s):
            while len(self.received) < count:
                await self.arrived.wait()

    def fault_for(self, model: str) -> Fault | None:
        for fault in self.faults:
            if fault.model in ("*", model) and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        self.received.append(Received(path, str(body.get("model", "")), body, headers))
        arrived, self.arrived = self.arrived, anyio.Event()
        arrived.set()

    def models_called(self) -> list[str]:
        return [r.model for r in self.received]


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message (string content or text blocks)."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def count_words(messages: list[dict[str, Any]], system: object = None) -> int:
    """The fake's token count of a prompt: its words (at least one)."""
    words = len(str(system).split()) if isinstance(system, str) else 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            words += len(content.split())
        elif isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and isinstance(block.get("text"), str):
                    words += len(block["text"].split())
    return max(1, words)


def answer_tokens(state: FakeState, messages: list[dict[str, Any]]) -> list[str]:
    """The answer, as the chunks a stream sends: 'echo:' and then the last user message word by word."""
    if state.stream_tokens is not None:
        return [f"t{i} " for i in range(state.stream_tokens)]
    words = last_user_text(messages).split()
    return ["echo:", *[f" {w}" for w in words]]
