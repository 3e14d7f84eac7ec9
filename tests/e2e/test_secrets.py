"""Upstream credentials reach their upstreams and nowhere else: not agents, admin reads, logs, audit, or the database.

A real hub serves eight upstreams that check what they receive (tests/servers/guarded.py, told only
the SHA-256 of the expected value): a bearer token and a secret header (Streamable HTTP), basic auth
(legacy SSE), OAuth client credentials and an API key in the query (Streamable HTTP), a stdio
upstream's environment (which it also prints to its stderr, as a careless upstream would), and
three given wrong credentials (a bearer token, a query key, an OAuth client secret), which stay
down. Agents of both protocol eras make calls, errors, a crash and restart and a token revocation;
an admin reads everything and writes a masked config back; `hub check` reads a file with the
secrets as references. Then every secret is searched for in what agents and the admin were shown,
the log (each record as the hub's JSON and text formatters write it, at DEBUG), the process's own
output, the audit journal on disk and every row of every table (catalog, keys, audit).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.shared.exceptions import MCPError
from sqlalchemy import inspect, text

from hub.cli import main
from hub.config.model import HubConfig
from hub.governance.audit.auditor import default_journal_dir
from hub.observability.logging import QUIET_LOGGERS, JsonFormatter, TextFormatter
from hub.storage.engine import open_database
from tests.conftest import TEST_SERVERS, open_client

pytestmark = pytest.mark.anyio

TIMEOUT = 60.0
GUARDED = TEST_SERVERS / "guarded.py"
KEY = "hub_secrets_e2e_key_00000000000000000000"
ADMIN = "admin-token-secrets-e2e"


def canary(kind: str) -> str:
    return f"vault-canary-{kind}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Secrets:
    bearer: str = field(default_factory=lambda: canary("bearer"))
    password: str = field(default_factory=lambda: canary("password"))
    header: str = field(default_factory=lambda: canary("header"))
    client: str = field(default_factory=lambda: canary("client"))
    query: str = field(default_factory=lambda: canary("query"))
    env: str = field(default_factory=lambda: canary("env"))
    wrong: str = field(default_factory=lambda: canary("wrong"))
    wrong_query: str = field(default_factory=lambda: canary("wrongquery"))
    wrong_client: str = field(default_factory=lambda: canary("wrongclient"))

    def all(self) -> dict[str, str]:
        return asdict(self)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def upstreams(s: Secrets, urls: dict[str, str]) -> list[dict[str, Any]]:
    bearer_url, oauth_url, query_url = urls["bearer"], urls["oauth"], urls["query"]
    oauth_base = oauth_url.removesuffix("/mcp")
    return [
        {
            "name": "bearer",
            "kind": "streamable-http",
            "url": bearer_url,
            "headers": {"X-Canary": s.header},
            "auth": {"type": "bearer", "token": s.bearer},
        },
        {
            "name": "basic",
            "kind": "sse",
            "url": urls["basic"],
            "auth": {"type": "basic", "username": "svc", "password": s.password},
        },
        {
            "name": "oauth",
            "kind": "streamable-http",
            "url": oauth_url,
            "auth": {
                "type": "oauth2",
                "token_url": f"{oauth_base}/token",
                "client_id": "hub-client",
                "client_secret": s.client,
                "scopes": ["mcp"],
            },
        },
        {
            "name": "query",
            "kind": "streamable-http",
            "url": query_url,
            "auth": {"type": "api_key", "name": "api_key", "value": s.query, "location": "query"},
        },
        {
            "name": "local",
            "kind": "stdio",
            "command": sys.executable,
            "args": [str(GUARDED), "--mode", "env", "--digest", digest(s.env), "--print-token"],
            "env": {"UPSTREAM_TOKEN": s.env},
            "restart_backoff_s": 0.1,
        },
        {"name": "refused", "kind": "streamable-http", "url": bearer_url, "auth": {"type": "bearer", "token": s.wrong}},
        {
            "name": "refused-query",
            "kind": "streamable-http",
            "url": query_url,
            "auth": {"type": "api_key", "name": "api_key", "value": s.wrong_query, "location": "query"},
        },
        {
            "name": "refused-oauth",
            "kind": "streamable-http",
            "url": oauth_url,
            "auth": {
                "type": "oauth2",
                "token_url": f"{bearer_url.removesuffix('/mcp')}/token",  # not the one whose requests are counted
                "client_id": "hub-client",
                "client_secret": s.wrong_client,
            },
        },
    ]


async def test_credentials_reach_upstreams_and_leak_nowhere(
    run_hub, make_hub_config, start_upstream, open_agent, caplog, capfd, tmp_path, monkeypatch
) -> None:
    for quiet in QUIET_LOGGERS:  # as `hub serve` configures them
        caplog.set_level(logging.WARNING, logger=quiet)
    caplog.set_level(logging.DEBUG)  # last: this also sets the capturing handler's level
    s = Secrets()
    seen: list[str] = []  # everything an agent or an admin was shown
    async with (
        start_upstream(GUARDED, "--mode", "bearer", "--digest", digest(s.bearer)) as bearer_url,
        start_upstream(
            GUARDED, "--mode", "basic", "--digest", digest(f"svc:{s.password}"), "--transport", "sse"
        ) as basic_url,
        start_upstream(
            GUARDED, "--mode", "oauth", "--digest", digest(s.client), "--client-id", "hub-client"
        ) as oauth_url,
        start_upstream(GUARDED, "--mode", "query", "--digest", digest(s.query)) as query_url,
    ):
        urls = {"bearer": bearer_url, "basic": basic_url, "oauth": oauth_url, "query": query_url}
        listed = upstreams(s, urls)
        config = make_hub_config(
            server={"admin_token": ADMIN},
            upstreams=listed,
            virtual_servers=[{"name": "all", "prefix": "always", "include": [{"upstream": u["name"]} for u in listed]}],
            agents=[{"name": "agent", "keys": [{"key": KEY}], "servers": [{"server": "all"}]}],
        )
        async with run_hub(config) as running:
            with anyio.fail_after(TIMEOUT):
                await agent_journey(running, open_agent, seen)
                await modern_agent_journey(running, open_agent, seen)
                await admin_journey(running, seen)
        with anyio.fail_after(TIMEOUT):  # after shutdown: the audit writer has stored every record
            rows = await database_rows(config)
        journal = journal_files(config)
        hub_check(config_file(tmp_path, s, bearer_url, monkeypatch), seen, capfd)

    logged = [rendering for record in caplog.records for rendering in rendered(record)]
    output = capfd.readouterr()
    assert any("upstream.ready" in line for line in logged)  # the capture holds the hub's records
    assert any("upstream.down" in line and "refused" in line for line in logged)
    assert any("upstream.stderr" in line and "starting with token ***" in line for line in logged)
    assert any('"$enc"' in row for row in rows)  # and the database's rows
    assert any(row.startswith("audit") and "oauth__whoami" in row for row in rows)  # and the audit's
    assert any("bearer__whoami" in text for text in journal)  # and the audit journal on disk
    for name, secret in s.all().items():
        for where, texts in (("agent/admin", seen), ("log", logged), ("output", [output.out, output.err])):
            leaks = [t for t in texts if secret in t]
            assert not leaks, f"the {name} secret leaked to the {where}: {leaks[0][:300]}"
        assert not [row for row in rows if secret in row], f"the {name} secret is stored in plaintext"
        assert not [text for text in journal if secret in text], f"the {name} secret is in the audit journal"


async def agent_journey(running, open_agent, seen: list[str]) -> None:
    changed = anyio.Event()

    async def on_message(message: object) -> None:
        if getattr(message, "method", None) == "notifications/tools/list_changed":
            changed.set()

    async with open_agent("http-legacy", running, "all", KEY, message_handler=on_message) as agent:
        tools = sorted(t.name for t in (await agent.list_tools()).tools)
        seen.append(json.dumps(tools))
        assert "refused__whoami" not in tools  # down: its tools are not listed
        for upstream in ("bearer", "basic", "oauth", "query", "local"):
            result = await agent.call_tool(f"{upstream}__whoami", {})
            seen.append(result.model_dump_json())
            assert not result.is_error, (upstream, result)
            assert "authorized" in result.model_dump_json()
        failed = await agent.call_tool("bearer__fail", {})
        seen.append(failed.model_dump_json())
        assert failed.is_error
        for name in ("refused__whoami", "nope"):
            with pytest.raises(MCPError) as unknown:
                await agent.call_tool(name, {})
            seen.append(f"{unknown.value.code} {unknown.value.message} {unknown.value.data}")
        # the OAuth upstream forgets its tokens: the next call is refused once, a new token is fetched
        seen.append((await agent.call_tool("oauth__revoke_tokens", {})).model_dump_json())
        after_revoke = await agent.call_tool("oauth__whoami", {})
        stats = await agent.call_tool("oauth__stats", {})
        seen.extend([after_revoke.model_dump_json(), stats.model_dump_json()])
        assert not after_revoke.is_error
        assert '\\"token_requests\\": 2' in stats.model_dump_json()
        # the stdio upstream dies and is restarted with its environment
        with pytest.raises(MCPError) as crashed:
            await agent.call_tool("local__crash", {})
        seen.append(f"{crashed.value.code} {crashed.value.message} {crashed.value.data}")
        while True:  # its tools go away with it, and come back when it is up again
            await changed.wait()
            changed = anyio.Event()
            if "local__whoami" in {t.name for t in (await agent.list_tools()).tools}:
                break
        again = await agent.call_tool("local__whoami", {})
        seen.append(again.model_dump_json())
        assert not again.is_error


async def modern_agent_journey(running, open_agent, seen: list[str]) -> None:
    """At 2026-07-28 a tools/call to a Streamable HTTP upstream takes the lean path: the credential rides it too."""
    async with open_agent("http-2026", running, "all", KEY) as agent:
        for upstream in ("bearer", "oauth", "query"):
            result = await agent.call_tool(f"{upstream}__whoami", {})
            seen.append(result.model_dump_json())
            assert not result.is_error, (upstream, result)
        seen.append((await agent.call_tool("oauth__revoke_tokens", {})).model_dump_json())
        after_revoke = await agent.call_tool("oauth__whoami", {})
        stats = await agent.call_tool("oauth__stats", {})
        seen.extend([after_revoke.model_dump_json(), stats.model_dump_json()])
    assert not after_revoke.is_error
    assert '\\"token_requests\\": 3, \\"rejected\\": 2' in stats.model_dump_json()


async def admin_journey(running, seen: list[str]) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx2.AsyncClient(base_url=f"{running.url}/admin", headers=headers, timeout=TIMEOUT) as admin:
        listing = await admin.get("/upstreams")
        seen.append(listing.text)
        for upstream in listing.json():
            name = upstream["name"]
            seen.append((await admin.get(f"/upstreams/{name}")).text)
            seen.append((await admin.get(f"/upstreams/{name}/health")).text)
        refused = (await admin.get("/upstreams/refused-oauth/health")).json()
        assert (refused["state"], refused["detail"]) == (
            "down",
            "upstream 'refused-oauth' could not get an access token: the token endpoint answered 401 (invalid_client)",
        )
        shown = (await admin.get("/upstreams/bearer")).json()["config"]
        kept = await admin.put("/upstreams/bearer", json={**shown, "description": "masked write-back"})
        seen.append(kept.text)
        assert kept.status_code == 200, kept.text
        seen.append((await admin.get("/openapi.json")).text)
    async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
        seen.append((await http.get(f"{running.url}/ready")).text)
    await running.hub.upstreams.wait_settled()  # the write restarted the upstream with the kept token
    async with open_client("http-legacy", running, "all", KEY) as agent:
        result = await agent.call_tool("bearer__whoami", {})
    seen.append(result.model_dump_json())
    assert not result.is_error, result


async def database_rows(config: HubConfig) -> list[str]:
    """Every row of every table (catalog, keys, audit, ...), as text, read as the hub's own database."""
    database = open_database(config)
    try:
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            rows: list[str] = []
            for table in tables:
                result = await connection.execute(text(f'SELECT * FROM "{table}"'))  # names from the schema itself
                rows.extend(f"{table}: {tuple(row)}" for row in result.all())
    finally:
        await database.dispose()
    return rows


