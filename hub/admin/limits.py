"""/admin/limits: rate-limit rules (requests per minute, concurrent calls), in force from the next call."""

from __future__ import annotations

from pydantic import TypeAdapter

from hub.admin.catalog import CatalogResource
from hub.admin.context import AdminContext
from hub.admin.http import Operation
from hub.admin.schemas import LimitOut
from hub.config.model import LimitConfig
from hub.storage.repositories import LIMITS, Stored


def operations(ctx: AdminContext) -> list[Operation]:
    async def apply_put(config: LimitConfig) -> None:
        ctx.live.put_limit(config)

    async def apply_remove(name: str) -> None:
        ctx.live.remove_limit(name)

    resource = CatalogResource(
        path="/limits",
        what="limit",
        repo=LIMITS,
        body=TypeAdapter(LimitConfig),
        out=TypeAdapter(LimitOut),
        many=TypeAdapter(list[LimitOut]),
        view=_view,
        apply_put=apply_put,
        apply_remove=apply_remove,
    )
    return resource.operations(ctx)


def _view(item: Stored[LimitConfig]) -> LimitOut:
    return LimitOut(
        name=item.config.name,
        source=item.source,
        created_at=item.created_at,
        updated_at=item.updated_at,
        config=item.config,
    )
