"""/admin/upstreams: the MCP servers the hub connects to, with their health."""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from hub.admin.catalog import CatalogResource
from hub.admin.context import AdminContext
from hub.admin.http import Operation, field_path, invalid, respond
from hub.admin.schemas import HealthOut, UpstreamOut
from hub.config.dump import MASK, secrets_of
from hub.config.dump import Path as SecretPath
from hub.config.model import UpstreamConfig
from hub.core.connector import UpstreamHealth
from hub.errors import ConflictError, NotFoundError
from hub.storage.repositories import UPSTREAMS, VIRTUAL_SERVERS, Stored

HEALTH = TypeAdapter(HealthOut)


def operations(ctx: AdminContext) -> list[Operation]:
    def view(item: Stored[UpstreamConfig]) -> UpstreamOut:
        return UpstreamOut(
            name=item.config.name,
            source=item.source,
            created_at=item.created_at,
            updated_at=item.updated_at,
            config=item.config,
            health=_health(ctx, item.config.name),
        )

    async def apply_put(config: UpstreamConfig) -> None:
        ctx.live.put_upstream(config)

    async def apply_remove(name: str) -> None:
        ctx.live.remove_upstream(name)

    async def health(request: Request) -> Response:
        name = request.path_params["name"]
        async with ctx.database.transaction() as session:
            if await UPSTREAMS.get(session, name) is None:
                raise NotFoundError(f"upstream {name!r} is not defined")
        return respond(HEALTH, _health(ctx, name))

    resource = CatalogResource(
        path="/upstreams",
        what="upstream",
        repo=UPSTREAMS,
        body=TypeAdapter(UpstreamConfig),
        out=TypeAdapter(UpstreamOut),
        many=TypeAdapter(list[UpstreamOut]),
        view=view,
        apply_put=apply_put,
        apply_remove=apply_remove,
        before_delete=_not_included,
        prepare=_unmask,
    )
    return [
        *resource.operations(ctx),
        Operation("GET", "/upstreams/{name}/health", "One upstream's health", health, response=HEALTH),
    ]


def _health(ctx: AdminContext, name: str) -> HealthOut:
    health = ctx.live.health(name) or UpstreamHealth(name, "stopped", "not running")
    return HealthOut(
        name=health.name,
        state=health.state,
        detail=health.detail,
        restarts=health.restarts,
        protocol_version=health.protocol_version,
    )


async def _not_included(session: AsyncSession, name: str) -> None:
    servers = await VIRTUAL_SERVERS.all(session)
    users = [s.config.name for s in servers if any(sel.upstream == name for sel in s.config.include)]
    if users:
        raise ConflictError(
            f"upstream {name!r} is used by virtual servers {', '.join(users)}; remove it from them first",
            virtual_servers=users,
        )


def _unmask(data: object, current: Stored[UpstreamConfig] | None) -> object:
    """Put the stored secret back wherever a PUT body sends "***" (as a GET shows it), at any depth."""
    stored = secrets_of(current.config) if current is not None else {}
    return _restore(data, (), stored)


def _restore(value: object, path: SecretPath, stored: dict[SecretPath, str]) -> object:
    if value == MASK:
        if path not in stored:
            raise invalid("upstream", field_path(path), f"{MASK!r} stands for a stored secret; none is stored here")
        return stored[path]
    if isinstance(value, dict):
        return {k: _restore(v, (*path, str(k)), stored) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, (*path, i), stored) for i, v in enumerate(value)]
    return value
