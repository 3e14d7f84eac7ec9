"""The live set of upstream connectors, each supervised in its own cancel scope and replaceable at run time."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping

import anyio
from anyio.abc import TaskGroup

from hub.core.catalog import Catalog
from hub.core.connector import ChangeListener, Connector, UpstreamHealth

log = logging.getLogger(__name__)


class UpstreamSet(Mapping[str, Connector]):
    def __init__(self, on_change: ChangeListener) -> None:
        self._connectors: dict[str, Connector] = {}
        self._scopes: dict[str, anyio.CancelScope] = {}
        self._on_change = on_change
        self._changed = anyio.Event()
        self._tg: TaskGroup | None = None

    def __getitem__(self, name: str) -> Connector:
        return self._connectors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._connectors)

    def __len__(self) -> int:
        return len(self._connectors)

    def catalogs(self) -> dict[str, Catalog | None]:
        return {name: c.catalog for name, c in self._connectors.items()}

    def health(self) -> list[UpstreamHealth]:
        return [c.health for c in self._connectors.values()]

    def attach(self, tg: TaskGroup) -> None:
        """Start supervising every connector (and those added later) in `tg`."""
        self._tg = tg
        for name in list(self._connectors):
            self._start(name)

    async def wait_settled(self) -> None:
        """Return once no upstream is still starting (callers bound this with a timeout)."""
        while any(c.health.state == "starting" for c in self._connectors.values()):
            await self._changed.wait()

    def _changed_upstream(self, name: str) -> None:
        self._changed.set()
        self._changed = anyio.Event()
        self._on_change(name)

    def put(self, connector: Connector) -> None:
        self.remove(connector.name)
        connector.subscribe_changes(self._changed_upstream)
        self._connectors[connector.name] = connector
        if self._tg is not None:
            self._start(connector.name)
        self._on_change(connector.name)

    def remove(self, name: str) -> None:
        scope = self._scopes.pop(name, None)
        if scope is not None:
            scope.cancel()
        if self._connectors.pop(name, None) is not None:
            self._on_change(name)

    def _start(self, name: str) -> None:
        assert self._tg is not None
        scope = anyio.CancelScope()
        self._scopes[name] = scope
        self._tg.start_soon(_supervise, self._connectors[name].run, scope, name=f"upstream:{name}")


async def _supervise(run: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
    with scope:
        await run()
