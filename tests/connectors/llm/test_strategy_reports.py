"""connectors/llm/strategy_reports.py against a real litellm Router: what the strategy then picks.

The deployments point at a closed loopback port; nothing is called, the Router only picks.
"""

from __future__ import annotations

import pytest
from litellm import exceptions as litellm_errors
from litellm.router import Router

from connectors.llm.deployments import router_settings
from connectors.llm.strategy_reports import StrategyReports
from hub.config.llm import LlmConfig, ModelGroupConfig
from hub.core.llm import Usage

pytestmark = pytest.mark.anyio


def router(strategy: str) -> Router:
    unreachable = "http://127.0.0.1:9/v1"
    group = ModelGroupConfig.model_validate(
        {
            "name": "pair",
            "deployments": [
                {"name": "one", "provider": "openai", "model": "m1", "base_url": unreachable},
                {"name": "two", "provider": "openai", "model": "m2", "base_url": unreachable},
            ],
        }
    )
    return Router(**router_settings((group,), LlmConfig.model_validate({"strategy": strategy})))


async def picks(r: Router, count: int = 6) -> set[str]:
    return {str((await r.select("pair", {}))["model_info"]["id"]) for _ in range(count)}  # type: ignore[index]  # a deployment dict


async def test_least_busy_sees_a_call_in_flight_until_it_ends() -> None:
    r = router("least-busy")
    reports = StrategyReports(r)
    idle = await picks(r)
    assert len(idle) == 1  # nothing in flight: always the same (first) deployment
    busy = idle.pop()
    report = reports.started("pair", busy, stream=False)
    assert report is not None
    assert busy not in await picks(r)
    report.succeeded(Usage(1, 1))
    report.succeeded(Usage(1, 1))  # a call ends once: the second end counts nothing
    assert await picks(r) == {busy}


@pytest.mark.parametrize("ending", ["ended_early", "failed"])
async def test_least_busy_forgets_a_call_cut_short(ending: str) -> None:
    r = router("least-busy")
    reports = StrategyReports(r)
    busy = (await picks(r, 1)).pop()
    report = reports.started("pair", busy, stream=True)
    assert report is not None
    if ending == "failed":
        await report.failed(litellm_errors.InternalServerError("status 500", llm_provider="openai", model="openai/m1"))
    else:
        report.ended_early()
    assert await picks(r) == {busy}


async def test_lowest_latency_prefers_the_deployment_that_answered_faster() -> None:
    r = router("lowest-latency")
    reports = StrategyReports(r)
    for deployment, tokens in (("pair/one", 1000), ("pair/two", 1)):  # same wall time, per token 1000x apart
        report = reports.started("pair", deployment, stream=False)
        assert report is not None
        report.succeeded(Usage(5, tokens))
    assert await picks(r) == {"pair/one"}


async def test_a_timeout_is_lowest_latencys_penalty() -> None:
    r = router("lowest-latency")
    reports = StrategyReports(r)
    for deployment in ("pair/one", "pair/two"):
        report = reports.started("pair", deployment, stream=False)
        assert report is not None
        if deployment == "pair/one":
            await report.failed(litellm_errors.Timeout("timed out", model="openai/m1", llm_provider="openai"))
        else:
            report.succeeded(Usage(5, 5))
    assert await picks(r) == {"pair/two"}


def test_the_weighted_strategy_needs_no_reports() -> None:
    assert StrategyReports(router("weighted")).started("pair", "pair/one", stream=False) is None
