"""`casscade run`, `verify` and `check-config`: the agent, the oracle, config validation."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import structlog
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from casscade.config.load import check_config as validate_config
from casscade.config.load import load_config
from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent
from casscade.engine.cleanup import run_elsewhere
from casscade.engine.connectivity import check_destination
from casscade.engine.masking import masking_for
from casscade.engine.runtime import tune_collector
from casscade.engine.verify import TableReport, verify_destination
from casscade.errors import CasscadeError, ConfigError, SinkError
from casscade.observability import (
    StatusServer,
    Telemetry,
    Tracing,
    configure_logging,
    resolve_token,
)
from casscade.source.connection import NodeLogin, connect_node, tls_context
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows

log = structlog.get_logger(__name__)
console = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)
ConfigOption = typer.Option(..., "--config", "-c", help="The agent's YAML configuration file.")


def cassandra_session(config: AgentConfig) -> tuple[object, object]:
    """A cassandra-driver cluster and session for the configured node (its login and client
    encryption from `source.cassandra`).

    Raises:
        ConfigError: a TLS file cannot be used.
        SourceRefusedError: wrong credentials, or the node's certificate is not trusted.
        SourceUnavailableError: the node cannot be reached.
    """
    return connect_node(node_login(config))


def node_login(config: AgentConfig) -> NodeLogin:
    """How to reach and log into the configured node (reads the TLS files it names)."""
    source = config.source.cassandra
    context = None
    if source.tls is not None:
        tls = source.tls
        context = tls_context(tls.ca_file, tls.cert_file, tls.key_file, verify=tls.verify)
    password = "" if source.password is None else source.password.get_secret_value()
    return NodeLogin(source.host, source.port, source.username, password, context)


def run(
    config_path: Path = ConfigOption,
    once: bool = typer.Option(False, "--once", help="Apply what is in cdc_raw now, then exit."),
    pretty: bool = typer.Option(
        False, "--pretty", help="Readable log lines instead of JSON (for a terminal)."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    destinations: list[str] | None = typer.Option(
        None,
        "--destination",
        "-d",
        metavar="NAME",
        help="Run only this destination (repeat for more); other processes run the rest, "
        "sharing progress in source.state_dir (docs/operations.md).",
    ),
    http_port: int | None = typer.Option(
        None,
        "--http-port",
        min=0,
        max=65535,
        metavar="PORT",
        help="Serve HTTP on this port, not http.port.",
    ),
) -> None:
    """Run the agent: tail cdc_raw and keep every destination equal to Cassandra.

    Logs are JSON lines on stdout (one per event, with the batch's correlation id); metrics,
    health, status and the status page are served on http.host:http.port (127.0.0.1:9470 by
    default, docs/operations.md). With --once, exit code 1 when a destination could not be
    updated (the others were).

    Examples:

        casscade run --config casscade.yaml

        casscade run --config casscade.yaml --pretty --log-level debug

        casscade run --config casscade.yaml --once

        casscade run --config casscade.yaml --destination pg --http-port 9471
    """
    if log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError("--log-level", f"expected debug, info, warning or error, got {log_level}")
    configure_logging(json=not pretty, level=log_level)  # type: ignore[arg-type]
    config = load_config(config_path)
    if http_port is not None:
        config = config.model_copy(
            update={"http": config.http.model_copy(update={"port": http_port})}
        )
    run_elsewhere(config, destinations)  # names checked before connecting to anything
    if not config.source.cdc_raw_dir.is_dir():
        raise ConfigError("source.cdc_raw_dir", f"{config.source.cdc_raw_dir} is not a directory")
    token = resolve_token(config.http, os.environ)
    tracing = Tracing.from_config(config.tracing, node_id=config.source.node_id)
    telemetry = Telemetry.create(config.source.node_id, http=config.http, tracing=tracing)
    masking = masking_for(config, os.environ)
    cluster, session = cassandra_session(config)
    registry = SchemaRegistry(lambda: read_schema_rows(session))  # type: ignore[arg-type]
    agent = Agent(config, registry, telemetry=telemetry, masking=masking, only=destinations)
    tune_collector()
    server = None
    if config.http.enabled and not once:
        server = StatusServer(telemetry.board, telemetry.metrics.registry, config.http,
                              token=token).start()  # fmt: skip
        log.info("http_serving", url=server.url)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set())
    reloader = _MaskingReloader(config_path, config, agent)
    signal.signal(signal.SIGHUP, lambda _signum, _frame: reloader.requested.set())
    try:
        if once:
            _run_once(agent)
        else:
            agent.run(should_stop=stop.is_set, sleep=stop.wait, between_polls=reloader)
    finally:
        telemetry.stopped()
        if server is not None:
            server.close()
        agent.close()
        if masking.vault is not None:
            masking.vault.close()
        telemetry.close()
        cluster.shutdown()  # type: ignore[attr-defined]


def _run_once(agent: Agent) -> None:
    """One pass; exit code 1 when a destination could not be updated."""
    stats = agent.poll()
    console.print(
        f"applied {stats.mutations} mutations ({stats.events} events): "
        + ", ".join(f"{k} {v}" for k, v in sorted(stats.applied.items()))
        + f"; removed {stats.segments_removed} finished segments",
        markup=False,
    )
    problems = {**stats.unavailable, **agent.failed}
    for name, problem in sorted(problems.items()):
        # One line however long (no wrapping at the terminal width): it is the error.
        console.print(f"destination {name} not updated: {problem}", markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


class _MaskingReloader:
    """On SIGHUP (`requested`), read the file again and mask with its rules from then on
    (`Agent.reload_masking`). Only the masking rules are reloaded; a bad file keeps the old
    rules."""

    def __init__(self, path: Path, config: AgentConfig, agent: Agent) -> None:
        self.path, self.config, self.agent = path, config, agent
        self.requested = threading.Event()

    def __call__(self) -> None:
        if not self.requested.is_set():
            return
        self.requested.clear()
        try:
            fresh = load_config(self.path)
            self.agent.reload_masking(*masking_for(fresh, os.environ))
        except (CasscadeError, ValidationError) as exc:
            # The old rules stay in force; the problem in one line, no values.
            log.error("config_reload_failed", error=str(exc).splitlines()[0][:300])  # noqa: TRY400
            return
        if fresh.model_dump(exclude={"masking"}) != self.config.model_dump(exclude={"masking"}):
            log.warning("config_reload_partial",
                        note="only masking is reloaded: restart for other changes")  # fmt: skip


def verify(config_path: Path = ConfigOption) -> None:
    """Compare every replicated table in every destination with Cassandra's SELECT *.

    Exit code 1 when a table differs. Examples:

        casscade verify --config casscade.yaml
    """
    config = load_config(config_path)
    masker, vault = masking_for(config, os.environ)
    if vault is not None:
        vault.close()  # verify masks with deterministic tokens; it stores nothing
    cluster, session = cassandra_session(config)
    registry = SchemaRegistry(lambda: read_schema_rows(session))  # type: ignore[arg-type]
    reports: list[TableReport] = []
    compared = [d for d in config.destinations if d.mode != "changelog"]
    for destination in config.destinations:
        if destination.mode == "changelog":
            console.print(f"{destination.name}: changelog mode, holds changes: not compared",
                          markup=False)  # fmt: skip
    try:
        steps = sum(len(config.tables_for(d)) for d in compared)
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("comparing tables", total=steps)
            for destination in compared:
                for name in config.tables_for(destination):
                    keyspace, table = name.split(".", 1)
                    schema = registry.snapshot.by_name(keyspace, table)
                    if schema is None:
                        raise ConfigError("tables", f"{name} does not exist in Cassandra")
                    progress.update(task, description=f"{destination.name}: {name}")
                    reports.extend(verify_destination(session, destination, [schema], masker))  # type: ignore[arg-type]
                    progress.advance(task)
    finally:
        cluster.shutdown()  # type: ignore[attr-defined]
    _print_reports(reports)
    if not all(r.equal for r in reports):
        raise typer.Exit(1)


def _print_reports(reports: list[TableReport]) -> None:
    table = Table(title="casscade verify")
    for column in ("destination", "table", "cassandra rows", "rows", "missing", "extra",
                   "different", "result"):  # fmt: skip
        table.add_column(column)
    for r in reports:
        table.add_row(r.destination, r.table, str(r.source_rows), str(r.destination_rows),
                      str(r.missing), str(r.extra), str(r.different),
                      "equal" if r.equal else _differs(r))  # fmt: skip
    console.print(table)


def _differs(report: TableReport) -> str:
    text = "DIFFERS " + ", ".join(report.first_keys)
    if report.differing_columns:
        text += f" (columns {', '.join(report.differing_columns)})"
    return text


def check_config(
    config_path: Path = ConfigOption,
    connect: bool = typer.Option(
        False, "--connect", help="Also log into the Cassandra node and every destination."
    ),
) -> None:
    """Validate a configuration file and print every problem with its place in the file.

    Exit code 2 when there is a problem. With --connect, also connect to the Cassandra node
    and to each destination with the file's credentials and TLS settings, one line each;
    exit code 1 when one cannot be reached or refuses. Examples:

        casscade check-config --config casscade.yaml

        casscade check-config --config casscade.yaml --connect
    """
    config, problems = validate_config(config_path)
    if config is None:
        for problem in problems:
            err.print(f"error: {problem}", markup=False)
        raise typer.Exit(2)
    destinations = ", ".join(f"{d.name} ({d.type})" for d in config.destinations)
    console.print(
        f"{config_path}: valid: {len(config.tables)} tables, destinations {destinations}",
        markup=False,
        soft_wrap=True,
    )
    if connect and not _connections_work(config):
        raise typer.Exit(1)


def _connections_work(config: AgentConfig) -> bool:
    """Connect to the node and every destination; print one line for each."""
    works = True
    source = config.source.cassandra
    try:
        cluster, _ = cassandra_session(config)
        cluster.shutdown()  # type: ignore[attr-defined]
        console.print(f"cassandra at {source.host}:{source.port}: connected", markup=False)
    except CasscadeError as exc:  # refused, unreachable, or a TLS file that cannot be used
        err.print(f"error: {exc}", markup=False)
        works = False
    for destination in config.destinations:
        try:
            check_destination(destination)
            console.print(f"destination {destination.name}: connected", markup=False)
        except SinkError as exc:
            err.print(f"error: {exc}", markup=False)
            works = False
    return works
