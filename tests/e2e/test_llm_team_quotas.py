"""Team quotas, budgets and tokens per minute end to end, through the openai SDK: in one hub, and in two
hubs sharing Redis (and one PostgreSQL) as two replicas would.

The fake provider counts a prompt's words and answers `echo: <text>`: "alpha beta gamma" really uses
3 + 4 = 7 tokens and costs 3 * 0.001 + 4 * 0.002 = 0.011, while the hub estimates the prompt with
the group's tokenizer (chat framing included) before the call, and corrects its counters after it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import openai
import pytest

from hub.governance.vault.cipher import generate_key
from tests.e2e.llm_fixtures import deployment, serve_fakes
from tests.servers.llm.faults import FakeState
from tests.services import MACHINE_REDIS, postgres_database, require_redis

pytestmark = pytest.mark.anyio

ADMIN = "admin-token-llm-team-quotas-00000000"
TEAMS = {"r1": "research", "r2": "research", "d1": "design", "d2": "design", "t1": "platform", "t2": "platform"}
TEAMS["o1"] = "ops"  # every rule covers it too: its own team's counters, apart from the others'
KEYS = {name: f"hub_{name}_llm_team_quota_key_{'0' * 24}" for name in TEAMS}
TEXT = "alpha beta gamma"
MAX_CALLS = 20  # every loop below is bounded in count (and in time)


@dataclass
class Hubs:
    """Where each agent sends its calls: one hub, or (Redis) the two replicas, members of a team split across them."""

    by_agent: dict[str, Any]
    rules: dict[str, str]  # day-tokens, month-cost, tpm: this run's rule names (fresh Redis keys each run)

    @property
    def all(self) -> list[Any]:
        return list({id(h): h for h in self.by_agent.values()}.values())


def hub_sections(base: str, rules: dict[str, str]) -> dict[str, Any]:
    return {
        "server": {"admin_token": ADMIN},
        "teams": [{"name": t} for t in sorted(set(TEAMS.values()))],
        "agents": [{"name": a, "team": t, "keys": [{"key": KEYS[a]}], "models": ["chat"]} for a, t in TEAMS.items()],
        "models": [{"name": "chat", "deployments": [deployment(base, "gpt", input_price=0.001, output_price=0.002)]}],
        "llm": {
            "retries": 0,
            "limits": [{"name": rules["tpm"], "agents": ["t*", "o*"], "per": "team", "tokens_per_minute": 40}],
            "budgets": [
                {"name": rules["day-tokens"], "agents": ["r*", "o*"], "per": "team", "max_tokens": 40, "period": "day"},
                {"name": rules["month-cost"], "agents": ["d*", "o*"], "per": "team", "max_cost": 0.05},  # a month
            ],
        },
    }


@pytest.fixture(scope="module", params=["in-process", "redis"])
async def hubs(request: pytest.FixtureRequest, run_hub: Any, make_hub_config: Any) -> AsyncIterator[Hubs]:
    run = uuid.uuid4().hex[:8]
    rules = {kind: f"{kind}-{run}" for kind in ("day-tokens", "month-cost", "tpm")}
    async with AsyncExitStack() as stack:
        base = await stack.enter_async_context(serve_fakes(FakeState()))
        if request.param == "in-process":
            one = await stack.enter_async_context(run_hub(make_hub_config(**hub_sections(base, rules))))
            yield Hubs(dict.fromkeys(TEAMS, one), rules)
            return
        await require_redis()
        database = await stack.enter_async_context(postgres_database("hub_llm_quota"))
        shared = {"storage": {"url": database, "redis_url": MACHINE_REDIS}, "vault": {"key": generate_key()}}
        a = await stack.enter_async_context(run_hub(make_hub_config(**shared, **hub_sections(base, rules))))
        b = await stack.enter_async_context(run_hub(make_hub_config(**shared, **hub_sections(base, rules))))
        yield Hubs({"r1": a, "d1": a, "t1": a, "r2": b, "d2": b, "t2": b, "o1": b}, rules)


async def chat(hubs: Hubs, agent: str, text: str = TEXT) -> str:
    url = f"{hubs.by_agent[agent].url}/v1"
    async with openai.AsyncOpenAI(base_url=url, api_key=KEYS[agent], max_retries=0, timeout=30) as client:
        reply = await client.chat.completions.create(model="chat", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content or ""


async def until_refused(hubs: Hubs, agents: tuple[str, str]) -> tuple[int, openai.RateLimitError]:
    """The team's members take turns until the hub refuses one; how many calls were answered, and the refusal."""
    for answered in range(MAX_CALLS):
        try:
            await chat(hubs, agents[answered % 2])
        except openai.RateLimitError as exc:
            return answered, exc
    raise AssertionError(f"{MAX_CALLS} calls and no refusal")


