"""Who may use /admin: admins from `server.admins` (and `server.admin_token`), each with a role.

`admin` may read and change everything; `viewer` may only read. With no admin configured the admin
API is off and every path answers 404.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hub.auth.authenticator import bearer_token
from hub.config.model import ServerConfig
from hub.errors import AuthenticationError, ForbiddenError, NotFoundError

DISABLED = "the admin API is disabled: set server.admin_token (or server.admins) in the config file to enable it"
READS = frozenset({"GET", "HEAD"})

Role = Literal["admin", "viewer"]


@dataclass(frozen=True, slots=True)
class AdminPrincipal:
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class _Credential:
    principal: AdminPrincipal
    sha256: bytes


class AdminCredentials:
    """The configured admin tokens, kept as digests and compared in constant time."""

    def __init__(self, server: ServerConfig) -> None:
        creds: list[tuple[str, Role, str]] = [(a.name, a.role, a.token.get_secret_value()) for a in server.admins]
        if server.admin_token is not None:
            creds.append(("admin", "admin", server.admin_token.get_secret_value()))
        self._creds = [_Credential(AdminPrincipal(n, r), _digest(t)) for n, r, t in creds]

    def check(self, headers: Mapping[str, str], method: str) -> AdminPrincipal:
        """The admin behind the request, if its role allows `method`; otherwise raise."""
        if not self._creds:
            raise NotFoundError(DISABLED)
        presented = bearer_token(headers)
        if presented is None:
            raise AuthenticationError(
                "missing admin token: send 'Authorization: Bearer <server.admin_token, or a server.admins token>'"
            )
        digest = _digest(presented)
        match = None
        for cred in self._creds:  # no early exit: the time taken does not depend on which token matched
            if hmac.compare_digest(cred.sha256, digest):
                match = cred.principal
        if match is None:
            raise AuthenticationError("invalid admin token")
        if match.role != "admin" and method not in READS:
            raise ForbiddenError(f"admin {match.name!r} has the role {match.role!r}, which may only read")
        return match


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()
