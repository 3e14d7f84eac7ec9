"""/admin/agents/{name}/keys: make (shown once), list, rotate (with an overlap) and revoke agent keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from hub.admin.context import AdminContext
from hub.admin.http import Operation, no_content, read_json, respond, validated
from hub.admin.schemas import KeyCreate, KeyOut, KeyRotate, KeyRotated, NewKeyOut
from hub.auth.api_keys import digest, generate_key, key_id
from hub.errors import ConflictError, NotFoundError
from hub.storage.repositories import AGENTS, KeyRecord, NewKey, add_key, all_keys, key_rows, record_of
from hub.storage.tables import AgentKeyRow

KEYS = TypeAdapter(list[KeyOut])
NEW_KEY = TypeAdapter(NewKeyOut)
ROTATED = TypeAdapter(KeyRotated)
CREATE = TypeAdapter(KeyCreate)
ROTATE = TypeAdapter(KeyRotate)
_WRITE = (401, 404, 422)


def operations(ctx: AdminContext) -> list[Operation]:
    async def list_keys(request: Request) -> Response:
        agent = request.path_params["name"]
        async with ctx.database.transaction() as session:
            await _agent_defined(session, agent)
            keys = await all_keys(session, agent)
        return respond(KEYS, [_out(k) for k in keys])

    async def create(request: Request) -> Response:
        agent = request.path_params["name"]
        body = validated(CREATE, await read_json(request), "key")
        async with ctx.writes:
            async with ctx.change() as session:
                await _agent_defined(session, agent)
                created = await _new_key(session, agent, body.expires_at)
            await ctx.reload_keys()
        return respond(NEW_KEY, created, 201)

    async def rotate(request: Request) -> Response:
        agent, kid = request.path_params["name"], request.path_params["key_id"]
        body = validated(ROTATE, await read_json(request), "key rotation")
        async with ctx.writes:
            async with ctx.change() as session:
                await _agent_defined(session, agent)
                old = await _one_key(session, agent, kid)
                cutoff = datetime.now(UTC) + timedelta(seconds=body.overlap_s)
                if old.expires_at is None or old.expires_at > cutoff:
                    old.expires_at = cutoff
                new = await _new_key(session, agent, body.expires_at)
                previous = _out(record_of(old))
            await ctx.reload_keys()
        return respond(ROTATED, KeyRotated(key=new, previous=previous))

    async def revoke(request: Request) -> Response:
        agent, kid = request.path_params["name"], request.path_params["key_id"]
        async with ctx.writes:
            async with ctx.change() as session:
                await _agent_defined(session, agent)
                rows = await key_rows(session, agent, kid)
                if not rows:
                    raise _missing(agent, kid)
                for row in rows:  # YAML keys may share a public id: revoke every match
                    row.revoked_at = row.revoked_at or datetime.now(UTC)
            await ctx.reload_keys()
        return no_content()

    keys, one = "/agents/{name}/keys", "/agents/{name}/keys/{key_id}"
    return [
        Operation("GET", keys, "List an agent's keys (ids and dates, never the keys)", list_keys, response=KEYS),
        Operation("POST", keys, "Make a key; the response shows it once", create, CREATE, NEW_KEY, 201, _WRITE),
        Operation(
            "POST",
            one + "/rotate",
            "Make a new key; the old one expires after overlap_s",
            rotate,
            ROTATE,
            ROTATED,
            errors=(*_WRITE, 409),
        ),
        Operation("DELETE", one, "Revoke a key at once", revoke, status=204),
    ]


async def _agent_defined(session: AsyncSession, agent: str) -> None:
    if await AGENTS.get(session, agent) is None:
        raise NotFoundError(f"agent {agent!r} is not defined")


async def _one_key(session: AsyncSession, agent: str, kid: str) -> AgentKeyRow:
    rows = await key_rows(session, agent, kid)
    if not rows:
        raise _missing(agent, kid)
    if len(rows) > 1:
        raise ConflictError(f"{len(rows)} keys of agent {agent!r} share the id {kid!r}; revoke them and make new ones")
    if rows[0].revoked_at is not None:
        raise ConflictError(f"key {kid!r} of agent {agent!r} is revoked; make a new key instead")
    return rows[0]


async def _new_key(session: AsyncSession, agent: str, expires_at: datetime | None) -> NewKeyOut:
    while True:  # a public id repeats once in 2**48 keys; never hand out an ambiguous one
        plain = generate_key()
        if not await key_rows(session, agent, key_id(plain)):
            break
    record = await add_key(session, NewKey(agent, key_id(plain), digest(plain), "admin", expires_at))
    return NewKeyOut(key=plain, **_out(record).model_dump())


def _out(record: KeyRecord) -> KeyOut:
    now = datetime.now(UTC)
    state = (
        "revoked"
        if record.revoked_at is not None
        else "expired"
        if record.expires_at is not None and record.expires_at <= now
        else "active"
    )
    return KeyOut(
        agent=record.agent,
        key_id=record.key_id,
        source=record.source,
        state=state,
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
    )


def _missing(agent: str, kid: str) -> NotFoundError:
    return NotFoundError(f"agent {agent!r} has no key {kid!r}")