def journal_files(config: HubConfig) -> list[str]:
    """The text of every file in the audit journal."""
    root = default_journal_dir(config.audit, config.storage.url)
    return [path.read_text(encoding="utf-8", errors="replace") for path in root.rglob("*") if path.is_file()]


def config_file(tmp_path: Path, s: Secrets, bearer_url: str, monkeypatch) -> Path:
    monkeypatch.setenv("VAULT_E2E_BEARER", s.bearer)
    monkeypatch.setenv("VAULT_E2E_CLIENT", s.client)
    path = tmp_path / "hub.yaml"
    path.write_text(
        "upstreams:\n"
        f"  - {{name: bearer, kind: streamable-http, url: {bearer_url!r},"
        " auth: {type: bearer, token: '${env:VAULT_E2E_BEARER}'}}\n"
        f"  - {{name: oauth, kind: sse, url: {bearer_url!r}, auth: {{type: oauth2, token_url: {bearer_url!r},"
        " client_id: hub, client_secret: '${env:VAULT_E2E_CLIENT}'}}\n",
        encoding="utf-8",
    )
    return path


def hub_check(path: Path, seen: list[str], capfd) -> None:
    before = capfd.readouterr()
    seen.extend([before.out, before.err])  # keep what was printed so far in the search
    assert main(["check", "--config", str(path)]) == 0
    printed = capfd.readouterr()
    seen.extend([printed.out, printed.err])
    assert "upstreams:       bearer, oauth" in printed.out


def rendered(record: logging.LogRecord) -> list[str]:
    """A record as `hub serve` writes it (JSON and text), and every attribute it carries."""
    return [JsonFormatter().format(record), TextFormatter().format(record), repr(record.__dict__)]
