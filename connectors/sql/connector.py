"""A SQL database upstream: its tools are queries, run on a pooled connection inside read-only and time guards.

The catalog comes from the config, so the tools stay listed while the database is down; a call then
answers with a tool error (isError) saying the database is unreachable, and health shows `down`
until a health check or a call gets through again. Every SQL failure is a tool error with the
database's own message, trimmed and with the URL and password removed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import anyio

from connectors.sql.engine import Database, open_database
from connectors.sql.errors import DatabaseUnreachableError, StatementFailedError
from connectors.sql.guard import QueryRefusedError
from connectors.sql.results import error_result, tool_result
from connectors.sql.session import ping
from connectors.sql.tools import SqlTools
from hub.config.model import SqlUpstreamConfig
from hub.core.catalog import Catalog
from hub.core.connector import CallContext, ChangeListener, UpstreamHealth, UpstreamState
from hub.errors import ConfigError, InvalidParamsError, UpstreamTimeoutError

log = logging.getLogger(__name__)

_DISPOSE_TIMEOUT_S = 5.0
_RETRY_START_S = 0.5  # health checks while down: 0.5 s, doubling up to health_interval_s
_TIMEOUT_MARGIN_S = 0.25  # the database's own time limit fires this much before the hub's deadline


class SqlConnector:
    def __init__(self, config: SqlUpstreamConfig) -> None:
        self.name = config.name
        self.call_timeout_s = config.call_timeout_s
        self._config = config
        self._tools = SqlTools(config)
        self._catalog = Catalog(tools=self._tools.catalog())
        self._state: UpstreamState = "starting"
        self._detail = ""
        self._db: Database | None = None
        try:
            self._db = open_database(config)
        except ConfigError as exc:  # e.g. the driver's extra is not installed: the upstream stays down
            self._state, self._detail = "down", exc.message
        self._listeners: list[ChangeListener] = []
        self._state_changed = anyio.Event()
        self._check_now = anyio.Event()

    # --- Connector protocol ------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog | None:
        return self._catalog

    @property
    def health(self) -> UpstreamHealth:
        return UpstreamHealth(self.name, self._state, self._detail)

    def subscribe_changes(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    async def request(self, method: str, params: Mapping[str, Any], ctx: CallContext) -> dict[str, Any]:
        if method != "tools/call":
            raise InvalidParamsError(f"method {method!r} cannot be forwarded to database {self.name!r}")
        arguments = params.get("arguments") or {}
        if not isinstance(arguments, Mapping):
            raise InvalidParamsError("tools/call: arguments must be an object")
        if self._db is None:
            return error_result(f"database {self.name!r} cannot be used: {self._detail}")
        time_left = ctx.deadline - anyio.current_time()
        statement_timeout = max(min(self._config.statement_timeout_s, time_left - _TIMEOUT_MARGIN_S), 0.001)
        with anyio.move_on_after(max(time_left, 0)) as scope:
            try:
                rows = await self._tools.call(self._db, str(params.get("name", "")), arguments, statement_timeout)
            except DatabaseUnreachableError as exc:
                self._went_down(exc.message)
                return error_result(exc.message)
            except (StatementFailedError, QueryRefusedError) as exc:
                self._reached()
                return error_result(exc.message)
            self._reached()
            return tool_result(rows)
        assert scope.cancelled_caught
        raise UpstreamTimeoutError(f"upstream {self.name!r} did not answer in time", upstream=self.name)

    async def run(self) -> None:
        """Check the database at once, then every health_interval_s (sooner while it is down)."""
        retry = _RETRY_START_S
        try:
            while True:
                if self._db is not None:
                    await self._check(self._db)
                wait = self._config.health_interval_s if self._state == "ready" else retry
                retry = _RETRY_START_S if self._state == "ready" else min(retry * 2, self._config.health_interval_s)
                with anyio.move_on_after(wait):
                    await self._check_now.wait()
                self._check_now = anyio.Event()
        except anyio.get_cancelled_exc_class():
            self._set_state("stopped", "")
            raise
        finally:
            if self._db is not None:
                with anyio.move_on_after(_DISPOSE_TIMEOUT_S, shield=True):
                    await self._db.engine.dispose()

    async def ensure_started(self) -> None:
        with anyio.move_on_after(self._config.connect_timeout_s):
            while self._state == "starting":
                await self._state_changed.wait()

    # --- state ---------------------------------------------------------------------------------

    async def _check(self, db: Database) -> None:
        with anyio.move_on_after(self._config.connect_timeout_s) as scope:
            try:
                await ping(db, self.name)
            except DatabaseUnreachableError as exc:
                self._went_down(exc.message)
                return
        if scope.cancelled_caught:
            self._went_down(f"database {self.name!r} did not answer within {self._config.connect_timeout_s:g}s")
        else:
            self._reached()

    def _went_down(self, detail: str) -> None:
        if self._state != "down":
            log.warning("upstream.down", extra={"upstream": self.name, "error": detail})
            self._check_now.set()  # start the fast retries now
        self._set_state("down", detail)

    def _reached(self) -> None:
        if self._state != "ready":
            log.info("upstream.ready", extra={"upstream": self.name})
        self._set_state("ready", "")

    def _set_state(self, state: UpstreamState, detail: str) -> None:
        changed = state != self._state
        self._state, self._detail = state, detail
        if changed:
            self._state_changed.set()
            self._state_changed = anyio.Event()
            for listener in self._listeners:
                listener(self.name)
