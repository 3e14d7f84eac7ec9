"""What an upstream sends back while agents' calls are in flight: log messages and requests for input.

The hub shares one upstream session among all agents, and the SDK does not say which in-flight call
an upstream's log message or server-to-client request (elicitation, sampling, roots) belongs to.
With exactly one agent call in flight it can only be that call's, so it is relayed to that agent;
otherwise a log message stays in the hub's log and a request is refused with a clear error. Nothing
is ever sent to an agent that may not have caused it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import mcp_types as types
from mcp.client.session import ClientRequestContext
from pydantic import BaseModel

from hub.core.connector import CallContext
from hub.errors import HubError, UpstreamRejectedError

log = logging.getLogger(__name__)

_RESULTS: dict[str, type[BaseModel]] = {
    "elicitation/create": types.ElicitResult,
    "sampling/createMessage": types.CreateMessageResult,
    "roots/list": types.ListRootsResult,
}


class InFlightCalls:
    """The agent calls in flight on one upstream, and the SDK client callbacks that reach them."""

    def __init__(self, upstream: str) -> None:
        self._upstream = upstream
        self._calls: dict[int, CallContext] = {}
        self._next = 0

    @contextmanager
    def track(self, ctx: CallContext) -> Iterator[None]:
        call_id = self._next
        self._next += 1
        self._calls[call_id] = ctx
        try:
            yield
        finally:
            del self._calls[call_id]

    def _sole_call(self) -> CallContext | None:
        return next(iter(self._calls.values())) if len(self._calls) == 1 else None

    async def on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        ctx = self._sole_call()
        if ctx is not None and ctx.peer is not None:
            await ctx.peer.log(params.model_dump(by_alias=True, mode="json", exclude_none=True))
        else:
            log.debug(
                "upstream.log",
                extra={"upstream": self._upstream, "level": params.level, "data": str(params.data)[:2000]},
            )

    async def on_elicit(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> Any:
        return await self._relay("elicitation/create", params)

    async def on_sample(self, context: ClientRequestContext, params: types.CreateMessageRequestParams) -> Any:
        ctx = self._sole_call()
        if ctx is None or ctx.sampler is None:
            return await self._relay("sampling/createMessage", params)
        try:  # the virtual server answers sampling through the hub's LLM layer, as the calling agent
            result = await ctx.sampler(params.model_dump(by_alias=True, mode="json", exclude_none=True))
        except HubError as exc:
            return types.ErrorData(code=exc.rpc_code, message=f"sampling/createMessage failed: {exc.message}")
        return types.CreateMessageResult.model_validate(result)

    async def on_roots(self, context: ClientRequestContext) -> Any:
        return await self._relay("roots/list", None)

    async def _relay(self, method: str, params: BaseModel | None) -> Any:
        ctx = self._sole_call()
        if ctx is None or ctx.peer is None or not ctx.peer.can_request:
            return types.ErrorData(
                code=types.INVALID_REQUEST,
                message=f"{method} cannot be relayed: the hub cannot tell which agent call it belongs to"
                if ctx is None
                else f"{method} cannot be relayed: the calling agent's protocol era or transport cannot answer it",
            )
        wire = params.model_dump(by_alias=True, mode="json", exclude_none=True) if params is not None else None
        try:
            result = await ctx.peer.request(method, wire)
        except UpstreamRejectedError as exc:
            return types.ErrorData(code=exc.rpc_code, message=exc.message)
        except Exception as exc:  # the agent's failure becomes the upstream's error answer, not the hub's crash
            return types.ErrorData(code=types.INTERNAL_ERROR, message=f"{method} failed at the agent: {exc}")
        return _RESULTS[method].model_validate(result)
