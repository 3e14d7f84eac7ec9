"""MCP sampling answered by the LLM layer: an upstream's sampling/createMessage becomes a chat completion.

A virtual server with `sampling_model` answers its upstreams' sampling requests itself, through the
gateway, as the agent whose tool call caused them: that agent's limits, budgets, usage rows and
metrics apply. The model is the virtual server admin's grant, not the agent's: the agent's own model
grants neither allow nor refuse it. Other virtual servers relay sampling to the agent, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hub.config.model import VirtualServerConfig
from hub.core.connector import Sampler
from hub.core.principal import Principal
from hub.errors import InvalidParamsError
from hub.llm.gateway import LlmGateway, LlmRequest

_STOP = {"stop": "endTurn", "length": "maxTokens", "tool_calls": "toolUse"}


def sampling_for(
    gateway: LlmGateway, server_config: Callable[[str], VirtualServerConfig | None]
) -> Callable[[Principal, str], Sampler | None]:
    """The sampler for calls of `principal` on a virtual server, when that server has a sampling model."""

    def sampler(principal: Principal, server: str) -> Sampler | None:
        config = server_config(server)
        if config is None or config.sampling_model is None:
            return None
        model = config.sampling_model

        async def sample(params: Mapping[str, Any]) -> dict[str, Any]:
            body = chat_body(model, params)
            answer = await gateway.complete(LlmRequest(principal, "chat", body, ("mcp-sampling",), admin_model=True))
            return create_message_result(model, answer)

        return sample

    return sampler


def chat_body(model: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """sampling/createMessage params as an OpenAI chat request."""
    messages: list[dict[str, Any]] = []
    if params.get("systemPrompt"):
        messages.append({"role": "system", "content": str(params["systemPrompt"])})
    for i, message in enumerate(params.get("messages") or []):
        blocks = message.get("content")
        blocks = blocks if isinstance(blocks, list) else [blocks]
        parts = [_part(block, i) for block in blocks]
        text_only = all(p["type"] == "text" for p in parts)
        content: Any = "".join(p["text"] for p in parts) if text_only else parts
        messages.append({"role": message.get("role", "user"), "content": content})
    body: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": int(params.get("maxTokens") or 256)}
    if params.get("temperature") is not None:
        body["temperature"] = params["temperature"]
    if params.get("stopSequences"):
        body["stop"] = list(params["stopSequences"])
    return body


def _part(block: Any, index: int) -> dict[str, Any]:
    if isinstance(block, dict) and block.get("type") == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if isinstance(block, dict) and block.get("type") == "image":
        url = f"data:{block.get('mimeType', 'image/png')};base64,{block.get('data', '')}"
        return {"type": "image_url", "image_url": {"url": url}}
    kind = block.get("type") if isinstance(block, dict) else type(block).__name__
    raise InvalidParamsError(f"messages[{index}]: {kind} content cannot be sampled through the hub's models")


def create_message_result(model: str, answer: Mapping[str, Any]) -> dict[str, Any]:
    choice = (answer.get("choices") or [{}])[0]
    text = str((choice.get("message") or {}).get("content") or "")
    stop = _STOP.get(str(choice.get("finish_reason")), "endTurn")
    return {"role": "assistant", "content": {"type": "text", "text": text}, "model": model, "stopReason": stop}
