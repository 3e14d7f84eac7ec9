"""The MCP edge's one mapping from exceptions to JSON-RPC errors."""

from __future__ import annotations

import logging
import uuid

from mcp.shared.exceptions import MCPError

from hub.errors import INTERNAL_ERROR, HubError, UpstreamRejectedError

log = logging.getLogger(__name__)


def as_mcp_error(exc: BaseException) -> MCPError:
    """HubErrors keep their code, message and safe data; anything else becomes an opaque internal error."""
    if isinstance(exc, MCPError):
        return exc
    if isinstance(exc, UpstreamRejectedError):
        return MCPError(exc.rpc_code, exc.message, exc.upstream_data)
    if isinstance(exc, HubError):
        return MCPError(exc.rpc_code, exc.message, exc.data or None)
    incident = uuid.uuid4().hex[:12]
    log.error("mcp.internal_error", exc_info=exc, extra={"incident": incident})
    return MCPError(INTERNAL_ERROR, f"internal error (incident {incident}); the hub's log has the details")
