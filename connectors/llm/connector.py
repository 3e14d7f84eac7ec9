"""The model backend on litellm: its Router picks a deployment, retries, falls back and cools deployments down.

litellm is an optional extra (hub[llm]); this package is the only place that imports it. Its model
price map is read from the copy inside the package, never fetched: nothing here reaches the network
except the configured deployments.
"""

from __future__ import annotations

import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm's import reads it

import logging  # litellm must see the variable above at import
from collections.abc import Mapping
from typing import Any

import litellm
from litellm import exceptions as litellm_errors
from litellm.llms.anthropic.messages.adapters.transformation import AnthropicAdapter
from litellm.router import Router

from connectors.llm.deployments import Deployment, deployments_by_id, router_settings
from connectors.llm.direct import OPENAI_WIRE, DirectClient, DirectStream, provider_model, renaming
from connectors.llm.errors import provider_failures
from connectors.llm.strategy_reports import CallReport, StrategyReports
from connectors.llm.streams import AnthropicSseStream, OpenAiSseStream
from hub.config.llm import LlmConfig, ModelGroupConfig
from hub.core.llm import Api, LlmCall, LlmResult, LlmStream, Usage

log = logging.getLogger(__name__)

litellm.telemetry = False
litellm.drop_params = True  # a parameter one provider lacks is dropped for it, not an error
litellm.suppress_debug_info = True

_HUB_ONLY_KEYS = ("model", "stream", "metadata", "stream_options")
_ADAPTER = AnthropicAdapter()


