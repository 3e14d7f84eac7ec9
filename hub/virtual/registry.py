"""The live set of virtual servers and their views, kept current as upstreams and configs change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from hub.config.model import VirtualServerConfig
from hub.core.catalog import Catalog
from hub.virtual.view import View, build_view

log = logging.getLogger(__name__)

ServerListener = Callable[[str], None]


class Registry:
    """Virtual server configs → views. Every change to a view is announced to listeners by server name."""

    def __init__(self, catalogs: Callable[[], Mapping[str, Catalog | None]]) -> None:
        self._catalogs = catalogs
        self._configs: dict[str, VirtualServerConfig] = {}
        self._views: dict[str, View] = {}
        self._listeners: list[ServerListener] = []

    def view(self, server: str) -> View | None:
        return self._views.get(server)

    def names(self) -> list[str]:
        return sorted(self._configs)

    def config(self, server: str) -> VirtualServerConfig | None:
        return self._configs.get(server)

    def subscribe(self, listener: ServerListener) -> None:
        self._listeners.append(listener)

    def put(self, config: VirtualServerConfig) -> None:
        self._configs[config.name] = config
        self._rebuild(config.name)

    def remove(self, server: str) -> None:
        self._configs.pop(server, None)
        if self._views.pop(server, None) is not None:
            self._announce(server)

    def upstream_changed(self, upstream: str) -> None:
        """An upstream's catalog or state changed: rebuild every server that includes it."""
        for name, config in self._configs.items():
            if any(sel.upstream == upstream for sel in config.include):
                self._rebuild(name)

    def _rebuild(self, server: str) -> None:
        old = self._views.get(server)
        new = build_view(self._configs[server], self._catalogs(), old)
        self._views[server] = new
        if old is None or _listed(old) != _listed(new):
            self._announce(server)

    def _announce(self, server: str) -> None:
        for listener in self._listeners:
            try:
                listener(server)
            except Exception:  # a listener must not stop the others
                log.exception("virtual.listener_failed", extra={"server": server})


def _listed(view: View) -> tuple[object, ...]:
    return (
        [e.item for e in view.tools.values()],
        [e.item for e in view.prompts.values()],
        [e.item for e in view.resources.values()],
        [e.item for e in view.templates],
    )
