"""The `models:` catalog (model groups and their deployments) and the `llm:` section (routing, limits, budgets).

A model group is the name agents ask for (`model: "chat"`); its deployments are the concrete
provider models that can answer. Routing, fallbacks and cooldowns run on litellm's Router; the hub
adds capability matching, rules, A/B experiments, token limits, quotas and budgets around it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    StringConstraints,
    model_validator,
)

from hub.config.llm_cache import LlmCacheConfig

# A model group name as agents send it: letters, digits and _ . - : / (e.g. "chat", "gpt-4o", "team/fast").
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")]
Capability = Literal["tools", "vision", "json", "embeddings"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeploymentConfig(_Model):
    """One provider model behind a group. Prices are in currency units per token."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    # a litellm provider: openai, anthropic, ollama_chat, gemini...
    provider: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
    model: str  # the provider's model name
    base_url: Annotated[str, StringConstraints(pattern=r"^https?://")] | None = None
    api_key: SecretStr | None = None
    input_price: NonNegativeFloat | None = None  # per input token; None: litellm's price map
    output_price: NonNegativeFloat | None = None  # per output token
    context_window: PositiveInt | None = None  # max input tokens; None: not checked
    capabilities: tuple[Capability, ...] = ()
    tags: tuple[str, ...] = ()
    weight: PositiveInt = 1  # share of traffic under the "weighted" strategy
    timeout_s: PositiveFloat = 60.0


class ModelGroupConfig(_Model):
    name: ModelName
    description: str = ""
    deployments: tuple[DeploymentConfig, ...] = Field(min_length=1)
    fallbacks: tuple[ModelName, ...] = ()  # other groups to try, in order, when every deployment failed

    @model_validator(mode="after")
    def _unique_deployments(self) -> ModelGroupConfig:
        names = [d.name for d in self.deployments]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ValueError(f"deployments[{i}]: name {name!r} is used twice")
        return self


class LlmLimitConfig(_Model):
    """Tokens and requests per minute (token buckets) for the agents or teams it covers, per model group."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    agents: tuple[str, ...] = ("*",)
    models: tuple[str, ...] = ("*",)  # model group globs
    per: Literal["agent", "team", "model"] = "agent"
    tokens_per_minute: PositiveInt | None = None
    requests_per_minute: PositiveInt | None = None

    @model_validator(mode="after")
    def _limits_something(self) -> LlmLimitConfig:
        if self.tokens_per_minute is None and self.requests_per_minute is None:
            raise ValueError("set tokens_per_minute, requests_per_minute, or both")
        return self


class LlmBudgetConfig(_Model):
    """A quota in tokens and/or a budget in money per day or month, for each agent or team it covers."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    agents: tuple[str, ...] = ("*",)
    per: Literal["agent", "team"] = "agent"
    period: Literal["day", "month"] = "month"
    max_tokens: PositiveInt | None = None
    max_cost: PositiveFloat | None = None

    @model_validator(mode="after")
    def _limits_something(self) -> LlmBudgetConfig:
        if self.max_tokens is None and self.max_cost is None:
            raise ValueError("set max_tokens, max_cost, or both")
        return self


class RouteRuleConfig(_Model):
    """Send matching requests to `group` (and only to its deployments carrying every `require_tags`).

    A request matches when it asks for `model` (a glob) and: carries every tag in `when_tags`
    (header `x-hub-tags: simple,fast` or body `metadata.tags`), and its prompt has at least
    `min_prompt_tokens` / at most `max_prompt_tokens`. The first matching rule wins.
    """

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    model: str = "*"
    when_tags: tuple[str, ...] = ()
    min_prompt_tokens: NonNegativeInt | None = None
    max_prompt_tokens: NonNegativeInt | None = None
    group: ModelName
    require_tags: tuple[str, ...] = ()


class ArmConfig(_Model):
    group: ModelName
    weight: PositiveInt = 1


class ExperimentConfig(_Model):
    """An A/B split: requests for `model` go to one of the arms, the same arm for an agent every time."""

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    model: ModelName
    arms: tuple[ArmConfig, ...] = Field(min_length=2)


class LlmConfig(_Model):
    strategy: Literal["weighted", "least-busy", "lowest-latency"] = "weighted"
    retries: NonNegativeInt = 1  # per group, before its fallbacks
    allowed_fails: NonNegativeInt = 1  # failures a deployment may have in a minute before its cooldown
    cooldown_s: PositiveFloat = 30.0
    limits: tuple[LlmLimitConfig, ...] = ()
    budgets: tuple[LlmBudgetConfig, ...] = ()
    rules: tuple[RouteRuleConfig, ...] = ()
    experiments: tuple[ExperimentConfig, ...] = ()
    cache: LlmCacheConfig | None = None  # the response cache (docs/llm-cache.md); None: no cache


def check_llm_references(models: tuple[ModelGroupConfig, ...], llm: LlmConfig) -> None:
    """Every group a fallback, rule or arm names exists; names are unique."""
    groups = [g.name for g in models]
    for i, name in enumerate(groups):
        if name in groups[:i]:
            raise ValueError(f"models[{i}]: name {name!r} is used twice")
    known = set(groups)
    for i, group in enumerate(models):
        for j, fallback in enumerate(group.fallbacks):
            if fallback not in known:
                raise ValueError(f"models[{i}].fallbacks[{j}]: model group {fallback!r} is not defined")
    for i, rule in enumerate(llm.rules):
        if rule.group not in known:
            raise ValueError(f"llm.rules[{i}].group: model group {rule.group!r} is not defined")
    for i, experiment in enumerate(llm.experiments):
        for j, arm in enumerate(experiment.arms):
            if arm.group not in known:
                raise ValueError(f"llm.experiments[{i}].arms[{j}].group: model group {arm.group!r} is not defined")
    if llm.cache is not None and llm.cache.embedder != "local" and llm.cache.embedder not in known:
        raise ValueError(f"llm.cache.embedder: model group {llm.cache.embedder!r} is not defined (or say 'local')")
