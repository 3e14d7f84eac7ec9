"""List, get, create, replace and delete for one catalog resource (upstreams, virtual servers, agents).

Every write is checked against the database (cross-references), stored, committed, and only then
applied to the running hub, all under the admin write lock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from hub.admin.context import AdminContext
from hub.admin.http import Operation, invalid, no_content, read_json, respond, validated
from hub.errors import ConflictError, NotFoundError
from hub.storage.repositories import C, CatalogRepository, Stored

Out = TypeVar("Out")  # the resource's response model


async def _nothing(session: AsyncSession, subject: object) -> None:
    return None


def _same(data: object, current: object) -> object:
    return data


@dataclass(frozen=True)
class CatalogResource(Generic[C, Out]):
    path: str  # "/upstreams"
    what: str  # "upstream", for messages and summaries
    repo: CatalogRepository[C]
    body: TypeAdapter[C]
    out: TypeAdapter[Out]
    many: TypeAdapter[list[Out]]
    view: Callable[[Stored[C]], Out]
    apply_put: Callable[[C], Awaitable[None]]
    apply_remove: Callable[[str], Awaitable[None]]
    check: Callable[[AsyncSession, C], Awaitable[None]] = _nothing  # cross-references; raises ConfigError
    before_delete: Callable[[AsyncSession, str], Awaitable[None]] = _nothing  # raises ConflictError when in use
    prepare: Callable[[object, Stored[C] | None], object] = field(default=_same)  # body data, stored item

    def operations(self, ctx: AdminContext) -> list[Operation]:
        return _Routes(self, ctx).operations()


class _Routes(Generic[C, Out]):
    def __init__(self, resource: CatalogResource[C, Out], ctx: AdminContext) -> None:
        self.r = resource
        self.ctx = ctx

    def operations(self) -> list[Operation]:
        r, one = self.r, f"{self.r.path}/{{name}}"
        return [
            Operation("GET", r.path, f"List {r.what}s", self.list, response=self.r.many, errors=(401,)),
            Operation("POST", r.path, f"Create a {r.what}", self.create, r.body, r.out, 201, errors=(401, 409, 422)),
            Operation("GET", one, f"Get one {r.what}", self.get, response=r.out),
            Operation("PUT", one, f"Create or replace a {r.what}", self.replace, r.body, r.out, errors=(401, 422)),
            Operation("DELETE", one, f"Delete a {r.what}", self.delete, status=204, errors=(401, 404, 409)),
        ]

    async def list(self, request: Request) -> Response:
        async with self.ctx.database.transaction() as session:
            items = await self.r.repo.all(session)
        return respond(self.r.many, [self.r.view(item) for item in items])

    async def get(self, request: Request) -> Response:
        name = request.path_params["name"]
        async with self.ctx.database.transaction() as session:
            item = await self.r.repo.get(session, name)
        if item is None:
            raise self._missing(name)
        return respond(self.r.out, self.r.view(item))

    async def create(self, request: Request) -> Response:
        data = await read_json(request)
        return await self._write(data, None)

    async def replace(self, request: Request) -> Response:
        data = await read_json(request)
        return await self._write(data, request.path_params["name"])

    async def delete(self, request: Request) -> Response:
        name = request.path_params["name"]
        async with self.ctx.writes:
            async with self.ctx.change() as session:
                if await self.r.repo.get(session, name) is None:
                    raise self._missing(name)
                await self.r.before_delete(session, name)
                await self.r.repo.delete(session, name)
            await self.r.apply_remove(name)
        return no_content()

    async def _write(self, data: object, path_name: str | None) -> Response:
        async with self.ctx.writes:
            async with self.ctx.change() as session:
                current = await self.r.repo.get(session, path_name) if path_name is not None else None
                config = validated(self.r.body, self.r.prepare(data, current), self.r.what)
                if path_name is not None and config.name != path_name:
                    raise invalid(self.r.what, "name", f"must be {path_name!r}, the name in the path")
                if path_name is None and await self.r.repo.get(session, config.name) is not None:
                    raise ConflictError(
                        f"{self.r.what} {config.name!r} exists already; PUT {self.r.path}/{config.name} replaces it"
                    )
                await self.r.check(session, config)
                created = await self.r.repo.put(session, config, source="admin")
                stored = await self.r.repo.get(session, config.name)
            assert stored is not None
            await self.r.apply_put(config)
        return respond(self.r.out, self.r.view(stored), 201 if created else 200)

    def _missing(self, name: str) -> NotFoundError:
        return NotFoundError(f"{self.r.what} {name!r} is not defined")
