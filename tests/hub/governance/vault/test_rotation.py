"""`hub vault rotate`: every stored secret moves to the new primary key in one transaction; old keys then go."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from hub.cli import main
from hub.config.dump import to_data
from hub.config.load import load_config
from hub.errors import ConfigError
from hub.governance.vault.cipher import generate_key
from hub.storage.engine import open_database
from hub.storage.migrate import upgrade
from hub.storage.repositories import CATALOG, load_snapshot
from hub.storage.seed import seed
from hub.storage.tables import CatalogRow

TIMEOUT = 30.0


def write_config(tmp_path: Path, secret: str, key: str, previous: tuple[str, ...] = ()) -> Path:
    path = tmp_path / "hub.yaml"
    vault = {"key": key, "previous_keys": list(previous)}
    document = {
        "storage": {"url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"},
        "vault": vault,
        "upstreams": [
            {"name": "notes", "kind": "stdio", "command": "python", "env": {"TOKEN": secret}},
            {
                "name": "crm",
                "kind": "sse",
                "url": "http://127.0.0.1:9/sse",
                "auth": {"type": "basic", "username": "svc", "password": secret + "-pw"},
            },
        ],
    }
    path.write_text(json.dumps(document), encoding="utf-8")  # JSON is YAML
    return path


def stored(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(raw config column by upstream, the plaintext of each upstream's secrets) through `path`'s keys."""

    async def read() -> tuple[dict[str, str], dict[str, str]]:
        database = open_database(load_config(path))
        try:
            with anyio.fail_after(TIMEOUT):
                async with database.engine.connect() as connection:
                    rows = (await connection.execute(text("SELECT name, config FROM upstreams"))).all()
                async with database.transaction() as session:
                    snapshot = await load_snapshot(session)
        finally:
            await database.dispose()
        raw = {name: config if isinstance(config, str) else json.dumps(config) for name, config in rows}
        plain = {u.name: json.dumps(to_data(u, secrets="reveal")) for u in snapshot.upstreams}
        return raw, plain

    return anyio.run(read)


def seed_with(path: Path) -> None:
    async def run() -> None:
        config = load_config(path)
        database = open_database(config)
        try:
            with anyio.fail_after(TIMEOUT):
                await upgrade(database)
                await seed(database, config)
        finally:
            await database.dispose()

    anyio.run(run)


def test_rotation_moves_every_secret_to_the_new_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = f"rotate-{uuid.uuid4().hex}"
    old, new = generate_key(), generate_key()
    seed_with(write_config(tmp_path, secret, old))
    before, _ = stored(write_config(tmp_path, secret, old))

    during = write_config(tmp_path, secret, new, previous=(old,))
    _, readable = stored(during)  # both keys configured: the hub serves while rotation is pending
    assert secret in readable["notes"]
    assert f"{secret}-pw" in readable["crm"]
    assert main(["vault", "rotate", "--config", str(during)]) == 0
    out = capsys.readouterr().out
    assert "2 secrets in 2 rows re-encrypted" in out

    after, plain = stored(write_config(tmp_path, secret, new))  # the old key is gone: all still readable
    assert after != before
    assert all(secret not in row for row in after.values())
    assert secret in plain["notes"]
    assert f"{secret}-pw" in plain["crm"]
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        stored(write_config(tmp_path, secret, old))


def test_rotation_without_the_old_key_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = f"rotate-{uuid.uuid4().hex}"
    old = generate_key()
    seed_with(write_config(tmp_path, secret, old))
    before, _ = stored(write_config(tmp_path, secret, old))
    assert main(["vault", "rotate", "--config", str(write_config(tmp_path, secret, generate_key()))]) == 2
    assert "cannot be decrypted" in capsys.readouterr().err
    after, _ = stored(write_config(tmp_path, secret, old))
    assert after == before


def test_keygen_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["vault", "keygen"]) == 0
    key = capsys.readouterr().out.strip()
    from hub.config.model import VaultConfig

    assert VaultConfig.model_validate({"key": key}).key is not None


def test_rotation_covers_every_catalog_table() -> None:
    """A catalog table added later must join CATALOG, or its secrets would stay under an old key."""
    assert {repo.table for repo in CATALOG} == set(CatalogRow.__subclasses__())
