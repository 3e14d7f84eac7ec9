"""Catalog rows hold every secret encrypted: generic over SecretStr, read back in plaintext, unchanged rows kept."""

from __future__ import annotations

import json
import uuid
from typing import Any

import anyio
import pytest
from pydantic import TypeAdapter
from sqlalchemy import text, update

from hub.config.model import UpstreamConfig
from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault, generate_key
from hub.storage.engine import Database
from hub.storage.migrate import upgrade
from hub.storage.repositories import UPSTREAMS
from hub.storage.tables import UpstreamRow

pytestmark = pytest.mark.anyio

TIMEOUT = 30.0
UPSTREAM: TypeAdapter[UpstreamConfig] = TypeAdapter(UpstreamConfig)


def secrets() -> dict[str, str]:
    tag = uuid.uuid4().hex
    return {k: f"{k}-{tag}" for k in ("header", "client", "env", "rest")}


def http_upstream(s: dict[str, str]) -> UpstreamConfig:
    return UPSTREAM.validate_python(
        {
            "name": "crm",
            "kind": "streamable-http",
            "url": "http://127.0.0.1:9/mcp",
            "headers": {"X-Tenant": s["header"]},
            "auth": {
                "type": "oauth2",
                "token_url": "http://127.0.0.1:9/token",
                "client_id": "hub",
                "client_secret": s["client"],
            },
        }
    )


def rest_upstream(s: dict[str, str]) -> UpstreamConfig:
    """A kind the vault was written without knowing: its SecretStr fields are sealed all the same."""
    return UPSTREAM.validate_python(
        {
            "name": "shop",
            "kind": "rest",
            "base_url": "http://127.0.0.1:9",
            "tools": [{"name": "orders", "path": "/orders"}],
            "auth": {"type": "bearer", "token": s["rest"]},
        }
    )


def stdio_upstream(s: dict[str, str], **extra: Any) -> UpstreamConfig:
    return UPSTREAM.validate_python(
        {"name": "notes", "kind": "stdio", "command": "python", "env": {"T": s["env"]}} | extra
    )


async def raw_rows(db: Database) -> dict[str, str]:
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT name, config FROM upstreams"))).all()
    return {name: config if isinstance(config, str) else json.dumps(config) for name, config in rows}


async def test_every_secret_is_stored_encrypted_and_read_back(database: Database) -> None:
    s = secrets()
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        async with database.transaction() as session:
            await UPSTREAMS.put(session, http_upstream(s), "config")
            await UPSTREAMS.put(session, stdio_upstream(s), "admin")
            await UPSTREAMS.put(session, rest_upstream(s), "admin")
        raw = await raw_rows(database)
        async with database.transaction() as session:
            crm, notes = await UPSTREAMS.get(session, "crm"), await UPSTREAMS.get(session, "notes")
            shop = await UPSTREAMS.get(session, "shop")
    assert crm is not None
    assert notes is not None
    assert crm.config == http_upstream(s)
    assert notes.config == stdio_upstream(s)
    assert shop is not None
    assert shop.config == rest_upstream(s)
    assert raw["shop"].count('"$enc"') == 1
    for value in s.values():
        assert all(value not in row for row in raw.values())
    assert raw["crm"].count('"$enc"') == 2
    assert raw["notes"].count('"$enc"') == 1
    assert "http://127.0.0.1:9/token" in raw["crm"]  # only secrets are encrypted


async def test_an_unchanged_item_keeps_its_row(database: Database) -> None:
    s = secrets()
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        async with database.transaction() as session:
            await UPSTREAMS.put(session, stdio_upstream(s), "config")
            first = await UPSTREAMS.get(session, "notes")
        before = await raw_rows(database)
        async with database.transaction() as session:
            await UPSTREAMS.put(session, stdio_upstream(s), "config")
            again = await UPSTREAMS.get(session, "notes")
        after = await raw_rows(database)
    assert first is not None
    assert again is not None
    assert before == after  # encryption is not deterministic: an unchanged row is not re-encrypted
    assert again.updated_at == first.updated_at


async def test_a_secret_stored_in_plaintext_before_the_vault_is_encrypted_on_the_next_write(database: Database) -> None:
    s = secrets()
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        async with database.transaction() as session:
            await UPSTREAMS.put(session, stdio_upstream(s), "config")
            plain = {"name": "notes", "kind": "stdio", "command": "python", "env": {"T": s["env"]}}
            await session.execute(update(UpstreamRow).where(UpstreamRow.name == "notes").values(config=plain))
        assert s["env"] in (await raw_rows(database))["notes"]
        async with database.transaction() as session:
            legacy = await UPSTREAMS.get(session, "notes")
            await UPSTREAMS.put(session, stdio_upstream(s), "config")
        raw = await raw_rows(database)
    assert legacy is not None
    assert legacy.config == stdio_upstream(s)
    assert s["env"] not in raw["notes"]
    assert '"$enc"' in raw["notes"]


async def test_a_row_no_key_decrypts_is_reported_by_name(database: Database) -> None:
    s = secrets()
    with anyio.fail_after(TIMEOUT):
        await upgrade(database)
        async with database.transaction() as session:
            await UPSTREAMS.put(session, stdio_upstream(s), "config")
        other = Database(database.url, vault=Vault([generate_key().encode()]))
        try:
            with pytest.raises(ConfigError, match=r"stored upstream 'notes': .*cannot be decrypted"):
                async with other.transaction() as session:
                    await UPSTREAMS.get(session, "notes")
            keyless = Database(database.url)
            try:
                with pytest.raises(ConfigError, match="no vault key"):
                    async with keyless.transaction() as session:
                        await UPSTREAMS.get(session, "notes")
            finally:
                await keyless.dispose()
        finally:
            await other.dispose()
