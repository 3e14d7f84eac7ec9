"""Model grants in the config and the agent directory: exact names are checked, globs and teams merge."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from hub.auth.directory import AgentDirectory
from hub.config.model import AgentConfig, HubConfig, TeamConfig

GROUPS = [
    {"name": "gpt-mini", "deployments": [{"name": "d", "provider": "openai", "model": "m"}]},
    {"name": "embed", "deployments": [{"name": "d", "provider": "openai", "model": "e"}]},
]
RULE = {"name": "cheap", "model": "auto", "group": "gpt-mini"}
EXPERIMENT = {"name": "ab", "model": "assistant", "arms": [{"group": "gpt-mini"}, {"group": "embed"}]}


def config(**sections: Any) -> HubConfig:
    llm = {"experiments": [EXPERIMENT], "rules": [RULE]}
    return HubConfig.model_validate({"models": GROUPS, "llm": llm, **sections})


def test_globs_group_names_experiment_and_rule_models_are_accepted() -> None:
    loaded = config(
        teams=[{"name": "t", "models": ["nothing-matches-*"]}],
        agents=[{"name": "a", "team": "t", "models": ["gpt-*", "embed", "assistant", "auto"]}],
    )
    assert loaded.agents[0].models == ("gpt-*", "embed", "assistant", "auto")
    assert loaded.teams[0].models == ("nothing-matches-*",)


@pytest.mark.parametrize(
    ("sections", "where"),
    [
        ({"agents": [{"name": "a", "models": ["gpt-*", "gpt-huge"]}]}, "agents[0].models[1]"),
        ({"teams": [{"name": "t", "models": ["embedd"]}]}, "teams[0].models[0]"),
    ],
)
def test_an_exact_name_that_is_no_model_group_is_a_config_error(sections: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as refused:
        config(**sections)
    assert where in str(refused.value)
    assert "is not defined" in str(refused.value)


def test_no_models_entry_grants_no_model() -> None:
    principal = AgentDirectory([AgentConfig(name="a")]).principal("a")
    assert principal is not None
    assert principal.models == ()
    assert not principal.allows_model("gpt-mini")


def test_a_principal_holds_its_own_and_its_teams_models() -> None:
    teams = [TeamConfig(name="t", models=("embed",)), TeamConfig(name="u", models=("claude-*",))]
    directory = AgentDirectory([AgentConfig(name="a", team="t", models=("gpt-*",))], teams)
    own = directory.principal("a")
    token = directory.token_principal("a", ["u", "unknown-team"], "kid")
    stranger = directory.token_principal("someone", ["u"], "kid")
    assert own is not None
    assert token is not None
    assert stranger is not None
    assert own.models == ("gpt-*", "embed")
    assert token.models == ("gpt-*", "embed", "claude-*")
    assert stranger.models == ("claude-*",)
    assert own.allows_model("gpt-mini")
    assert own.allows_model("embed")
    assert not own.allows_model("claude-3")
    directory.put_team(TeamConfig(name="t", models=()))
    changed = directory.principal("a")
    assert changed is not None
    assert changed.models == ("gpt-*",)
