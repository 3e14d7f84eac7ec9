"""The vault cipher: the primary key encrypts, every configured key decrypts, rotation moves to the primary."""

from __future__ import annotations

import pytest

from hub.errors import ConfigError
from hub.governance.vault.cipher import Vault, generate_key

SECRET = "cipher-test-secret-Zq8"


def test_a_secret_round_trips_and_its_token_does_not_hold_it() -> None:
    vault = Vault([generate_key().encode()])
    token = vault.encrypt(SECRET)
    assert SECRET not in token
    assert vault.decrypt(token) == SECRET
    assert vault.encrypt(SECRET) != token  # a fresh nonce every time


def test_previous_keys_decrypt_and_reencrypt_moves_a_token_to_the_primary() -> None:
    old, new = generate_key().encode(), generate_key().encode()
    token = Vault([old]).encrypt(SECRET)
    rotating = Vault([new, old])
    assert rotating.decrypt(token) == SECRET
    moved = rotating.reencrypt(token)
    assert Vault([new]).decrypt(moved) == SECRET
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        Vault([old]).decrypt(moved)


def test_a_token_from_another_key_or_altered_is_refused_without_detail() -> None:
    vault = Vault([generate_key().encode()])
    foreign = Vault([generate_key().encode()]).encrypt(SECRET)
    token = vault.encrypt(SECRET)
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for bad in (foreign, altered, "not a token"):
        with pytest.raises(ConfigError) as refused:
            vault.decrypt(bad)
        assert "vault.previous_keys" in refused.value.message
        assert SECRET not in refused.value.message
