"""Resource subscriptions of many agent sessions over one shared upstream session.

The upstream sees one subscription per URI: the first agent to subscribe opens it, the last to
unsubscribe closes it, and each resources/updated notification goes to exactly the agent sessions
that subscribed to that URI.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

from hub.core.connector import AgentPeer

log = logging.getLogger(__name__)


class SubscriptionTable:
    def __init__(self) -> None:
        self._by_uri: dict[str, dict[Hashable, AgentPeer]] = {}

    def add(self, uri: str, peer: AgentPeer) -> bool:
        """Record `peer`'s subscription; True when it is the URI's first, so the upstream must be asked."""
        subscribers = self._by_uri.setdefault(uri, {})
        first = not subscribers
        subscribers[peer.session_key] = peer
        return first

    def remove(self, uri: str, peer: AgentPeer) -> bool:
        """Forget `peer`'s subscription; True when no subscriber is left, so the upstream can be told."""
        subscribers = self._by_uri.get(uri)
        if subscribers is None or subscribers.pop(peer.session_key, None) is None:
            return False
        if subscribers:
            return False
        del self._by_uri[uri]
        return True

    def uris(self) -> list[str]:
        return list(self._by_uri)

    async def deliver(self, uri: str) -> None:
        """Tell every subscriber of `uri`; a session that is gone is dropped."""
        for key, peer in list(self._by_uri.get(uri, {}).items()):
            try:
                await peer.resource_updated(uri)
            except Exception:
                log.info("subscription.dropped", extra={"uri": uri})
                subscribers = self._by_uri.get(uri)
                if subscribers is not None:
                    subscribers.pop(key, None)
                    if not subscribers:
                        del self._by_uri[uri]
