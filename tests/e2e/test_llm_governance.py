"""LLM limits, budgets, usage and metrics end to end: token buckets, request limits per team, money
budgets, the chargeback report (JSON and CSV) and the Prometheus metrics, through the openai SDK."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import openai
import pytest

from tests.e2e.llm_fixtures import deployment, serve_fakes
from tests.servers.llm.faults import FakeState

pytestmark = pytest.mark.anyio

ADMIN = "admin-token-llm-governance-0000000000"
KEYS = {name: f"hub_{name}_llm_gov_key_{'0' * (30 - len(name))}" for name in ("tok", "r1", "r2", "spender", "plain")}
TEAMS = {"tok": None, "r1": "research", "r2": "research", "spender": None, "plain": None}


@pytest.fixture(scope="module")
async def gov_hub(run_hub, make_hub_config) -> AsyncIterator[Any]:
    state = FakeState()
    async with serve_fakes(state) as base:
        config = make_hub_config(
            server={"admin_token": ADMIN},
            teams=[{"name": "research"}],
            agents=[{"name": n, "team": TEAMS[n], "keys": [{"key": k}], "models": ["chat"]} for n, k in KEYS.items()],
            models=[
                {"name": "chat", "deployments": [deployment(base, "gpt", input_price=0.001, output_price=0.002)]},
            ],
            llm={
                "limits": [
                    {"name": "tok-tpm", "agents": ["tok"], "tokens_per_minute": 60},
                    {"name": "research-rpm", "agents": ["r*"], "per": "team", "requests_per_minute": 3},
                ],
                "budgets": [{"name": "spender-daily", "agents": ["spender"], "period": "day", "max_cost": 0.02}],
            },
        )
        async with run_hub(config) as running:
            yield running


async def chat(running: Any, agent: str, text: str = "hello there", **extra: Any) -> Any:
    async with openai.AsyncOpenAI(base_url=f"{running.url}/v1", api_key=KEYS[agent], max_retries=0) as client:
        return await client.chat.completions.create(model="chat", messages=[{"role": "user", "content": text}], **extra)


async def test_tokens_per_minute_are_enforced_with_retry_after(gov_hub: Any) -> None:
    answered = 0
    with anyio.fail_after(60):
        while answered < 30:  # 60 tokens a minute cannot pay for 30 prompts
            try:
                await chat(gov_hub, "tok", "count these words please")
            except openai.RateLimitError as exc:
                limited = exc
                break
            answered += 1
    assert 1 <= answered < 30
    assert "rate limit 'tok-tpm' reached (60 tokens per minute)" in str(limited)
    assert int(limited.response.headers["retry-after"]) >= 1
    other = await chat(gov_hub, "plain")  # other agents are not limited by tok's rule
    assert other.choices[0].message.content == "echo: hello there"


async def test_a_prompt_larger_than_the_token_limit_is_refused_outright(gov_hub: Any) -> None:
    with anyio.fail_after(30), pytest.raises(openai.RateLimitError) as refused:
        await chat(gov_hub, "tok", "word " * 200)
    assert "exceed 60 tokens per minute; shorten the prompt" in str(refused.value)


async def test_request_limits_are_shared_by_a_team(gov_hub: Any) -> None:
    with anyio.fail_after(30):
        await chat(gov_hub, "r1")
        await chat(gov_hub, "r2")
        await chat(gov_hub, "r1")
        with pytest.raises(openai.RateLimitError) as limited:
            await chat(gov_hub, "r2")
    assert "rate limit 'research-rpm' reached (3 requests per minute)" in str(limited.value)


async def test_a_money_budget_stops_spending_for_the_period(gov_hub: Any) -> None:
    calls = 0
    with anyio.fail_after(60):
        while calls < 20:  # each call costs 2 * 0.001 + 3 * 0.002 = 0.008
            try:
                await chat(gov_hub, "spender")
            except openai.RateLimitError as exc:
                over = exc
                break
            calls += 1
    # Each call really costs 2 * 0.001 + 3 * 0.002 = 0.008; its prompt is estimated (tokenizer, chat
    # framing included) at more than 4 tokens, 0.004. After two calls 0.016 is spent: the third's prompt
    # alone would pass 0.02, so it is refused before it is sent.
    assert calls == 2
    assert "budget 'spender-daily' (spender) would be passed by this request's prompt" in str(over)
    assert "(0.0160 of 0.02 spent this day)" in str(over)
    assert int(over.response.headers["retry-after"]) >= 1


async def test_usage_report_sums_tokens_and_cost_per_agent_as_json_and_csv(gov_hub: Any) -> None:
    with anyio.fail_after(30):
        for _ in range(2):
            await chat(gov_hub, "plain", "four words right here")
        await gov_hub.hub.llm.usage.flushed()
        admin = {"authorization": f"Bearer {ADMIN}"}
        async with httpx.AsyncClient(base_url=f"{gov_hub.url}/admin", headers=admin) as a:
            report = await a.get("/llm/usage", params={"group_by": "agent,model,day"})
            as_csv = await a.get("/llm/usage", params={"group_by": "agent", "format": "csv"})
            bad = await a.get("/llm/usage", params={"group_by": "planet"})
            anonymous = await a.get("/llm/usage", headers={"authorization": ""})
    assert report.status_code == 200
    plain = [r for r in report.json()["rows"] if r["agent"] == "plain"]
    assert len(plain) == 1
    row = plain[0]
    assert row["model"] == "chat"
    assert row["requests"] >= 3  # two here, one in the tokens test
    assert row["prompt_tokens"] >= 2 * 4
    assert row["cost"] == pytest.approx(row["prompt_tokens"] * 0.001 + row["completion_tokens"] * 0.002)
    parsed = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert list(parsed[0]) == ["agent", "requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost"]
    assert {r["agent"] for r in parsed} >= {"plain", "spender", "tok"}
    assert bad.status_code == 422
    assert "group_by" in bad.json()["error"]["message"]
    assert anonymous.status_code == 401


async def test_metrics_expose_tokens_latency_ttft_and_cost_per_agent(gov_hub: Any) -> None:
    with anyio.fail_after(30):
        async with openai.AsyncOpenAI(base_url=f"{gov_hub.url}/v1", api_key=KEYS["plain"], max_retries=0) as client:
            stream = await client.chat.completions.create(
                model="chat", messages=[{"role": "user", "content": "stream me"}], stream=True
            )
            chunks = [c async for c in stream]
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"{gov_hub.url}/metrics")).text
    assert 'hub_llm_tokens_total{agent="plain",kind="prompt",model="chat"}' in text
    assert 'hub_llm_cost_total{agent="plain",model="chat"}' in text
    assert 'hub_llm_requests_total{agent="tok",arm="",model="chat",status="ok"}' in text
    ttft = [line for line in text.splitlines() if line.startswith("hub_llm_time_to_first_token_seconds_count{")]
    assert len(chunks) >= 3
    assert ttft
    assert float(ttft[0].split()[-1]) >= 1
    assert "hub_llm_request_duration_seconds_bucket" in text


async def test_every_llm_call_leaves_an_audit_record_refused_ones_too(gov_hub: Any) -> None:
    with anyio.fail_after(30):
        await chat(gov_hub, "plain", "audit me")
        with pytest.raises(openai.NotFoundError):
            async with openai.AsyncOpenAI(base_url=f"{gov_hub.url}/v1", api_key=KEYS["plain"], max_retries=0) as c:
                await c.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
        await gov_hub.hub.audit.flushed()
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {ADMIN}"}) as admin:
            page = (await admin.get(f"{gov_hub.url}/admin/audit", params={"agent": "plain", "limit": 100})).json()
    llm = [r for r in page["records"] if r["kind"] == "llm"]
    ok = [r for r in llm if r["outcome"] == "ok" and r["request"]["messages"][0]["content"] == "audit me"]
    assert len(ok) == 1
    assert ok[0]["method"] == "chat/completions"
    assert ok[0]["target"] == "chat"
    assert ok[0]["upstream"] == "chat/gpt"
    assert ok[0]["response"]["choices"][0]["message"]["content"] == "echo: audit me"
    refused = [r for r in llm if r["target"] == "nope"]
    assert len(refused) == 1
    assert refused[0]["outcome"] == "error"
    assert "not served by this hub" in refused[0]["error"]
