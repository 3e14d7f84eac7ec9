"""Agents, teams and their grants: turns a matched credential into a Principal.

A principal's grants are its own and those of each of its teams, merged per virtual server: a
server granted by several of them allows every tool any of those grants allows. Model grants (globs
of model-group names) are likewise the union of its own and its teams'. An agent belongs
to the team its config names; a token may add the teams its team claim names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from hub.config.model import AgentConfig, GrantConfig, TeamConfig
from hub.core.principal import Grant, Principal

Grants = Mapping[str, Grant]


class AgentDirectory:
    def __init__(self, agents: Iterable[AgentConfig] = (), teams: Iterable[TeamConfig] = ()) -> None:
        self._agents: dict[str, AgentConfig] = {}
        self._teams: dict[str, Grants] = {}
        self._team_models: dict[str, tuple[str, ...]] = {}
        self._principals: dict[str, Principal] = {}
        self.replace(agents, teams)

    def replace(self, agents: Iterable[AgentConfig], teams: Iterable[TeamConfig] = ()) -> None:
        teams = tuple(teams)
        self._teams = {t.name: _grants(t.servers) for t in teams}
        self._team_models = {t.name: t.models for t in teams}
        self._agents = {a.name: a for a in agents}
        self._rebuild()

    def put(self, agent: AgentConfig) -> None:
        self._agents = {**self._agents, agent.name: agent}
        self._rebuild()

    def remove(self, name: str) -> None:
        self._agents = {k: v for k, v in self._agents.items() if k != name}
        self._rebuild()

    def put_team(self, team: TeamConfig) -> None:
        self._teams = {**self._teams, team.name: _grants(team.servers)}
        self._team_models = {**self._team_models, team.name: team.models}
        self._rebuild()

    def remove_team(self, name: str) -> None:
        self._teams = {k: v for k, v in self._teams.items() if k != name}
        self._team_models = {k: v for k, v in self._team_models.items() if k != name}
        self._rebuild()

    def principal(self, agent: str, key_id: str = "") -> Principal | None:
        base = self._principals.get(agent)
        if base is None:
            return None
        return Principal(base.agent, base.team, base.grants, key_id, base.models)

    def token_principal(self, agent: str, teams: Sequence[str], key_id: str) -> Principal | None:
        """The principal of a token naming `agent` and `teams`: a known agent, or a stranger in a known team.

        Teams the hub does not define are ignored. A known agent keeps its own team as its team (the
        one `per: team` limits count against); a stranger's team is the first known one it names.
        None when the token names neither a known agent nor a known team.
        """
        known = [t for t in teams if t in self._teams]
        base = self._principals.get(agent)
        if base is None and not known:
            return None
        if base is None:
            models = _union(self._team_models.get(t, ()) for t in known)
            return Principal(agent, known[0], _merged(self._teams[t] for t in known), key_id, models)
        extra = [self._teams[t] for t in known if t != base.team]
        grants = _merged([base.grants, *extra]) if extra else base.grants
        models = _union([base.models, *(self._team_models.get(t, ()) for t in known if t != base.team)])
        return Principal(base.agent, base.team, grants, key_id, models)

    def has_team(self, name: str) -> bool:
        return name in self._teams

    def names(self) -> list[str]:
        return sorted(self._principals)

    def _rebuild(self) -> None:
        self._principals = {a.name: self._principal(a) for a in self._agents.values()}

    def _principal(self, agent: AgentConfig) -> Principal:
        own = _grants(agent.servers)
        team = self._teams.get(agent.team) if agent.team is not None else None
        team_models = self._team_models.get(agent.team, ()) if agent.team is not None else ()
        models = _union([agent.models, team_models])
        return Principal(agent.name, agent.team, _merged([own, team]) if team else own, models=models)


def _union(model_sets: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    """Every model glob any of the sets holds, each once, in first-seen order."""
    return tuple(dict.fromkeys(pattern for models in model_sets for pattern in models))


def _grants(servers: Iterable[GrantConfig]) -> Grants:
    return _merged({g.server: Grant(g.server, g.tools)} for g in servers)


def _merged(grant_sets: Iterable[Grants | None]) -> Grants:
    """One grant per server: the union of the tools every set allows on it (None, all tools, wins)."""
    out: dict[str, Grant] = {}
    for grants in grant_sets:
        for server, grant in (grants or {}).items():
            have = out.get(server)
            if have is None:
                out[server] = grant
            elif have.tools is not None:
                tools = None if grant.tools is None else (*have.tools, *(t for t in grant.tools if t not in have.tools))
                out[server] = Grant(server, tools)
    return out
