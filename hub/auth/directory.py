"""Agents and their grants: turns a matched credential into a Principal."""

from __future__ import annotations

from collections.abc import Iterable

from hub.config.model import AgentConfig
from hub.core.principal import Grant, Principal


class AgentDirectory:
    def __init__(self, agents: Iterable[AgentConfig] = ()) -> None:
        self._principals: dict[str, Principal] = {}
        self.replace(agents)

    def replace(self, agents: Iterable[AgentConfig]) -> None:
        self._principals = {a.name: _principal(a) for a in agents}

    def put(self, agent: AgentConfig) -> None:
        self._principals = {**self._principals, agent.name: _principal(agent)}

    def remove(self, name: str) -> None:
        self._principals = {k: v for k, v in self._principals.items() if k != name}

    def principal(self, agent: str, key_id: str = "") -> Principal | None:
        base = self._principals.get(agent)
        if base is None:
            return None
        return Principal(base.agent, base.team, base.grants, key_id)

    def names(self) -> list[str]:
        return sorted(self._principals)


def _principal(agent: AgentConfig) -> Principal:
    grants = {g.server: Grant(g.server, g.tools) for g in agent.servers}
    return Principal(agent.name, agent.team, grants)
