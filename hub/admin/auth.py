"""The admin token check: `Authorization: Bearer <server.admin_token>`, or the admin API is off."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from pydantic import SecretStr

from hub.auth.authenticator import bearer_token
from hub.errors import AuthenticationError, NotFoundError

DISABLED = "the admin API is disabled: set server.admin_token in the config file to enable it"


def check_admin(headers: Mapping[str, str], token: SecretStr | None) -> None:
    """Raise unless the request carries the admin token. Without a configured token, nothing passes."""
    if token is None:
        raise NotFoundError(DISABLED)
    presented = bearer_token(headers)
    expected = token.get_secret_value().encode("utf-8")
    if presented is None or not hmac.compare_digest(presented.encode("utf-8"), expected):
        raise AuthenticationError(
            "missing or invalid admin token: send 'Authorization: Bearer <server.admin_token>'"
            if presented is None
            else "invalid admin token"
        )
