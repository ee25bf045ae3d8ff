"""`casscade status`: what a running agent reports on its /status endpoint, as tables.

A client of the agent's HTTP server (casscade.observability.server): it reads /status with
the standard library and shows it. The response is parsed into this module's own models,
which keep only what is shown and ignore anything else, so the command also reads an agent
of a newer version. Nothing here touches the agent's state.
"""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.table import Table

from casscade.config.load import load_config
from casscade.errors import CasscadeError, ConfigError
from casscade.observability import HttpConfig, resolve_token
from casscade.observability.config import DEFAULT_PORT

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
# The agent answers /status from memory at once; longer than this means it is not serving.
TIMEOUT_S = 5.0
# Bind addresses that mean "every interface": the agent is reached on loopback then.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 - mapped, not bound


class AgentStatusError(CasscadeError):
    """The agent's /status could not be read.

    Attributes:
        url: the /status URL that was tried.
        problem: what went wrong, in one line.
    """

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(url, problem)

    def __str__(self) -> str:
        return f"agent at {self.url}: {self.problem}"


class _Model(BaseModel):
    # Unknown keys are ignored: a newer agent may report more than this version shows.
    model_config = ConfigDict(frozen=True, extra="ignore")


class _LastError(_Model):
    kind: str
    message: str
    at: float


class _Destination(_Model):
    name: str
    type: str
    state: str
    stalled: bool = False
    position: str | None = None
    lag_s: float | None = None
    events_per_s: float = 0.0
    backlog_events: int = 0
    dead_letters: int = 0
    last_error: _LastError | None = None
    retry_at: float | None = None


class _Source(_Model):
    reachable: bool | None = None
    last_error: _LastError | None = None
    cdc_raw_used_bytes: int | None = None
    cdc_raw_total_bytes: int | None = None


class _Status(_Model):
    node_id: str
    version: str
    now: float
    started_at: float
    alive: bool
    ready: bool
    source: _Source
    destinations: tuple[_Destination, ...]


