"""/admin/virtual_servers: curated sets of upstream tools, resources and prompts that agents connect to."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.admin.catalog import CatalogResource
from hub.admin.context import AdminContext
from hub.admin.http import Operation, invalid
from hub.admin.schemas import VirtualServerOut
from hub.config.model import VirtualServerConfig
from hub.errors import ConflictError
from hub.storage.repositories import AGENTS, TEAMS, UPSTREAMS, VIRTUAL_SERVERS, Stored


def operations(ctx: AdminContext) -> list[Operation]:
    async def apply_put(config: VirtualServerConfig) -> None:
        ctx.live.put_server(config)

    async def apply_remove(name: str) -> None:
        ctx.live.remove_server(name)

    resource = CatalogResource(
        path="/virtual_servers",
        what="virtual server",
        repo=VIRTUAL_SERVERS,
        body=TypeAdapter(VirtualServerConfig),
        out=TypeAdapter(VirtualServerOut),
        many=TypeAdapter(list[VirtualServerOut]),
        view=_view,
        apply_put=apply_put,
        apply_remove=apply_remove,
        check=_upstreams_defined,
        before_delete=_not_granted,
    )
    return resource.operations(ctx)


def _view(item: Stored[VirtualServerConfig]) -> VirtualServerOut:
    return VirtualServerOut(
        name=item.config.name,
        source=item.source,
        created_at=item.created_at,
        updated_at=item.updated_at,
        config=item.config,
    )


async def _upstreams_defined(session: AsyncSession, config: VirtualServerConfig) -> None:
    known = {u.config.name for u in await UPSTREAMS.all(session)}
    for j, selection in enumerate(config.include):
        if selection.upstream not in known:
            raise invalid("virtual server", f"include[{j}].upstream", f"upstream {selection.upstream!r} is not defined")


async def _not_granted(session: AsyncSession, name: str) -> None:
    users = [a.config.name for a in await AGENTS.all(session) if any(g.server == name for g in a.config.servers)]
    teams = [t.config.name for t in await TEAMS.all(session) if any(g.server == name for g in t.config.servers)]
    if users or teams:
        holders = [*(f"agent {u}" for u in users), *(f"team {t}" for t in teams)]
        raise ConflictError(
            f"virtual server {name!r} is granted to {', '.join(holders)}; remove their grants first",
            agents=users,
            teams=teams,
        )
