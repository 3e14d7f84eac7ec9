"""Seed the database from the config file's catalog sections, at every start.

The YAML file is the declarative seed:

* every upstream, virtual server, team, agent, agent key and limit it defines is written (inserted or
  replaced), and marked as owned by the config file;
* items it owned before but no longer defines are deleted, unless an item made through the admin
  API still refers to them (then they are kept, with a warning, until that reference goes);
* items made through the admin API that the YAML does not define are kept: run-time changes
  survive restarts. An admin change to an item the YAML defines lasts until the next start.

A key the YAML defines keeps its revocation: revoking it through the admin API is never undone by
a restart. After seeding, the database is the source of truth for the running hub.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.api_keys import StoredKey
from hub.auth.config_keys import keys_from_config
from hub.config.model import HubConfig
from hub.errors import ConfigError
from hub.storage.catalog_version import bump_version
from hub.storage.engine import Database
from hub.storage.repositories import (
    AGENTS,
    LIMITS,
    TEAMS,
    UPSTREAMS,
    VIRTUAL_SERVERS,
    C,
    CatalogRepository,
    NewKey,
    add_key,
)
from hub.storage.repositories import delete_keys as delete_agent_keys
from hub.storage.tables import AgentKeyRow

log = logging.getLogger(__name__)


async def seed(database: Database, config: HubConfig) -> None:
    """Write the config file's catalog into the database, in one transaction."""
    async with database.transaction() as session:
        await _put_all(session, UPSTREAMS, config.upstreams)
        await _put_all(session, VIRTUAL_SERVERS, config.virtual_servers)
        await _put_all(session, TEAMS, config.teams)
        await _put_all(session, LIMITS, config.limits)
        await _put_all(session, AGENTS, tuple(agent.model_copy(update={"keys": ()}) for agent in config.agents))
        await _drop_stale(session, config)
        await _seed_keys(session, keys_from_config(config.agents))
        await bump_version(session)  # running replicas pick up what this start changed
    log.info(
        "storage.seeded",
        extra={"upstreams": len(config.upstreams), "virtual_servers": len(config.virtual_servers)},
    )


async def _put_all(session: AsyncSession, repo: CatalogRepository[C], items: Sequence[C]) -> None:
    for item in items:
        await repo.put(session, item, source="config")


async def _drop_stale(session: AsyncSession, config: HubConfig) -> None:
    """Delete what the config file owned and no longer defines: limits, agents, teams, servers, then upstreams."""
    declared_agents = {a.name for a in config.agents}
    for agent in await AGENTS.all(session):
        if agent.source == "config" and agent.config.name not in declared_agents:
            await delete_agent_keys(session, agent.config.name)
            await AGENTS.delete(session, agent.config.name)
    await _drop_unused(session, LIMITS, {rule.name for rule in config.limits}, set())
    members = {a.config.team for a in await AGENTS.all(session) if a.config.team is not None}
    await _drop_unused(session, TEAMS, {t.name for t in config.teams}, members)
    granted = {g.server for a in await AGENTS.all(session) for g in a.config.servers}
    granted |= {g.server for t in await TEAMS.all(session) for g in t.config.servers}
    await _drop_unused(session, VIRTUAL_SERVERS, {v.name for v in config.virtual_servers}, granted)
    included = {s.upstream for v in await VIRTUAL_SERVERS.all(session) for s in v.config.include}
    await _drop_unused(session, UPSTREAMS, {u.name for u in config.upstreams}, included)


async def _drop_unused(session: AsyncSession, repo: CatalogRepository[C], declared: set[str], used: set[str]) -> None:
    for item in await repo.all(session):
        name = item.config.name
        if item.source != "config" or name in declared:
            continue
        if name in used:
            log.warning("storage.seed_kept", extra={"item": f"{repo.what} {name}", "reason": "still in use"})
        else:
            await repo.delete(session, name)


async def _seed_keys(session: AsyncSession, keys: list[StoredKey]) -> None:
    owners: dict[str, str] = {}
    for key in keys:
        if owners.setdefault(key.sha256, key.agent) != key.agent:
            raise ConfigError(f"agents {owners[key.sha256]!r} and {key.agent!r} are given the same key")
    by_digest = {k.sha256: k for k in keys}
    for row in (await session.scalars(select(AgentKeyRow))).all():
        declared = by_digest.pop(row.sha256, None)
        if declared is not None:  # declared again: the YAML owns it; a revocation stays
            row.agent, row.key_id, row.expires_at, row.source = (
                declared.agent,
                declared.key_id,
                declared.expires_at,
                "config",
            )
        elif row.source == "config":
            await session.delete(row)
    for key in by_digest.values():
        await add_key(session, NewKey(key.agent, key.key_id, key.sha256, "config", key.expires_at))
    await session.flush()
