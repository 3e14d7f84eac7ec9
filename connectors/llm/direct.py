"""The direct path: an OpenAI-format chat request to an OpenAI-compatible deployment, sent as it came.

When agent and deployment speak the same wire format there is nothing to translate, and litellm's
per-call machinery (request transformation, logging, cost hooks) is most of the hub's overhead. So
litellm's Router still picks the deployment (weights, tags, context windows, cooldowns), and this
module sends the body to it with one aiohttp request and passes the answer (or the SSE events) on,
renaming the provider's model to the agent's and reading the usage. Anything but a 2xx answer
before the first byte returns None: the caller then makes the call through litellm, which retries,
falls back and reports errors as usual; the failure is reported to the Router so the deployment
cools down. Under the least-busy and lowest-latency strategies each call is also reported to the
strategy, as litellm's own call would be (strategy_reports.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp

from connectors.llm.strategy_reports import CallReport
from hub.core.llm import Usage

Pricer = Callable[[str, Usage], float]
OPENAI_WIRE = ("openai",)  # providers whose chat API is the agent's, byte for byte


class DirectStream:
    """SSE events of an OpenAI-compatible deployment, passed on as they arrive."""

    def __init__(
        self, response: aiohttp.ClientResponse, deployment: str, rename: tuple[bytes, bytes], include_usage: bool
    ) -> None:
        self._response = response
        self._rename = rename
        self._include_usage = include_usage
        self.deployment = deployment
        self.usage = Usage()
        self.cost = 0.0
        self.completion_chunks = 0
        self.pricer: Pricer | None = None
        self.report: CallReport | None = None  # told of the first event and of the end (strategy_reports.py)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for line in self._response.content:
            if not line.startswith(b"data:"):
                continue
            if self.report is not None:
                self.report.first_byte()
            if b'"usage":' in line and b'"usage":null' not in line.replace(b" ", b""):
                if not self._read_usage(line) and not self._include_usage:
                    continue
            else:
                self.completion_chunks += 1
            yield _renamed(line.rstrip(b"\r\n"), self._rename) + b"\n\n"
        if self.report is not None:
            self.report.succeeded(self.usage)

    def _read_usage(self, line: bytes) -> bool:
        """Keep the usage; True when the event also carries choices (and so must be passed on)."""
        try:
            event = json.loads(line[5:])
        except ValueError:
            return True
        usage = event.get("usage") or {}
        self.usage = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
        if self.pricer is not None:
            self.cost = self.pricer(self.deployment, self.usage)
        return bool(event.get("choices"))

    async def aclose(self) -> None:
        if self.report is not None:
            self.report.ended_early()  # nothing when it ended in full
        self._response.close()


class DirectClient:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self, deployment: Mapping[str, Any], body: Mapping[str, Any], timeout_s: float
    ) -> aiohttp.ClientResponse | int:
        """POST `body` to the deployment's /chat/completions: the 2xx response, else the failure's
        status (0 when it could not connect, 408 when it timed out)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None), trust_env=False
            )
        params = deployment["litellm_params"]
        url = str(params.get("api_base") or "https://api.openai.com/v1").rstrip("/") + "/chat/completions"
        headers = {"authorization": f"Bearer {params.get('api_key') or ''}"}
        timeout = aiohttp.ClientTimeout(sock_connect=timeout_s, sock_read=timeout_s)
        try:
            response = await self._session.post(url, json=body, headers=headers, timeout=timeout)
        except TimeoutError:
            return 408
        except aiohttp.ClientError:
            return 0
        if response.status >= 300:
            response.release()
            return response.status
        return response


def provider_model(deployment: Mapping[str, Any]) -> str:
    return str(deployment["litellm_params"]["model"]).split("/", 1)[1]


def renaming(provider: str, requested: str) -> tuple[bytes, bytes]:
    return json.dumps(provider).encode(), json.dumps(requested).encode()


def _renamed(line: bytes, rename: tuple[bytes, bytes]) -> bytes:
    old, new = rename
    return line.replace(b'"model":' + old, b'"model":' + new, 1).replace(b'"model": ' + old, b'"model": ' + new, 1)