def status(
    url: str | None = typer.Option(
        None, "--url", help=f"The agent's address (default {DEFAULT_URL}, or from --config)."
    ),
    token_env: str | None = typer.Option(
        None, "--token-env", help="Environment variable holding the agent's bearer token."
    ),
    config_path: Path | None = typer.Option(
        None, "--config", "-c", help="Take the address and token from this file's http section."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the agent's JSON as it is."),
) -> None:
    """Show a running agent's status: its destinations, their lag, and cdc_raw usage.

    Reads the agent's /status: per destination the state, committed position, lag,
    throughput, backlog, dead letters and last error. --url and --token-env override what
    --config says. Exit code 1 when the agent cannot be reached (or does not answer like
    one), 2 when it refuses the token (HTTP 401) or an option is wrong.

    Examples:

        casscade status

        casscade status --url http://10.0.0.7:9470 --token-env CASSCADE_HTTP_TOKEN

        casscade status --config casscade.yaml --json
    """
    base, token = DEFAULT_URL, None
    if config_path is not None:
        settings = load_config(config_path).http
        base = _agent_url(settings)
        secret = resolve_token(settings, os.environ)
        token = None if secret is None else secret.get_secret_value()
    if url is not None:
        base = url
    if token_env is not None:
        if token_env not in os.environ:
            raise ConfigError("--token-env", f"environment variable {token_env} is not set")
        token = os.environ[token_env].strip()
    target = status_url(base)
    body = fetch_status(target, token)
    if as_json:
        typer.echo(body.decode("utf-8", errors="replace").rstrip("\n"))
        return
    try:
        report = _Status.model_validate_json(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(item) for item in first["loc"]) or "response"
        problem = f"not a casscade /status response ({where}: {first['msg']})"
        raise AgentStatusError(target, problem) from exc
    console = Console(highlight=False)
    _print_report(console, target, report)


def status_url(base: str) -> str:
    """The /status URL of an agent given by its address (a /status URL stays as it is).

    Raises:
        ConfigError: not an http(s) URL with a host.
    """
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError("--url", f"expected http://host:port, got {base!r}")
    path = parts.path if parts.path.endswith("/status") else parts.path.rstrip("/") + "/status"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _agent_url(settings: HttpConfig) -> str:
    """Where an agent with these http settings is reached from this machine."""
    if not settings.enabled:
        raise ConfigError("http.enabled", "false: the agent serves no /status")
    if settings.port == 0:
        raise ConfigError("http.port", "0 (a free port chosen at start): give the agent's --url")
    host, port = _ANY_ADDRESS.get(settings.host, settings.host), settings.port
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def fetch_status(url: str, token: str | None) -> bytes:
    """GET the agent's /status.

    Raises:
        ConfigError: HTTP 401, the token is missing or wrong.
        AgentStatusError: the agent cannot be reached or answers with another error.
    """
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - status_url checked the scheme
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            data: bytes = response.read()
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 401:
            problem = "HTTP 401: the bearer token is missing or wrong (see --token-env)"
            raise ConfigError(url, problem) from None
        raise AgentStatusError(url, f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason.strerror if isinstance(exc.reason, OSError) else exc.reason
        raise AgentStatusError(url, f"unreachable: {reason or exc.reason}") from None
    except OSError as exc:  # a timeout or reset while reading the answer
        raise AgentStatusError(url, f"unreachable: {exc.strerror or exc}") from None
    except http.client.HTTPException as exc:  # something listens there, but not HTTP
        raise AgentStatusError(url, f"not an HTTP server ({type(exc).__name__})") from None
    try:
        parsed = json.loads(data)
    except ValueError:
        raise AgentStatusError(url, "not a casscade /status response (not JSON)") from None
    if not isinstance(parsed, dict):
        raise AgentStatusError(url, "not a casscade /status response (not a JSON object)")
    return data


def _print_report(console: Console, url: str, report: _Status) -> None:
    alive = "alive" if report.alive else "NOT ALIVE"
    ready = "ready" if report.ready else "NOT READY"
    uptime = _duration(report.now - report.started_at)
    console.print(f"agent {report.node_id} (casscade {report.version}) at {url}: {alive}, "
                  f"{ready}, up {uptime}", markup=False)  # fmt: skip
    console.print(f"source: {_source(report.source, report.now)}", markup=False)
    console.print(f"cdc_raw: {_cdc_raw(report.source)}", markup=False)
    table = Table(title=f"destinations ({len(report.destinations)})")
    table.add_column("destination", no_wrap=True)
    table.add_column("state")
    table.add_column("position", no_wrap=True)
    for column in ("lag", "events/s", "backlog", "dead letters"):
        table.add_column(column, justify="right")
    for d in report.destinations:
        table.add_row(d.name, _state(d, report.now), d.position or "none",
                      "-" if d.lag_s is None else _duration(d.lag_s), f"{d.events_per_s:.1f}",
                      str(d.backlog_events), str(d.dead_letters))  # fmt: skip
    console.print(table)
    # Below the table: an error message needs the width a column would not get.
    for d in report.destinations:
        if d.last_error is not None:
            console.print(f"last error of {d.name}: {_error(d.last_error, report.now)}",
                          markup=False)  # fmt: skip


def _state(destination: _Destination, now: float) -> str:
    text = destination.state
    if destination.retry_at is not None and destination.retry_at > now:
        text += f" (retry in {_duration(destination.retry_at - now)})"
    return f"{text}, STALLED" if destination.stalled else text


def _source(source: _Source, now: float) -> str:
    if source.reachable is None:
        return "not read yet"
    if source.reachable:
        return "reachable"
    return f"unreachable: {_error(source.last_error, now)}"


def _cdc_raw(source: _Source) -> str:
    used, total = source.cdc_raw_used_bytes, source.cdc_raw_total_bytes
    if used is None:
        return "usage not reported yet"
    if not total:
        return f"{_size(used)} used"
    return f"{_size(used)} of {_size(total)} used ({100 * used / total:.0f}%)"


def _error(error: _LastError | None, now: float) -> str:
    if error is None:
        return "-"
    age = _duration(max(0.0, now - error.at))
    return f"{error.kind}: {error.message} ({age} ago)"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _size(count: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.1f} {unit}"
    return f"{count} B"
