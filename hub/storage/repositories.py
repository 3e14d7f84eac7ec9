"""Read and write the catalog and agent keys, inside a session the caller opened.

A catalog row is owned by the config file (`source="config"`) or by the admin API
(`source="admin"`). Seeding from the config file claims a row; the admin API never takes one
from it, so an item the YAML declares is declared again on the next start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.auth.api_keys import StoredKey
from hub.config.dump import secrets_of, to_data
from hub.config.model import AgentConfig, LimitConfig, TeamConfig, UpstreamConfig, VirtualServerConfig
from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault
from hub.governance.vault.sealed import seal, sealed_count, unseal
from hub.storage.tables import (
    AgentKeyRow,
    AgentRow,
    CatalogRow,
    LimitRow,
    TeamRow,
    UpstreamRow,
    VirtualServerRow,
    utcnow,
)

Source = Literal["config", "admin"]


class _Named(Protocol):
    @property
    def name(self) -> str: ...


C = TypeVar("C", bound=_Named)


@dataclass(frozen=True, slots=True)
class Stored(Generic[C]):
    """One catalog item as the database holds it."""

    config: C
    source: Source
    created_at: datetime
    updated_at: datetime


class CatalogRepository(Generic[C]):
    """One catalog table: rows keyed by name, each holding a validated config model."""

    def __init__(self, table: type[CatalogRow], adapter: TypeAdapter[C], what: str) -> None:
        self._table = table
        self._adapter = adapter
        self.what = what  # "upstream", "virtual server", "agent": for messages

    @property
    def table(self) -> type[CatalogRow]:
        return self._table

    async def all(self, session: AsyncSession) -> list[Stored[C]]:
        rows = (await session.scalars(select(self._table).order_by(self._table.name))).all()
        return [self._stored(row, vault_of(session)) for row in rows]

    async def get(self, session: AsyncSession, name: str) -> Stored[C] | None:
        row = await session.get(self._table, name)
        return None if row is None else self._stored(row, vault_of(session))

    async def put(self, session: AsyncSession, config: C, source: Source) -> bool:
        """Insert or replace `config` (secrets sealed); True if it was inserted. Only the config file claims a row."""
        model: BaseModel = config  # type: ignore[assignment]  # every C is a pydantic model
        vault = vault_of(session)
        row = await session.get(self._table, config.name)
        if row is None:
            session.add(self._table(name=config.name, config=seal(model, vault), source=source))
            await session.flush()
            return True
        plain = to_data(model, secrets="reveal")
        if self._opened(row, vault) != plain or sealed_count(row.config) != len(secrets_of(model)):
            row.config = seal(model, vault)  # changed, or holding secrets stored before the vault existed
            row.updated_at = utcnow()
        if source == "config":
            row.source = source
        await session.flush()
        return False

    async def reseal_all(self, session: AsyncSession) -> tuple[int, int]:
        """Encrypt every row's secrets again with the vault's primary key: (rows rewritten, secrets)."""
        vault = vault_of(session)
        rows = secrets = 0
        for row in (await session.scalars(select(self._table))).all():
            model: BaseModel = self._stored(row, vault).config  # type: ignore[assignment]  # a pydantic model
            count = len(secrets_of(model))
            if count:
                row.config = seal(model, vault)
                rows, secrets = rows + 1, secrets + count
        await session.flush()
        return rows, secrets

    async def delete(self, session: AsyncSession, name: str) -> bool:
        result = await session.execute(delete(self._table).where(self._table.name == name))
        return bool(result.rowcount)  # type: ignore[attr-defined]  # DML results carry rowcount

    def _opened(self, row: CatalogRow, vault: Vault | None) -> Any:
        try:
            return unseal(row.config, vault)
        except ConfigError as exc:
            raise ConfigError(f"stored {self.what} {row.name!r}: {exc.message}") from exc

    def _stored(self, row: CatalogRow, vault: Vault | None) -> Stored[C]:
        try:
            config = self._adapter.validate_python(self._opened(row, vault))
        except ValidationError as exc:
            raise ConfigError(f"stored {self.what} {row.name!r} no longer validates: {exc.errors()[0]['msg']}") from exc
        source: Source = "config" if row.source == "config" else "admin"
        return Stored(config, source, row.created_at, row.updated_at)


UPSTREAMS: CatalogRepository[UpstreamConfig] = CatalogRepository(UpstreamRow, TypeAdapter(UpstreamConfig), "upstream")
VIRTUAL_SERVERS = CatalogRepository(VirtualServerRow, TypeAdapter(VirtualServerConfig), "virtual server")
AGENTS = CatalogRepository(AgentRow, TypeAdapter(AgentConfig), "agent")
TEAMS = CatalogRepository(TeamRow, TypeAdapter(TeamConfig), "team")
LIMITS = CatalogRepository(LimitRow, TypeAdapter(LimitConfig), "limit")
CATALOG: tuple[CatalogRepository[Any], ...] = (UPSTREAMS, VIRTUAL_SERVERS, AGENTS, TEAMS, LIMITS)
"""Every catalog table; `hub vault rotate` re-encrypts the secrets of each."""


def vault_of(session: AsyncSession) -> Vault | None:
    """The vault the session's `Database` was opened with."""
    vault = session.info.get("vault")
    return vault if isinstance(vault, Vault) else None


