"""Tests of reading masking keys from the environment and files into a KeyRing."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from casscade.errors import ConfigError
from casscade.masking.keys import KeyRing, check_keys, load_keys
from casscade.masking.rules import MaskingConfig

SECRET = base64.b64encode(bytes(range(40))).decode()


def _config(*sources: dict[str, str]) -> MaskingConfig:
    return MaskingConfig.model_validate({"keys": list(sources)})


def test_load_keys_reads_env_and_file_secrets(tmp_path: Path) -> None:
    """A key from an environment variable and one from a file (trailing newline) both load."""
    secret_file = tmp_path / "k2"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    config = MaskingConfig.model_validate(
        {
            "keys": [
                {"id": "k1", "secret_env": "MASK_K1"},
                {"id": "k2", "secret_file": str(secret_file)},
            ],
            "active_key": "k2",
        }
    )
    ring = load_keys(config, environ={"MASK_K1": SECRET})
    assert ring.material("k1") == bytes(range(40))
    assert ring.material("k2") == bytes(range(40))
    assert ring.active_key == "k2"
    assert ring.vault_key is None


def test_load_keys_missing_env_names_the_place_and_variable() -> None:
    """An unset variable is a ConfigError at masking.keys.N.secret_env naming the variable."""
    with pytest.raises(ConfigError) as caught:
        load_keys(_config({"id": "k1", "secret_env": "NOT_SET"}), environ={})
    assert caught.value.where == "masking.keys.0.secret_env"
    assert "NOT_SET is not set" in caught.value.problem


def test_load_keys_unreadable_file_names_the_file(tmp_path: Path) -> None:
    """A secret file that cannot be read is reported with its path and the reason."""
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError) as caught:
        load_keys(_config({"id": "k1", "secret_file": str(missing)}), environ={})
    assert caught.value.where == "masking.keys.0.secret_file"
    assert str(missing) in caught.value.problem


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("not base64 at all!", "not base64"),
        (base64.b64encode(b"short-key-of-31-bytes-xxxxxxxxx").decode(), "fewer than 32 bytes"),
    ],
)
def test_load_keys_bad_secret_is_refused_without_quoting_it(secret: str, problem: str) -> None:
    """A secret that is not base64 of at least 32 bytes is refused; the message omits it."""
    with pytest.raises(ConfigError) as caught:
        load_keys(_config({"id": "k1", "secret_env": "K"}), environ={"K": secret})
    assert problem in str(caught.value)
    assert secret not in str(caught.value)
    assert secret not in repr(caught.value)


def test_check_keys_collects_every_problem() -> None:
    """check_keys reports all keys' problems at once; load_keys says how many more."""
    config = _config({"id": "a", "secret_env": "A"}, {"id": "b", "secret_env": "B"})
    ring, problems = check_keys(config, environ={})
    assert ring is None
    assert [p.where for p in problems] == ["masking.keys.0.secret_env", "masking.keys.1.secret_env"]
    with pytest.raises(ConfigError, match=r"\(and 1 more\)"):
        load_keys(config, environ={})


def test_key_ring_repr_never_shows_secrets() -> None:
    """The ring's repr lists key ids only; SecretStr keeps the value out of str()."""
    ring = load_keys(_config({"id": "k1", "secret_env": "K"}), environ={"K": SECRET})
    assert repr(ring) == "KeyRing(keys=[k1], active_key=None, vault_key=None)"
    assert SECRET not in repr(ring)
    assert SECRET not in str(ring.secrets)


def test_key_ring_from_material_refuses_short_keys_and_missing_roles() -> None:
    """Raw key material shorter than 32 bytes, or a role naming no key, is refused."""
    with pytest.raises(ValueError, match="shorter than 32 bytes: k"):
        KeyRing.from_material({"k": b"x" * 31})
    with pytest.raises(ValueError, match="no key has id v"):
        KeyRing.from_material({"k": b"x" * 32}, vault_key="v")
    with pytest.raises(KeyError, match="no masking key has id other"):
        KeyRing.from_material({"k": b"x" * 32}).material("other")