class LiteLlmBackend:
    def __init__(self, groups: tuple[ModelGroupConfig, ...], llm: LlmConfig) -> None:
        self._llm = llm
        self._deployments = deployments_by_id(groups)
        self._first_model = {g.name: f"{g.deployments[0].provider}/{g.deployments[0].model}" for g in groups}
        self._router = Router(**router_settings(groups, llm))
        self._direct = DirectClient()
        self._reports = StrategyReports(self._router)
        self._same_wire = {g.name for g in groups if all(d.provider in OPENAI_WIRE for d in g.deployments)}

    async def aclose(self) -> None:
        await self._direct.aclose()  # litellm's own cached HTTP clients close with the process

    async def complete(self, call: LlmCall) -> LlmResult:
        if call.api == "chat" and call.group in self._same_wire:
            direct = await self._complete_direct(call)
            if direct is not None:
                return direct
        with provider_failures(call.group, self._llm.cooldown_s):
            if call.api == "embeddings":
                response: Any = await self._router.aembedding(**self._kwargs(call, call.body))
            else:
                response = await self._router.acompletion(**self._chat_kwargs(call))
        deployment = _model_id(response, call.group)
        body: dict[str, Any] = response.model_dump(exclude_none=True)
        usage = _usage(body)
        if call.api == "messages":
            body = dict(_ADAPTER.translate_completion_output_params(response) or {})
        body["model"] = call.body.get("model", call.group)  # the name the agent asked for
        return LlmResult(body=body, usage=usage, deployment=deployment, cost=self.cost(deployment, usage))

    async def stream(self, call: LlmCall) -> LlmStream:
        if call.api == "chat" and call.group in self._same_wire:
            direct = await self._stream_direct(call)
            if direct is not None:
                return direct
        kwargs = self._chat_kwargs(call)
        kwargs["stream"] = True
        kwargs["stream_options"] = {"include_usage": True}
        with provider_failures(call.group, self._llm.cooldown_s):
            wrapper: Any = await self._router.acompletion(**kwargs)
        requested = str(call.body.get("model", call.group))
        if call.api == "chat":
            include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
            return OpenAiSseStream(wrapper, requested, include_usage, self.cost)
        events = _ADAPTER.translate_completion_output_params_streaming(wrapper, model=requested)
        return AnthropicSseStream(events, wrapper, self.cost)

    async def _complete_direct(self, call: LlmCall) -> LlmResult | None:
        """The call on the direct path (connectors/llm/direct.py), or None to make it through litellm."""
        deployment = await self._pick(call)
        if deployment is None:
            return None
        deployment_id = str(deployment["model_info"]["id"])
        report = self._reports.started(call.group, deployment_id, stream=False)
        try:
            body = await self._post_direct(call, deployment, report)
        except BaseException:
            if report is not None:
                report.ended_early()
            raise
        if body is None:
            return None
        body["model"] = call.body.get("model", call.group)
        usage = _usage(body)
        if report is not None:
            report.succeeded(usage)
        return LlmResult(body=body, usage=usage, deployment=deployment_id, cost=self.cost(deployment_id, usage))

    async def _post_direct(
        self, call: LlmCall, deployment: Mapping[str, Any], report: CallReport | None
    ) -> dict[str, Any] | None:
        """The deployment's JSON answer, or None when it failed (counted against it and reported)."""
        response = await self._direct.post(deployment, self._direct_body(call, deployment), self._timeout(deployment))
        if isinstance(response, int):
            error = self._failed(deployment, response)
            if report is not None:
                await report.failed(error)
            return None
        async with response:
            body: dict[str, Any] = await response.json()
        return body

    async def _stream_direct(self, call: LlmCall) -> DirectStream | None:
        deployment = await self._pick(call)
        if deployment is None:
            return None
        body = self._direct_body(call, deployment)
        body["stream_options"] = {"include_usage": True}
        deployment_id = str(deployment["model_info"]["id"])
        report = self._reports.started(call.group, deployment_id, stream=True)
        try:
            response = await self._direct.post(deployment, body, self._timeout(deployment))
        except BaseException:
            if report is not None:
                report.ended_early()
            raise
        if isinstance(response, int):
            error = self._failed(deployment, response)
            if report is not None:
                await report.failed(error)
            return None
        include_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
        rename = renaming(provider_model(deployment), str(call.body.get("model", call.group)))
        stream = DirectStream(response, deployment_id, rename, include_usage)
        stream.pricer = self.cost
        stream.report = report
        return stream

    async def _pick(self, call: LlmCall) -> dict[str, Any] | None:
        """litellm's choice of deployment (weights, tags, windows, cooldowns), without calling it."""
        tags = {"litellm_metadata": {"tags": [f"&{t}" for t in call.require_tags]}} if call.require_tags else {}
        try:
            picked: Any = await self._router.select(call.group, tags, messages=call.body.get("messages"))
        except Exception:  # none available now: the litellm path tries, falls back and says why
            return None
        return dict(picked) if isinstance(picked, Mapping) and picked.get("model_info") else None

    def _direct_body(self, call: LlmCall, deployment: Mapping[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in call.body.items() if k != "metadata"}
        body["model"] = provider_model(deployment)
        return body

    def _timeout(self, deployment: Mapping[str, Any]) -> float:
        return float(deployment["litellm_params"].get("timeout") or 60.0)

    def _failed(self, deployment: Mapping[str, Any], status: int) -> Exception:
        """Count the failure against the deployment, so litellm cools it down as if it had made the call;
        returns the error litellm would have seen."""
        model = str(deployment["litellm_params"]["model"])
        error: Exception
        if status == 429:
            error = litellm_errors.RateLimitError("rate limited", llm_provider="openai", model=model)
        elif status == 408:
            error = litellm_errors.Timeout("timed out", model=model, llm_provider="openai")
        elif status == 0:
            error = litellm_errors.APIConnectionError("unreachable", llm_provider="openai", model=model)
        else:
            error = litellm_errors.InternalServerError(f"status {status}", llm_provider="openai", model=model)
        try:
            self._router.health().record_failure(str(deployment["model_info"]["id"]), error, status or 500)
        except Exception:  # bookkeeping only: the litellm path still handles the call
            log.debug("llm.direct_failure_unrecorded", exc_info=True)
        return error

    def count_tokens(self, group: str, call_body: Mapping[str, Any], api: Api) -> int:
        model = self._first_model.get(group, "gpt-4o")
        try:
            if api == "embeddings":
                value = call_body.get("input", "")
                texts = value if isinstance(value, list) else [value]
                return sum(litellm.token_counter(model=model, text=str(t)) for t in texts)
            messages = list(call_body.get("messages") or [])
            if api == "messages" and isinstance(call_body.get("system"), str):
                messages = [{"role": "system", "content": call_body["system"]}, *messages]
            return int(litellm.token_counter(model=model, messages=messages))
        except Exception:  # an estimate only: a shape the tokenizer does not know counts by characters
            return len(str(call_body.get("messages") or call_body.get("input") or "")) // 4

    def cost(self, deployment: str, usage: Usage) -> float:
        found = self._deployments.get(deployment)
        if found is None:
            return 0.0
        return _priced(found, usage)

    def _chat_kwargs(self, call: LlmCall) -> dict[str, Any]:
        """OpenAI chat parameters; an Anthropic messages request is translated by litellm's adapter."""
        if call.api != "messages":
            return self._kwargs(call, call.body)
        body = {k: v for k, v in call.body.items() if k not in ("stream", "metadata")}
        translated = _ADAPTER.translate_completion_input_params(body)
        return self._kwargs(call, dict(translated or {}))

    def _kwargs(self, call: LlmCall, body: Mapping[str, Any]) -> dict[str, Any]:
        kwargs = {k: v for k, v in body.items() if k not in _HUB_ONLY_KEYS}
        kwargs["model"] = call.group
        kwargs["litellm_metadata"] = {"tags": [f"&{t}" for t in call.require_tags]} if call.require_tags else {}
        if call.fallbacks is not None:  # only the fallbacks this caller was granted (litellm reads them per call)
            kwargs["fallbacks"] = [{group: list(to)} for group, to in call.fallbacks.items() if to]
        return kwargs


def _priced(deployment: Deployment, usage: Usage) -> float:
    config = deployment.config
    if config.input_price is not None or config.output_price is not None:
        return usage.prompt_tokens * (config.input_price or 0.0) + usage.completion_tokens * (
            config.output_price or 0.0
        )
    try:
        prompt, completion = litellm.cost_per_token(
            model=deployment.litellm_model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )
    except Exception:  # a model missing from litellm's price map costs nothing we can know
        return 0.0
    return float(prompt) + float(completion)


def _model_id(response: Any, group: str) -> str:
    hidden = getattr(response, "_hidden_params", None)
    model_id = hidden.get("model_id") if isinstance(hidden, dict) else None
    return str(model_id) if model_id else f"{group}/?"


def _usage(body: Mapping[str, Any]) -> Usage:
    usage = body.get("usage") or {}
    return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
