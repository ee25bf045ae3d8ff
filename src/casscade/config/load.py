"""Loading `casscade.yaml`: the file, secrets from the environment or files, validation.

Every problem becomes one ConfigError naming the place in the YAML (`destinations.0.port`)
and what is wrong, so the CLI prints one line and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from casscade.config.models import AgentConfig
from casscade.errors import ConfigError


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """Read and validate a configuration file.

    Args:
        path: the YAML file.
        environ: where `password_env` names are looked up (the process environment if None).

    Raises:
        ConfigError: unreadable file, bad YAML, a secret written in the file, a missing
            environment variable, or an invalid setting.
    """
    env = os.environ if environ is None else environ
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), f"not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "expected a mapping at the top level")
    resolved = _resolve_secrets(raw, env, where="")
    try:
        return AgentConfig.model_validate(resolved)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(item) for item in first["loc"]) or "config"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{path}: {where}", f"{first['msg']}{more}") from exc


def _resolve_secrets(node: object, env: Mapping[str, str], *, where: str) -> object:
    """Replace `password_env` / `password_file` with `password`; refuse a literal password."""
    if isinstance(node, list):
        return [_resolve_secrets(v, env, where=f"{where}{i}.") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        here = f"{where}{key}"
        if key == "password":
            raise ConfigError(
                here, "secrets do not go in the file: use password_env or password_file"
            )
        if key == "password_env":
            if str(value) not in env:
                raise ConfigError(here, f"environment variable {value} is not set")
            out["password"] = env[str(value)]
        elif key == "password_file":
            try:
                out["password"] = Path(str(value)).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(here, f"cannot read {value}: {exc.strerror}") from exc
        else:
            out[key] = _resolve_secrets(value, env, where=f"{here}.")
    return out
