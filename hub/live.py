"""The catalog the running hub serves, changed in place: upstreams, servers, teams, agents, keys, limits.

The admin API writes the database first and then calls these methods; at startup, and whenever
another replica changed the database (`hub/catalog_sync.py`), the whole snapshot is applied with
`load`. An upstream or virtual server whose config did not change is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from hub.auth.api_keys import KeyRing, StoredKey
from hub.auth.directory import AgentDirectory
from hub.config.model import AgentConfig, LimitConfig, TeamConfig, UpstreamConfig, VirtualServerConfig
from hub.core.connector import Connector, UpstreamHealth
from hub.governance.limits import Limits
from hub.storage.repositories import Snapshot
from hub.upstreams import UpstreamSet
from hub.virtual.registry import Registry

MakeConnector = Callable[[UpstreamConfig], Connector]


class LiveCatalog:
    def __init__(
        self,
        upstreams: UpstreamSet,
        registry: Registry,
        agents: AgentDirectory,
        keys: KeyRing,
        make_connector: MakeConnector,
        limits: Limits,
    ) -> None:
        self._upstreams = upstreams
        self._registry = registry
        self._agents = agents
        self._keys = keys
        self._make_connector = make_connector
        self._limits = limits
        self._rules: dict[str, LimitConfig] = {}
        self._applied: dict[str, UpstreamConfig] = {}

    def load(self, snapshot: Snapshot) -> None:
        """Serve exactly these items: add or replace what differs, remove what is not listed."""
        for name in set(self._applied) - {u.name for u in snapshot.upstreams}:
            self.remove_upstream(name)
        for upstream in snapshot.upstreams:
            self.put_upstream(upstream)
        for server in set(self._registry.names()) - {v.name for v in snapshot.virtual_servers}:
            self._registry.remove(server)
        for server_config in snapshot.virtual_servers:
            if self._registry.config(server_config.name) != server_config:
                self._registry.put(server_config)
        self._agents.replace(snapshot.agents, snapshot.teams)
        self.set_keys(snapshot.keys)
        self._rules = {rule.name: rule for rule in snapshot.limits}
        self._limits.replace(tuple(self._rules.values()))

    def put_upstream(self, config: UpstreamConfig) -> None:
        if self._applied.get(config.name) == config:
            return
        self._applied[config.name] = config
        if config.enabled:
            self._upstreams.put(self._make_connector(config))
        else:
            self._upstreams.remove(config.name)

    def remove_upstream(self, name: str) -> None:
        self._applied.pop(name, None)
        self._upstreams.remove(name)

    def put_server(self, config: VirtualServerConfig) -> None:
        self._registry.put(config)

    def remove_server(self, name: str) -> None:
        self._registry.remove(name)

    def put_agent(self, config: AgentConfig) -> None:
        self._agents.put(config)

    def remove_agent(self, name: str) -> None:
        self._agents.remove(name)

    def put_team(self, config: TeamConfig) -> None:
        self._agents.put_team(config)

    def remove_team(self, name: str) -> None:
        self._agents.remove_team(name)

    def put_limit(self, config: LimitConfig) -> None:
        self._rules = {**self._rules, config.name: config}
        self._limits.replace(tuple(self._rules.values()))

    def remove_limit(self, name: str) -> None:
        self._rules = {k: v for k, v in self._rules.items() if k != name}
        self._limits.replace(tuple(self._rules.values()))

    def set_keys(self, keys: Iterable[StoredKey]) -> None:
        self._keys.replace(list(keys))

    def health(self, name: str) -> UpstreamHealth | None:
        """The upstream's health; a disabled one reads "stopped", an unknown one None."""
        if name in self._upstreams:
            return self._upstreams[name].health
        if name in self._applied:
            return UpstreamHealth(name, "stopped", "disabled")
        return None
