"""Sealing is generic over SecretStr: any model's secrets, at any depth, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault, generate_key
from hub.governance.vault.sealed import MARKER, seal, sealed_count, unseal


class Nested(BaseModel):
    password: SecretStr
    user: str


class Plain(BaseModel):
    user: str


class FutureUpstream(BaseModel):
    """Stands for a connector kind this module has never heard of."""

    name: str
    dsn: SecretStr
    logins: tuple[Nested, ...] = ()
    extra: dict[str, SecretStr] = {}
    body: Any = None


def test_every_secret_of_an_unknown_model_is_sealed_and_opened() -> None:
    vault = Vault([generate_key().encode()])
    model = FutureUpstream(
        name="db",
        dsn=SecretStr("dsn-secret"),
        logins=(Nested(password=SecretStr("pw-secret"), user="svc"),),
        extra={"k": SecretStr("extra-secret")},
        body={"template": "{arg}"},
    )
    sealed = seal(model, vault)
    assert sealed_count(sealed) == 3
    assert "secret" not in repr(sealed)
    assert sealed["logins"][0]["user"] == "svc"
    assert sealed["body"] == {"template": "{arg}"}
    assert FutureUpstream.model_validate(unseal(sealed, vault)) == model


def test_a_model_without_secrets_needs_no_vault_and_one_with_secrets_does() -> None:
    assert seal(Plain(user="u"), None) == {"user": "u"}
    with pytest.raises(ConfigError, match="no vault key to encrypt"):
        seal(FutureUpstream(name="db", dsn=SecretStr("x")), None)


def test_the_marker_is_reserved_in_plain_values() -> None:
    vault = Vault([generate_key().encode()])
    with pytest.raises(ConfigError, match="reserved"):
        seal(FutureUpstream(name="db", dsn=SecretStr("x"), body={MARKER: "not a secret"}), vault)
