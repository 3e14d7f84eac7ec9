"""Seeding the database from the config file: the YAML declares, run-time items survive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import pytest
from sqlalchemy import update

from hub.auth.api_keys import digest
from hub.config.model import AgentConfig, HubConfig, StdioUpstreamConfig, VirtualServerConfig
from hub.errors import ConfigError
from hub.storage.engine import Database
from hub.storage.migrate import upgrade
from hub.storage.repositories import AGENTS, UPSTREAMS, VIRTUAL_SERVERS, Snapshot, all_keys, load_snapshot
from hub.storage.seed import seed
from hub.storage.tables import AgentKeyRow

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
KEY = "hub_seed_test_key_000000000000000000000000"


def config(**sections: Any) -> HubConfig:
    base: dict[str, Any] = {
        "upstreams": [{"name": "notes", "kind": "stdio", "command": "python", "env": {"TOKEN": "s3cret"}}],
        "virtual_servers": [{"name": "assistant", "include": [{"upstream": "notes"}]}],
        "agents": [{"name": "bot", "keys": [{"key": KEY}], "servers": [{"server": "assistant"}]}],
    }
    return HubConfig.model_validate(base | sections)


async def seeded(db: Database, cfg: HubConfig) -> Snapshot:
    with anyio.fail_after(TIMEOUT):
        await upgrade(db)
        await seed(db, cfg)
        async with db.transaction() as session:
            return await load_snapshot(session)


async def test_the_config_catalog_is_stored_with_secrets_and_keys_as_digests(database: Database) -> None:
    snapshot = await seeded(database, config())
    [upstream] = snapshot.upstreams
    assert isinstance(upstream, StdioUpstreamConfig)
    assert upstream.env["TOKEN"].get_secret_value() == "s3cret"
    assert [v.name for v in snapshot.virtual_servers] == ["assistant"]
    [agent] = snapshot.agents
    assert agent.keys == ()  # plaintext keys never reach the catalog table
    [key] = snapshot.keys
    assert (key.agent, key.sha256, key.key_id) == ("bot", digest(KEY), KEY[:12])


async def test_run_time_items_survive_and_items_dropped_from_the_config_go(database: Database) -> None:
    await seeded(database, config())
    async with database.transaction() as session:
        await UPSTREAMS.put(session, StdioUpstreamConfig(kind="stdio", name="extra", command="x"), source="admin")
    snapshot = await seeded(database, config(virtual_servers=[], agents=[], upstreams=[]))
    assert [u.name for u in snapshot.upstreams] == ["extra"]
    assert snapshot.virtual_servers == snapshot.agents == snapshot.keys == ()


async def test_a_dropped_config_item_that_a_run_time_item_uses_is_kept(database: Database) -> None:
    await seeded(database, config())
    async with database.transaction() as session:
        server = VirtualServerConfig.model_validate({"name": "mine", "include": [{"upstream": "notes"}]})
        await VIRTUAL_SERVERS.put(session, server, source="admin")
    snapshot = await seeded(database, config(virtual_servers=[], agents=[], upstreams=[]))
    assert [u.name for u in snapshot.upstreams] == ["notes"]
    assert [v.name for v in snapshot.virtual_servers] == ["mine"]


async def test_an_admin_change_to_a_config_item_lasts_until_the_next_start(database: Database) -> None:
    await seeded(database, config())
    async with database.transaction() as session:
        changed = StdioUpstreamConfig(kind="stdio", name="notes", command="changed")
        await UPSTREAMS.put(session, changed, source="admin")
        stored = await UPSTREAMS.get(session, "notes")
    assert stored is not None
    assert stored.source == "config"
    snapshot = await seeded(database, config())
    assert [u.command for u in snapshot.upstreams if isinstance(u, StdioUpstreamConfig)] == ["python"]


async def test_a_revoked_config_key_stays_revoked_after_a_restart(database: Database) -> None:
    await seeded(database, config())
    async with database.transaction() as session:
        await session.execute(update(AgentKeyRow).values(revoked_at=datetime.now(UTC)))
    snapshot = await seeded(database, config())
    assert snapshot.keys == ()
    async with database.transaction() as session:
        [key] = await all_keys(session, "bot")
    assert key.revoked_at is not None


async def test_one_key_given_to_two_agents_is_refused(database: Database) -> None:
    agents = [
        {"name": "a", "keys": [{"key": KEY}], "servers": [{"server": "assistant"}]},
        {"name": "b", "keys": [{"key": KEY}]},
    ]
    with pytest.raises(ConfigError, match="'a' and 'b' are given the same key"):
        await seeded(database, config(agents=agents))


async def test_teams_and_limits_are_seeded_and_go_when_the_config_drops_them(database: Database) -> None:
    team = {"name": "support", "servers": [{"server": "assistant"}]}
    member = {"name": "bot", "team": "support", "keys": [{"key": KEY}]}
    rule = {"name": "slow", "requests_per_minute": 5}
    first = await seeded(database, config(teams=[team], agents=[member], limits=[rule]))
    async with database.transaction() as session:
        await AGENTS.put(session, AgentConfig(name="helper", team="support"), source="admin")
    kept = await seeded(database, config(agents=[]))  # the team is still used by the admin-made agent
    async with database.transaction() as session:
        await AGENTS.delete(session, "helper")
    gone = await seeded(database, config(agents=[]))
    assert [(t.name, [g.server for g in t.servers]) for t in first.teams] == [("support", ["assistant"])]
    assert [(a.name, a.team) for a in first.agents] == [("bot", "support")]
    assert [(r.name, r.requests_per_minute) for r in first.limits] == [("slow", 5)]
    assert [t.name for t in kept.teams] == ["support"]
    assert kept.limits == ()
    assert gone.teams == ()
