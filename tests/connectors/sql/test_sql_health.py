"""A database that is down, comes back, or has every pooled connection busy."""

from __future__ import annotations

import socket
from typing import Any

import anyio
import pytest

pytestmark = pytest.mark.anyio

PASSWORD = "hunter2-not-a-real-password"


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def text_of(result: dict[str, Any]) -> str:
    [block] = result["content"]
    return str(block["text"])


@pytest.mark.parametrize("family", ["postgresql", "mysql"])
async def test_a_down_database_is_a_tool_error_and_down_in_health_without_its_password(harness, family) -> None:
    url = f"{family}://admin:{PASSWORD}@127.0.0.1:{_unused_port()}/crm"
    config = harness.config(url, generic_tools=["query"], connect_timeout_s=2)
    async with harness.running(config) as db:
        health = db.health
        assert db.catalog is not None
        listed = [t["name"] for t in db.catalog.tools]
        result = await harness.call(db, "query", {"sql": "SELECT 1"})
    assert health.state == "down"
    assert "unreachable" in health.detail
    assert listed == ["query"]  # still listed: a call says what is wrong
    assert result["isError"] is True
    assert text_of(result).startswith("database 'db' is unreachable: ")
    for shown in (text_of(result), health.detail):
        assert PASSWORD not in shown
        assert url not in shown


async def test_a_wrong_password_is_reported_without_the_password(harness, tmp_path) -> None:
    async with harness.database("mysql", tmp_path) as url:
        wrong = url.replace("root@", f"nobody_{PASSWORD[:6]}:{PASSWORD}@")
        async with harness.running(harness.config(wrong, generic_tools=["query"])) as db:
            result = await harness.call(db, "query", {"sql": "SELECT 1"})
            detail = db.health.detail
    assert result["isError"] is True
    assert "Access denied" in text_of(result)
    assert PASSWORD not in text_of(result)
    assert PASSWORD not in detail


async def test_health_follows_the_database_down_and_up_again(harness, tmp_path) -> None:
    """A SQLite file in a folder that does not exist yet cannot be opened; once the folder exists, it can."""
    folder = tmp_path / "later"
    config = harness.config(f"sqlite:///{folder / 'app.db'}", generic_tools=["query"], health_interval_s=60)
    async with harness.running(config) as db:
        states: list[str] = []
        changed = anyio.Event()

        def on_change(name: str) -> None:
            states.append(db.health.state)
            changed.set()

        db.subscribe_changes(on_change)
        assert db.health.state == "down"
        down = await harness.call(db, "query", {"sql": "SELECT 1 AS one"})
        folder.mkdir()
        with anyio.fail_after(30):  # retries while down: 0.5 s, doubling
            await changed.wait()
        up = await harness.call(db, "query", {"sql": "SELECT 1 AS one"})
    assert down["isError"] is True
    assert "unable to open database file" in text_of(down)
    assert states[0] == "ready"
    assert up["structuredContent"]["rows"] == [[1]]


SLEEPING = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()"


async def test_a_call_that_finds_every_pooled_connection_busy_says_so(harness, tmp_path) -> None:
    """pool_size 1, no overflow: while one call holds the connection, the next waits pool_timeout_s, then fails."""
    slow = {"name": "slow", "sql": "SELECT pg_sleep(20) AS slept"}
    results: list[dict[str, Any]] = []

    async def call_slow(db: Any) -> None:
        results.append(await harness.call(db, "slow", {}))

    async with harness.database("postgresql", tmp_path) as url:
        config = harness.config(
            url,
            tools=[slow],
            generic_tools=["query"],
            pool_size=1,
            max_overflow=0,
            pool_timeout_s=0.5,
            statement_timeout_s=3,
        )
        async with harness.running(config) as db:
            async with anyio.create_task_group() as tg:
                tg.start_soon(call_slow, db)
                with anyio.fail_after(30):  # until the database shows the call sleeping on the pool's one connection
                    while not await harness.scalar(url, SLEEPING):  # noqa: ASYNC110  # the state is in another process
                        await anyio.sleep(0.05)
                busy = await harness.call(db, "query", {"sql": "SELECT 1"})
            after = await harness.call(db, "query", {"sql": "SELECT 1 AS one"})
    assert busy["isError"] is True
    assert "busy" in text_of(busy)
    assert "statement timeout" in text_of(results[0])  # the slow call ended on its own time limit
    assert after["structuredContent"]["rows"] == [[1]]
