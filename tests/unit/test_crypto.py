"""AES-256-GCM at rest and sealed job credentials."""

from __future__ import annotations

import pytest

from lifeboat.core.crypto import DecryptionError, Sealer, SecretBox, generate_key
from lifeboat.core.errors import ConfigurationError

KEY = "k" * 40


def test_round_trip_and_no_plaintext() -> None:
    box = SecretBox(KEY)
    token = box.encrypt("hunter2-marker", context="database_configs.password:1")
    assert "hunter2" not in token
    assert token.startswith("lb1.1.")
    assert box.decrypt(token, context="database_configs.password:1") == "hunter2-marker"


def test_same_plaintext_encrypts_differently() -> None:
    box = SecretBox(KEY)
    assert box.encrypt("x", context="c") != box.encrypt("x", context="c")


def test_context_binding_refuses_swapped_rows() -> None:
    box = SecretBox(KEY)
    token = box.encrypt("secret", context="database_configs.password:1")
    with pytest.raises(DecryptionError):
        box.decrypt(token, context="database_configs.password:2")


def test_wrong_key_is_detected() -> None:
    token = SecretBox(KEY).encrypt("secret", context="c")
    with pytest.raises(DecryptionError):
        SecretBox("z" * 40).decrypt(token, context="c")


def test_tampered_token_is_detected() -> None:
    box = SecretBox(KEY)
    token = box.encrypt("secret", context="c")
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(DecryptionError):
        box.decrypt(flipped, context="c")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        SecretBox("short")
    with pytest.raises(ConfigurationError):
        Sealer("short")


def test_sealer_binds_to_execution() -> None:
    sealer = Sealer(generate_key())
    sealed = sealer.seal("pw-marker", bound_to="exec-1")
    assert "pw-marker" not in sealed
    assert sealer.open(sealed, bound_to="exec-1") == "pw-marker"
    with pytest.raises(DecryptionError):
        sealer.open(sealed, bound_to="exec-2")
    with pytest.raises(DecryptionError):
        Sealer(generate_key()).open(sealed, bound_to="exec-1")


def test_key_version_is_readable() -> None:
    assert SecretBox.key_version(SecretBox(KEY, version=3).encrypt("x", context="c")) == 3
