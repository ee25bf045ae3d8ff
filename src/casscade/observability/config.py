"""Settings of the agent's operations surface: the HTTP server and OpenTelemetry tracing.

Pure pydantic models (no file or environment access): the token is named in the YAML by
`token_env` or `token_file` and read by `resolve_token`, which the CLI calls with the
environment it loaded. A literal `token` is what the loader puts in after resolving.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from casscade.errors import ConfigError

DEFAULT_PORT = 9470


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name other than localhost may resolve to anything
        return False


class HttpConfig(BaseModel):
    """The agent's HTTP server: /metrics, /healthz, /readyz, /status and the status page."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    host: str = Field(
        default="127.0.0.1",
        description="Bind address; any non-loopback address requires a token.",
    )
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535, description="0 picks a free port.")
    token: SecretStr | None = Field(
        default=None, description="Bearer token (set by the loader from token_env/token_file)."
    )
    token_env: str | None = Field(default=None, description="Environment variable of the token.")
    token_file: Path | None = Field(default=None, description="File holding the token.")
    readiness_stall_s: float = Field(
        default=300.0,
        gt=0,
        description="Not ready when a destination with work has not committed for this long.",
    )
    liveness_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="Not alive when the agent loop has not completed a pass for this long.",
    )

    @model_validator(mode="after")
    def _token_rules(self) -> Self:
        sources = [s for s in (self.token, self.token_env, self.token_file) if s is not None]
        if len(sources) > 1:
            raise ValueError("give the token one way: token_env or token_file")
        if not sources and not is_loopback(self.host):
            raise ValueError(
                f"binding to {self.host} needs a bearer token: set token_env or token_file"
            )
        return self


class TracingConfig(BaseModel):
    """OpenTelemetry tracing; off unless an OTLP endpoint is given."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL, e.g. http://127.0.0.1:4318/v1/traces; unset = off.",
    )
    service_name: str = Field(default="casscade", min_length=1)
    sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)


def resolve_token(config: HttpConfig, environ: Mapping[str, str]) -> SecretStr | None:
    """The bearer token the configuration names, read from the environment or its file.

    Args:
        config: the HTTP settings.
        environ: where `token_env` is looked up (the CLI passes the process environment).

    Returns:
        The token, or None when none is configured (only allowed on a loopback address).

    Raises:
        ConfigError: the variable is unset, the file unreadable, or the token empty.
    """
    if config.token is not None:
        token = config.token.get_secret_value()
        where = "http.token"
    elif config.token_env is not None:
        where = "http.token_env"
        if config.token_env not in environ:
            raise ConfigError(where, f"environment variable {config.token_env} is not set")
        token = environ[config.token_env]
    elif config.token_file is not None:
        where = "http.token_file"
        try:
            token = config.token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(where, f"cannot read {config.token_file}: {exc.strerror}") from exc
    else:
        return None
    token = token.strip()
    if not token:
        raise ConfigError(where, "the token is empty")
    return SecretStr(token)
