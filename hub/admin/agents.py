"""/admin/agents: who may connect, and to which virtual servers (keys live under /admin/agents/{name}/keys)."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.admin.catalog import CatalogResource
from hub.admin.context import AdminContext
from hub.admin.http import Operation, invalid
from hub.admin.schemas import AgentOut
from hub.config.model import AgentConfig
from hub.storage.repositories import AGENTS, TEAMS, VIRTUAL_SERVERS, Stored, delete_keys


def operations(ctx: AdminContext) -> list[Operation]:
    async def apply_put(config: AgentConfig) -> None:
        ctx.live.put_agent(config)

    async def apply_remove(name: str) -> None:
        ctx.live.remove_agent(name)
        await ctx.reload_keys()

    resource = CatalogResource(
        path="/agents",
        what="agent",
        repo=AGENTS,
        body=TypeAdapter(AgentConfig),
        out=TypeAdapter(AgentOut),
        many=TypeAdapter(list[AgentOut]),
        view=_view,
        apply_put=apply_put,
        apply_remove=apply_remove,
        check=_servers_defined,
        before_delete=delete_keys,
    )
    return resource.operations(ctx)


def _view(item: Stored[AgentConfig]) -> AgentOut:
    return AgentOut(
        name=item.config.name,
        source=item.source,
        created_at=item.created_at,
        updated_at=item.updated_at,
        config=item.config,
    )


async def _servers_defined(session: AsyncSession, config: AgentConfig) -> None:
    if config.keys:
        raise invalid("agent", "keys", "manage keys with POST /admin/agents/{name}/keys; they are shown only once")
    known = {v.config.name for v in await VIRTUAL_SERVERS.all(session)}
    for j, grant in enumerate(config.servers):
        if grant.server not in known:
            raise invalid("agent", f"servers[{j}].server", f"virtual server {grant.server!r} is not defined")
    if config.team is not None and await TEAMS.get(session, config.team) is None:
        raise invalid("agent", "team", f"team {config.team!r} is not defined; create it with POST /admin/teams")
