"""Validation-error locations as a person reads them: without the union tags pydantic inserts.

pydantic puts the chosen member's tag into an error's location (`upstreams.0.rest.auth.oauth2.token_url`);
the config file and the admin API's JSON have no such level (`upstreams[0].auth.token_url`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, get_args

from hub.config.model import UpstreamAuthConfig, UpstreamConfig


def _tags(union: Any, field: str) -> frozenset[str]:
    return frozenset(
        tag for model in get_args(get_args(union)[0]) for tag in get_args(model.model_fields[field].annotation)
    )


UPSTREAM_KINDS = _tags(UpstreamConfig, "kind")
AUTH_TYPES = _tags(UpstreamAuthConfig, "type")


def readable(loc: Sequence[int | str]) -> list[int | str]:
    """`loc` without upstream-kind tags, and without the auth-type tag that follows an `auth` key."""
    parts = [p for p in loc if not (isinstance(p, str) and p in UPSTREAM_KINDS)]
    return [p for i, p in enumerate(parts) if not (i and parts[i - 1] == "auth" and p in AUTH_TYPES)]
