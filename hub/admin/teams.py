"""/admin/teams: groups of agents that share grants; an agent joins one with its `team` field."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.admin.catalog import CatalogResource
from hub.admin.context import AdminContext
from hub.admin.http import Operation, invalid
from hub.admin.schemas import TeamOut
from hub.config.model import TeamConfig
from hub.errors import ConflictError
from hub.storage.repositories import AGENTS, TEAMS, VIRTUAL_SERVERS, Stored


def operations(ctx: AdminContext) -> list[Operation]:
    async def apply_put(config: TeamConfig) -> None:
        ctx.live.put_team(config)

    async def apply_remove(name: str) -> None:
        ctx.live.remove_team(name)

    resource = CatalogResource(
        path="/teams",
        what="team",
        repo=TEAMS,
        body=TypeAdapter(TeamConfig),
        out=TypeAdapter(TeamOut),
        many=TypeAdapter(list[TeamOut]),
        view=_view,
        apply_put=apply_put,
        apply_remove=apply_remove,
        check=_servers_defined,
        before_delete=_no_members,
    )
    return resource.operations(ctx)


def _view(item: Stored[TeamConfig]) -> TeamOut:
    return TeamOut(
        name=item.config.name,
        source=item.source,
        created_at=item.created_at,
        updated_at=item.updated_at,
        config=item.config,
    )


async def _servers_defined(session: AsyncSession, config: TeamConfig) -> None:
    known = {v.config.name for v in await VIRTUAL_SERVERS.all(session)}
    for j, grant in enumerate(config.servers):
        if grant.server not in known:
            raise invalid("team", f"servers[{j}].server", f"virtual server {grant.server!r} is not defined")


async def _no_members(session: AsyncSession, name: str) -> None:
    members = [a.config.name for a in await AGENTS.all(session) if a.config.team == name]
    if members:
        raise ConflictError(
            f"team {name!r} has members {', '.join(members)}; move them to another team first", agents=members
        )