# --- agent keys ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyRecord:
    agent: str
    key_id: str
    sha256: str
    source: Source
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def stored(self) -> StoredKey:
        return StoredKey(self.agent, self.key_id, self.sha256, self.expires_at, self.revoked_at is not None)


@dataclass(frozen=True, slots=True)
class NewKey:
    agent: str
    key_id: str
    sha256: str
    source: Source
    expires_at: datetime | None = None


async def all_keys(session: AsyncSession, agent: str | None = None) -> list[KeyRecord]:
    query = select(AgentKeyRow).order_by(AgentKeyRow.created_at, AgentKeyRow.id)
    if agent is not None:
        query = query.where(AgentKeyRow.agent == agent)
    return [record_of(row) for row in (await session.scalars(query)).all()]


async def add_key(session: AsyncSession, key: NewKey) -> KeyRecord:
    row = AgentKeyRow(
        agent=key.agent, key_id=key.key_id, sha256=key.sha256, source=key.source, expires_at=key.expires_at
    )
    session.add(row)
    await session.flush()
    return record_of(row)


async def key_rows(session: AsyncSession, agent: str, key_id: str) -> Sequence[AgentKeyRow]:
    """The agent's keys with this public id (one, except for YAML keys that share a prefix)."""
    query = select(AgentKeyRow).where(AgentKeyRow.agent == agent, AgentKeyRow.key_id == key_id)
    return (await session.scalars(query.order_by(AgentKeyRow.id))).all()


async def delete_keys(session: AsyncSession, agent: str) -> None:
    await session.execute(delete(AgentKeyRow).where(AgentKeyRow.agent == agent))


def record_of(row: AgentKeyRow) -> KeyRecord:
    source: Source = "config" if row.source == "config" else "admin"
    return KeyRecord(row.agent, row.key_id, row.sha256, source, row.created_at, row.expires_at, row.revoked_at)


# --- everything at once ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The whole catalog, as the running hub should serve it."""

    upstreams: tuple[UpstreamConfig, ...]
    virtual_servers: tuple[VirtualServerConfig, ...]
    agents: tuple[AgentConfig, ...]
    keys: tuple[StoredKey, ...]
    teams: tuple[TeamConfig, ...] = ()
    limits: tuple[LimitConfig, ...] = ()


async def load_snapshot(session: AsyncSession) -> Snapshot:
    return Snapshot(
        upstreams=tuple(s.config for s in await UPSTREAMS.all(session)),
        virtual_servers=tuple(s.config for s in await VIRTUAL_SERVERS.all(session)),
        agents=tuple(s.config for s in await AGENTS.all(session)),
        keys=tuple(k.stored() for k in await all_keys(session) if k.revoked_at is None),
        teams=tuple(s.config for s in await TEAMS.all(session)),
        limits=tuple(s.config for s in await LIMITS.all(session)),
    )
