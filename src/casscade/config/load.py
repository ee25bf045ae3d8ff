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
from casscade.config.problems import validation_problems
from casscade.errors import ConfigError


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """Read and validate a configuration file.

    Args:
        path: the YAML file.
        environ: where `password_env` names are looked up (the process environment if None).

    Raises:
        ConfigError: the first problem (unreadable file, bad YAML, a secret written in the
            file, a missing environment variable, an invalid setting), saying how many more
            there are; `casscade check-config` lists them all.
    """
    config, problems = check_config(path, environ=environ)
    if config is None:
        first = problems[0]
        if len(problems) > 1:
            raise ConfigError(first.where, f"{first.problem} (and {len(problems) - 1} more)")
        raise first
    return config


def check_config(
    path: Path, *, environ: Mapping[str, str] | None = None
) -> tuple[AgentConfig | None, list[ConfigError]]:
    """Validate a configuration file and collect every problem with its place in the file.

    Returns:
        The configuration and no problems, or None and at least one problem.
    """
    env = os.environ if environ is None else environ
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return None, [ConfigError(str(path), f"cannot read: {exc.strerror}")]
    except UnicodeDecodeError as exc:
        return None, [ConfigError(str(path), f"not UTF-8 text (byte {exc.start})")]
    except yaml.YAMLError as exc:
        return None, [ConfigError(str(path), _yaml_problem(exc))]
    if not isinstance(raw, dict):
        return None, [ConfigError(str(path), "expected a mapping at the top level")]
    problems: list[ConfigError] = []
    resolved = _resolve_secrets(raw, env, where=f"{path}: ", problems=problems)
    try:
        config = AgentConfig.model_validate(resolved)
    except ValidationError as exc:
        for where, problem in validation_problems(exc, resolved):
            problems.append(ConfigError(f"{path}: {where}", problem))
        return None, problems
    return (None, problems) if problems else (config, [])


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line, with the line and column where the parser gave up."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return f"not valid YAML: {str(exc).splitlines()[0]}"


# Settings that hold secrets: never literal in the file, always `<name>_env` or `<name>_file`.
# (Masking keys are read by casscade.masking.keys from their own `secret_env`/`secret_file`.)
SECRET_KEYS = ("password", "token")


def _resolve_secrets(
    node: object, env: Mapping[str, str], *, where: str, problems: list[ConfigError]
) -> object:
    """Replace `<secret>_env` / `<secret>_file` with `<secret>` (SECRET_KEYS); refuse a
    literal secret."""
    if isinstance(node, list):
        return [
            _resolve_secrets(v, env, where=f"{where}{i}.", problems=problems)
            for i, v in enumerate(node)
        ]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        here = f"{where}{key}"
        secret, _, source = str(key).rpartition("_")
        if key in SECRET_KEYS:
            problems.append(
                ConfigError(here, f"secrets do not go in the file: use {key}_env or {key}_file")
            )
        elif secret in SECRET_KEYS and source == "file" and f"{secret}_env" in node:
            problems.append(ConfigError(here, f"give {secret}_env or {secret}_file, not both"))
        elif secret in SECRET_KEYS and source == "env":
            if str(value) in env:
                out[secret] = env[str(value)]
            else:
                problems.append(ConfigError(here, f"environment variable {value} is not set"))
        elif secret in SECRET_KEYS and source == "file":
            try:
                out[secret] = Path(str(value)).read_text(encoding="utf-8").strip()
            except OSError as exc:
                problems.append(ConfigError(here, f"cannot read {value}: {exc.strerror}"))
            except UnicodeDecodeError:
                problems.append(ConfigError(here, f"{value} is not UTF-8 text"))
        else:
            out[key] = _resolve_secrets(value, env, where=f"{here}.", problems=problems)
    return out