async def team_usage(hubs: Hubs, team: str) -> dict[str, Any]:
    """The team's requests, tokens and cost from /admin/llm/usage, once every hub wrote its rows."""
    for running in hubs.all:
        await running.hub.llm.usage.flushed()
    admin = {"authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=f"{hubs.all[0].url}/admin", headers=admin) as client:
        report = await client.get("/llm/usage", params={"group_by": "team,status"})
    rows = [r for r in report.json()["rows"] if r["team"] == team and r["status"] == "ok"]
    assert len(rows) == 1
    return rows[0]


async def test_a_team_day_token_quota_is_shared_by_its_agents_and_not_by_another_team(hubs: Hubs) -> None:
    rule = hubs.rules["day-tokens"]
    with anyio.fail_after(120):
        answered, refused = await until_refused(hubs, ("r1", "r2"))
        with pytest.raises(openai.RateLimitError):
            await chat(hubs, "r1" if answered % 2 else "r2")  # the other member is refused too
        other_team = await chat(hubs, "o1")
        usage = await team_usage(hubs, "research")
    message = str(refused)
    assert f"budget '{rule}' (team research)" in message
    assert "this day" in message
    assert 4 <= answered <= 5  # 7 real tokens a call against 40, each admitted on a larger estimate
    # The counter holds the real usage, not the estimates it took before each call.
    counted = re.search(r"\((\d+) of 40 tokens", message)
    assert counted is not None
    assert int(counted.group(1)) == usage["total_tokens"] == 7 * answered
    assert usage["requests"] == answered
    assert refused.response.status_code == 429
    assert 1 <= int(refused.response.headers["retry-after"]) <= 24 * 3600
    assert other_team == f"echo: {TEXT}"


async def test_a_team_month_money_budget_refuses_the_call_that_would_pass_it(hubs: Hubs) -> None:
    rule = hubs.rules["month-cost"]
    with anyio.fail_after(120):
        answered, refused = await until_refused(hubs, ("d1", "d2"))
        other_team = await chat(hubs, "o1")
        usage = await team_usage(hubs, "design")
    message = str(refused)
    assert f"budget '{rule}' (team design) would be passed by this request's prompt" in message
    spent = re.search(r"\((\d+\.\d+) of 0.05 spent this month\)", message)
    assert spent is not None
    assert answered == usage["requests"] == 4  # 4 * 0.011 = 0.044; a fifth prompt alone costs more than 0.006
    assert float(spent.group(1)) == pytest.approx(usage["cost"]) == pytest.approx(0.044)
    assert int(refused.response.headers["retry-after"]) >= 1
    assert other_team == f"echo: {TEXT}"


async def test_tokens_per_minute_per_team_hold_across_its_agents(hubs: Hubs) -> None:
    rule = hubs.rules["tpm"]
    long_prompt = " ".join(["word"] * 15)  # ~20 tokens estimated, 15 + 16 = 31 really used
    with anyio.fail_after(120):
        first = await chat(hubs, "t1", long_prompt)
        with pytest.raises(openai.RateLimitError) as limited:
            await chat(hubs, "t2", long_prompt)  # 40 a minute, 31 used by t1: ~20 s before ~20 more fit
        other_team = await chat(hubs, "o1")  # ops' own bucket under the same rule
    assert first == f"echo: {long_prompt}"
    assert other_team == f"echo: {TEXT}"
    assert f"rate limit '{rule}' reached (40 tokens per minute)" in str(limited.value)
    assert int(limited.value.response.headers["retry-after"]) >= 1
