"""The config's model groups as litellm Router settings: one model_list entry per deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.config.llm import DeploymentConfig, LlmConfig, ModelGroupConfig

STRATEGIES = {"weighted": "simple-shuffle", "least-busy": "least-busy", "lowest-latency": "latency-based-routing"}


@dataclass(frozen=True, slots=True)
class Deployment:
    """What the hub needs to know about a deployment after litellm picked it."""

    id: str  # "<group>/<name>", litellm's model_info.id
    litellm_model: str  # "<provider>/<model>"
    config: DeploymentConfig


def deployment_id(group: str, deployment: DeploymentConfig) -> str:
    return f"{group}/{deployment.name}"


def capability_tag(capability: str) -> str:
    return f"cap:{capability}"


def model_list(groups: tuple[ModelGroupConfig, ...]) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        for d in group.deployments:
            params: dict[str, Any] = {
                "model": f"{d.provider}/{d.model}",
                "timeout": d.timeout_s,
                "stream_timeout": d.timeout_s,
                "weight": d.weight,
                "tags": [*d.tags, *(capability_tag(c) for c in d.capabilities)],
            }
            if d.base_url is not None:
                params["api_base"] = d.base_url
            # Every deployment gets a key, so litellm never falls back to a provider key from the environment.
            params["api_key"] = d.api_key.get_secret_value() if d.api_key is not None else "none"
            if d.input_price is not None:
                params["input_cost_per_token"] = d.input_price
            if d.output_price is not None:
                params["output_cost_per_token"] = d.output_price
            info: dict[str, Any] = {"id": deployment_id(group.name, d)}
            if d.context_window is not None:
                info["max_input_tokens"] = d.context_window
            out.append({"model_name": group.name, "litellm_params": params, "model_info": info})
    return out


def router_settings(groups: tuple[ModelGroupConfig, ...], llm: LlmConfig) -> dict[str, Any]:
    """Keyword arguments for litellm.Router."""
    return {
        "model_list": model_list(groups),
        "routing_strategy": STRATEGIES[llm.strategy],
        "fallbacks": [{g.name: list(g.fallbacks)} for g in groups if g.fallbacks],
        "num_retries": llm.retries,
        "allowed_fails": llm.allowed_fails,
        "cooldown_time": llm.cooldown_s,
        "enable_pre_call_checks": any(d.context_window for g in groups for d in g.deployments),
        "enable_tag_filtering": True,
        "tag_filtering_match_any": False,
        "retry_after": 0,
    }


def deployments_by_id(groups: tuple[ModelGroupConfig, ...]) -> dict[str, Deployment]:
    return {
        deployment_id(g.name, d): Deployment(deployment_id(g.name, d), f"{d.provider}/{d.model}", d)
        for g in groups
        for d in g.deployments
    }
