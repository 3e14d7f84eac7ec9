"""Which model group a request goes to, and which of its deployments may answer it.

In order: an A/B experiment on the requested name picks an arm (the same one for an agent every
time); else the first matching rule (tags, prompt size) names a group and the deployment tags it
requires; else the requested name is the group. Then the request's needs — tools, images, a
prompt longer than some context windows — narrow the deployments, and a request no deployment can
take is refused here with the reason, before anything is sent.

Model grants: `allows(name)` says which names the caller was granted. A name it was not granted is
answered exactly like an unknown one. A rule whose group the caller was not granted does not apply
to it (the next rule, or the requested name, decides); an experiment assigns it among the arms it
was granted only, and is unknown to it when it holds none; fallbacks it was not granted are dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from hub.config.llm import ArmConfig, LlmConfig, ModelGroupConfig
from hub.core.llm import Api
from hub.errors import InvalidParamsError, NotFoundError

Allows = Callable[[str], bool]


def _everything(name: str) -> bool:
    return True


def unknown_model(requested: str) -> NotFoundError:
    """The one answer for a model the hub does not serve, or does not serve to this caller."""
    return NotFoundError(f"model {requested!r} is not served by this hub; GET /v1/models lists the models")


@dataclass(frozen=True, slots=True)
class Route:
    group: str
    require_tags: tuple[str, ...] = ()
    rule: str = ""
    experiment: str = ""
    arm: str = ""
    fallbacks: Mapping[str, tuple[str, ...]] | None = None  # per group, those this caller may take (None: all)


class ModelRouter:
    def __init__(self, groups: tuple[ModelGroupConfig, ...], llm: LlmConfig) -> None:
        self._groups = {g.name: g for g in groups}
        self._llm = llm

    def names(self, allows: Allows = _everything) -> list[str]:
        """The names a caller may request (all of them, or those `allows` grants)."""
        names = [*self._groups, *(e.model for e in self._llm.experiments if e.model not in self._groups)]
        return [n for n in names if allows(n)]

    def group(self, name: str) -> ModelGroupConfig | None:
        return self._groups.get(name)

    def needs_estimate(self) -> bool:
        """Whether routing looks at the prompt's size (rules with token bounds, deployments with windows)."""
        rules = any(r.min_prompt_tokens is not None or r.max_prompt_tokens is not None for r in self._llm.rules)
        windows = any(d.context_window for g in self._groups.values() for d in g.deployments)
        return rules or windows

    def route(
        self,
        api: Api,
        body: Mapping[str, Any],
        agent: str,
        tags: tuple[str, ...],
        estimate: Callable[[str], int],
        allows: Allows = _everything,
    ) -> Route:
        """The route for a request; `estimate(group)` counts the prompt's tokens with that group's tokenizer."""
        requested = str(body.get("model", ""))
        if not allows(requested):
            raise unknown_model(requested)
        route = self._choose(requested, agent, tags, estimate, allows)
        group = self._groups[route.group]

        needs = _needs(api, body)
        wanted = set(needs) | set(route.require_tags)
        fitting = [d for d in group.deployments if wanted <= {*d.tags, *(f"cap:{c}" for c in d.capabilities)}]
        if not fitting:
            what = ", ".join(sorted(wanted))
            raise InvalidParamsError(f"model {requested!r}: no deployment of group {group.name!r} supports {what}")
        windows = [d.context_window for d in fitting]
        if all(windows):
            tokens = estimate(group.name)
            if tokens > max(w for w in windows if w):
                raise InvalidParamsError(
                    f"model {requested!r}: the prompt's ~{tokens} tokens exceed the largest context window"
                    f" ({max(w for w in windows if w)}) of group {group.name!r}"
                )
        tags_needed = (*route.require_tags, *needs)
        fallbacks = None if allows is _everything else self._fallbacks(allows)
        return Route(route.group, tags_needed, route.rule, route.experiment, route.arm, fallbacks)

    def _fallbacks(self, allows: Allows) -> dict[str, tuple[str, ...]]:
        """Every group's fallbacks, less the groups the caller was not granted (a chain goes on from each)."""
        return {g.name: tuple(f for f in g.fallbacks if allows(f)) for g in self._groups.values() if g.fallbacks}

    def _choose(
        self, requested: str, agent: str, tags: tuple[str, ...], estimate: Callable[[str], int], allows: Allows
    ) -> Route:
        for experiment in self._llm.experiments:
            if experiment.model == requested:
                arms = tuple(a for a in experiment.arms if allows(a.group))
                if not arms:
                    raise unknown_model(requested)
                arm = _sticky_arm(experiment.name, arms, agent)
                return Route(arm, experiment=experiment.name, arm=arm)
        for rule in self._llm.rules:
            if not fnmatchcase(requested, rule.model) or not set(rule.when_tags) <= set(tags):
                continue
            if not allows(rule.group):
                continue
            if rule.min_prompt_tokens is not None or rule.max_prompt_tokens is not None:
                tokens = estimate(rule.group)
                if rule.min_prompt_tokens is not None and tokens < rule.min_prompt_tokens:
                    continue
                if rule.max_prompt_tokens is not None and tokens > rule.max_prompt_tokens:
                    continue
            return Route(rule.group, tuple(rule.require_tags), rule=rule.name)
        if requested not in self._groups:
            raise unknown_model(requested)
        return Route(requested)


def _sticky_arm(experiment: str, arms: tuple[ArmConfig, ...], agent: str) -> str:
    """The arm for `agent`: a stable hash of (experiment, agent) into the arms' weights."""
    total = sum(arm.weight for arm in arms)
    digest = hashlib.sha256(f"{experiment}\x1f{agent}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % total
    for arm in arms:
        if point < arm.weight:
            return arm.group
        point -= arm.weight
    return arms[-1].group


def _needs(api: Api, body: Mapping[str, Any]) -> tuple[str, ...]:
    """Capability tags a request needs: tools when it offers tools, vision when it carries images."""
    if api == "embeddings":
        return ()
    needs = []
    if body.get("tools") or body.get("functions"):
        needs.append("cap:tools")
    if _has_image(body.get("messages")):
        needs.append("cap:vision")
    return tuple(needs)


def _has_image(messages: object) -> bool:
    if not isinstance(messages, list):
        return False
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") in ("image_url", "image", "input_image") for b in content
        ):
            return True
    return False
