"""Model routing: experiments with sticky arms, rules by tag and prompt size, capability and window checks."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hub.config.model import HubConfig
from hub.errors import InvalidParamsError, NotFoundError
from hub.llm.routing import ModelRouter


def _deployment(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "provider": "openai", "model": name, **extra}


def router() -> ModelRouter:
    config = HubConfig.model_validate(
        {
            "models": [
                {"name": "cheap", "deployments": [_deployment("mini", context_window=100, tags=["cheap"])]},
                {"name": "big", "deployments": [_deployment("long", context_window=100_000, capabilities=["tools"])]},
                {
                    "name": "chat",
                    "deployments": [
                        _deployment("a", capabilities=["tools"]),
                        _deployment("b", capabilities=["vision"]),
                    ],
                },
                {"name": "arm-a", "deployments": [_deployment("x")]},
                {"name": "arm-b", "deployments": [_deployment("y")]},
            ],
            "llm": {
                "rules": [
                    {"name": "simple", "model": "auto", "when_tags": ["simple"], "group": "cheap"},
                    {"name": "long", "model": "auto", "min_prompt_tokens": 50, "group": "big"},
                    {"name": "default", "model": "auto", "group": "chat"},
                ],
                "experiments": [{"name": "ab", "model": "assistant", "arms": [{"group": "arm-a"}, {"group": "arm-b"}]}],
            },
        }
    )
    return ModelRouter(config.models, config.llm)


def _chat(model: str, text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def _words(group: str, body: dict[str, Any]) -> int:
    return len(str(body["messages"]).split())


def test_rules_route_by_tag_then_by_prompt_size_then_by_default() -> None:
    r = router()
    simple = r.route("chat", _chat("auto"), "alice", ("simple",), lambda g: 5)
    long = r.route("chat", _chat("auto"), "alice", (), lambda g: 500)
    other = r.route("chat", _chat("auto"), "alice", (), lambda g: 5)
    assert (simple.group, simple.rule) == ("cheap", "simple")
    assert (long.group, long.rule) == ("big", "long")
    assert (other.group, other.rule) == ("chat", "default")


def test_an_experiment_keeps_each_agent_on_one_arm_and_splits_agents() -> None:
    r = router()
    arms = {
        agent: {r.route("chat", _chat("assistant"), agent, (), lambda g: 1).arm for _ in range(5)}
        for agent in map(str, range(200))
    }
    assert all(len(seen) == 1 for seen in arms.values())  # sticky per agent
    split = Counter(next(iter(seen)) for seen in arms.values())
    assert set(split) == {"arm-a", "arm-b"}
    assert min(split.values()) > 60  # an even split of 200 agents, far from all on one side


def test_tools_and_images_are_required_capabilities() -> None:
    r = router()
    tools = r.route("chat", _chat("chat", tools=[{"type": "function"}]), "a", (), lambda g: 1)
    image = [{"type": "image_url", "image_url": {"url": "data:,"}}]
    vision = r.route("chat", {"model": "chat", "messages": [{"role": "user", "content": image}]}, "a", (), lambda g: 1)
    assert tools.require_tags == ("cap:tools",)
    assert vision.require_tags == ("cap:vision",)
    with pytest.raises(InvalidParamsError, match="no deployment of group 'cheap' supports cap:tools"):
        r.route("chat", _chat("cheap", tools=[{"type": "function"}]), "a", (), lambda g: 1)


def test_a_prompt_larger_than_every_window_is_refused_before_sending() -> None:
    with pytest.raises(InvalidParamsError, match=r"~500 tokens exceed the largest context window \(100\)"):
        router().route("chat", _chat("cheap"), "a", (), lambda g: 500)


def test_an_unknown_model_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="GET /v1/models"):
        router().route("chat", _chat("gpt-9"), "a", (), lambda g: 1)


def test_references_to_undefined_groups_are_config_errors() -> None:
    with pytest.raises(ValueError, match=r"llm.rules\[0\].group: model group 'nope' is not defined"):
        HubConfig.model_validate(
            {
                "models": [{"name": "m", "deployments": [_deployment("d")]}],
                "llm": {"rules": [{"name": "r", "group": "nope"}]},
            }
        )
