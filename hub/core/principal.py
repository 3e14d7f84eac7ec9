"""Who is calling, and what they were granted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True, slots=True)
class Grant:
    """Access to one virtual server, optionally narrowed to exposed tool names (globs)."""

    server: str
    tools: tuple[str, ...] | None = None

    def allows_tool(self, exposed_name: str) -> bool:
        return self.tools is None or any(fnmatchcase(exposed_name, pattern) for pattern in self.tools)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated agent. `key_id` names the credential used (never the secret).

    `models` are the model-group name globs it may call through the LLM layer (its own and its teams').
    """

    agent: str
    team: str | None
    grants: Mapping[str, Grant]
    key_id: str = ""
    models: tuple[str, ...] = ()

    def grant_for(self, server: str) -> Grant | None:
        return self.grants.get(server)

    def allows_model(self, name: str) -> bool:
        return any(fnmatchcase(name, pattern) for pattern in self.models)
