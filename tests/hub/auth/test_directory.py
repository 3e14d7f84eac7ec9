"""Agents and teams → principals: own grants merged with the teams', for keys and for tokens."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hub.auth.directory import AgentDirectory
from hub.config.model import AgentConfig, HubConfig, TeamConfig
from hub.core.principal import Principal

TEAMS = [
    TeamConfig(name="support", servers=({"server": "helpdesk"}, {"server": "docs", "tools": ("search",)})),
    TeamConfig(name="finance", servers=({"server": "ledger"}, {"server": "docs", "tools": ("read_*",)})),
]
AGENTS = [
    AgentConfig(name="sam", team="support", servers=({"server": "docs", "tools": ("index",)},)),
    AgentConfig(name="fay", team="finance"),
    AgentConfig(name="solo", servers=({"server": "docs"},)),
]


def grants(principal: Principal | None) -> dict[str, tuple[str, ...] | None]:
    assert principal is not None
    return {name: g.tools for name, g in principal.grants.items()}


def test_an_agent_holds_its_own_grants_and_its_teams() -> None:
    directory = AgentDirectory(AGENTS, TEAMS)
    sam = directory.principal("sam", "hub_sam")
    assert sam is not None
    assert (sam.agent, sam.team, sam.key_id) == ("sam", "support", "hub_sam")
    assert grants(sam) == {"docs": ("index", "search"), "helpdesk": None}
    assert grants(directory.principal("fay")) == {"ledger": None, "docs": ("read_*",)}
    assert directory.principal("nobody") is None


def test_a_support_agent_never_holds_what_only_another_team_is_granted() -> None:
    directory = AgentDirectory(AGENTS, TEAMS)
    sam = directory.principal("sam")
    assert sam is not None
    assert sam.grant_for("ledger") is None
    docs = sam.grant_for("docs")
    assert docs is not None
    assert not docs.allows_tool("read_salaries")


def test_team_changes_reach_their_members() -> None:
    directory = AgentDirectory(AGENTS, TEAMS)
    directory.put_team(TeamConfig(name="support", servers=({"server": "chat"},)))
    assert grants(directory.principal("sam")) == {"docs": ("index",), "chat": None}
    directory.remove_team("support")
    assert grants(directory.principal("sam")) == {"docs": ("index",)}


def test_a_token_names_a_known_agent_or_a_stranger_in_a_known_team() -> None:
    directory = AgentDirectory(AGENTS, TEAMS)
    stranger = directory.token_principal("u-123", ["unknown", "finance", "support"], "jwt:u-123")
    assert stranger is not None
    assert (stranger.agent, stranger.team) == ("u-123", "finance")
    assert grants(stranger) == {"ledger": None, "docs": ("read_*", "search"), "helpdesk": None}
    known = directory.token_principal("solo", ["finance"], "jwt:solo")
    assert known is not None
    assert (known.agent, known.team) == ("solo", None)
    assert grants(known) == {"docs": None, "ledger": None}  # a whole-server grant stays whole
    assert directory.token_principal("u-123", ["unknown"], "jwt:u-123") is None
    assert directory.token_principal("u-123", [], "jwt:u-123") is None


def test_the_config_checks_team_references() -> None:
    servers = [{"name": "helpdesk"}]
    with pytest.raises(ValidationError, match=r"agents\[0\].team: team 'support' is not defined"):
        HubConfig.model_validate({"virtual_servers": servers, "agents": [{"name": "a", "team": "support"}]})
    with pytest.raises(ValidationError, match=r"teams\[0\].servers\[0\]: virtual server 'ledger' is not defined"):
        HubConfig.model_validate(
            {"virtual_servers": servers, "teams": [{"name": "t", "servers": [{"server": "ledger"}]}]}
        )
    with pytest.raises(ValidationError, match=r"teams\[1\]: name 't' is used twice"):
        HubConfig.model_validate({"teams": [{"name": "t"}, {"name": "t"}]})
