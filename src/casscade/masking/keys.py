"""Masking keys: reading the secrets `masking.keys` names, and the ring that holds them.

Each key's secret is base64 text (`openssl rand -base64 32`) decoding to at least 32 bytes,
read from the environment variable or the file its `KeySource` names. The environment is
passed in (library code never reads `os.environ`); files are read here, once, at start-up.

Problems are `ConfigError`s naming the place (`masking.keys.1.secret_env`) and never the
secret: not its text, not its length when that could narrow it down, only what is wrong.
`KeyRing` keeps secrets as SecretStr; its repr lists key ids only.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from casscade.errors import ConfigError
from casscade.masking.rules import KeySource, MaskingConfig

__all__ = ["MIN_KEY_BYTES", "KeyRing", "check_keys", "load_keys"]

# HMAC-SHA-256 keys shorter than the hash's own output weaken it (RFC 2104 section 3).
MIN_KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Resolved key secrets by key id, and which key does what.

    Attributes:
        secrets: key id -> the base64 secret, as given.
        active_key: the key id that hashes and tokenizes, if any.
        vault_key: the key id that encrypts new vault rows, if any.
    """

    secrets: Mapping[str, SecretStr] = field(repr=False)
    active_key: str | None = None
    vault_key: str | None = None

    def __repr__(self) -> str:
        ids = ", ".join(sorted(self.secrets))
        return f"KeyRing(keys=[{ids}], active_key={self.active_key}, vault_key={self.vault_key})"

    def material(self, key_id: str) -> bytes:
        """The key's bytes (decoded base64).

        Raises:
            KeyError: no key has this id (the id is in the message; it is not secret).
        """
        secret = self.secrets.get(key_id)
        if secret is None:
            raise KeyError(f"no masking key has id {key_id}")
        return base64.b64decode(secret.get_secret_value(), validate=True)

    @classmethod
    def from_material(
        cls,
        keys: Mapping[str, bytes],
        *,
        active_key: str | None = None,
        vault_key: str | None = None,
    ) -> KeyRing:
        """A ring from raw key bytes (tests, tools); every key must be long enough.

        Raises:
            ValueError: a key is shorter than MIN_KEY_BYTES, or a role names a missing id.
        """
        short = sorted(key_id for key_id, raw in keys.items() if len(raw) < MIN_KEY_BYTES)
        if short:
            raise ValueError(f"keys shorter than {MIN_KEY_BYTES} bytes: {', '.join(short)}")
        for role in (active_key, vault_key):
            if role is not None and role not in keys:
                raise ValueError(f"no key has id {role}")
        secrets = {k: SecretStr(base64.b64encode(raw).decode()) for k, raw in keys.items()}
        return cls(secrets, active_key, vault_key)


def load_keys(config: MaskingConfig, *, environ: Mapping[str, str]) -> KeyRing:
    """Read every key `config.keys` names.

    Args:
        config: the masking rules.
        environ: where `secret_env` names are looked up (the CLI passes the process
            environment).

    Raises:
        ConfigError: the first problem, saying how many more there are.
    """
    ring, problems = check_keys(config, environ=environ)
    if ring is None:
        first = problems[0]
        if len(problems) > 1:
            raise ConfigError(first.where, f"{first.problem} (and {len(problems) - 1} more)")
        raise first
    return ring


def check_keys(
    config: MaskingConfig, *, environ: Mapping[str, str]
) -> tuple[KeyRing | None, list[ConfigError]]:
    """Read every key and collect every problem with its place in the file.

    Returns:
        The ring and no problems, or None and at least one problem.
    """
    secrets: dict[str, SecretStr] = {}
    problems: list[ConfigError] = []
    for index, source in enumerate(config.keys):
        where = f"masking.keys.{index}"
        text = _read_secret(source, environ, where, problems)
        if text is not None and _is_valid_key(text, where, problems):
            secrets[source.id] = SecretStr(text)
    if problems:
        return None, problems
    return KeyRing(secrets, config.active_key, config.vault_key), []


def _read_secret(
    source: KeySource, environ: Mapping[str, str], where: str, problems: list[ConfigError]
) -> str | None:
    if source.secret_env is not None:
        value = environ.get(source.secret_env)
        if value is None:
            problem = f"environment variable {source.secret_env} is not set"
            problems.append(ConfigError(f"{where}.secret_env", problem))
            return None
        return value.strip()
    path = Path(str(source.secret_file))
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        problems.append(ConfigError(f"{where}.secret_file", f"cannot read {path}: {reason}"))
        return None


def _is_valid_key(text: str, where: str, problems: list[ConfigError]) -> bool:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        problems.append(ConfigError(where, "the secret is not base64 (openssl rand -base64 32)"))
        return False
    if len(raw) < MIN_KEY_BYTES:
        problem = (
            f"the secret decodes to fewer than {MIN_KEY_BYTES} bytes (openssl rand -base64 32)"
        )
        problems.append(ConfigError(where, problem))
        return False
    return True
