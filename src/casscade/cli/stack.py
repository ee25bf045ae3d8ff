"""`casscade stack up|down|status`: the local development stack, without Docker.

Starts a real Cassandra 5.0 node with CDC on (Maven jars, OpenJDK 17), the project's own
PostgreSQL cluster, TimescaleDB (PGlite + TimescaleDB over our wire front end) and an
embedded ClickHouse (chDB folder). See docs/stack.md.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from casscade.errors import ConfigError
from casscade.stack.config import (
    CassandraSettings,
    PostgresSettings,
    StackSettings,
    TimescaleSettings,
)
from casscade.stack.manager import ServiceStatus, Stack

app = typer.Typer(help="Run the local stack: Cassandra, PostgreSQL, TimescaleDB, ClickHouse.")
console = Console(highlight=False)

ALL_SERVICES = ("cassandra", "postgres", "timescaledb", "clickhouse")

DirOption = typer.Option(
    Path(".stack"), "--dir", envvar="CASSCADE_STACK_DIR", help="Folder of the stack's data."
)


def default_cache_dir() -> Path:
    """Where downloads shared between checkouts go (Cassandra's jars)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "casscade"


def build_settings(
    root: Path,
    *,
    only: str = ",".join(ALL_SERVICES),
    cassandra: CassandraSettings | None = None,
    postgres: PostgresSettings | None = None,
    timescaledb: TimescaleSettings | None = None,
    cache_dir: Path | None = None,
) -> StackSettings:
    """Assemble StackSettings from CLI values; unknown service names are a ConfigError."""
    services = tuple(name.strip() for name in only.split(",") if name.strip())
    unknown = sorted(set(services) - set(ALL_SERVICES))
    if unknown:
        raise ConfigError("--only", f"unknown service(s) {', '.join(unknown)}")
    return StackSettings.model_validate(
        {
            "root": root.resolve(),
            "cache_dir": (cache_dir or default_cache_dir()).resolve(),
            "services": services,
            "cassandra": cassandra or CassandraSettings(),
            "postgres": postgres or PostgresSettings(),
            "timescaledb": timescaledb or TimescaleSettings(),
        }
    )


@app.command()
def up(
    root: Path = DirOption,
    only: str = typer.Option(",".join(ALL_SERVICES), help="Comma-separated services to start."),
    commitlog_sync: str = typer.Option(
        "batch", help="Cassandra commitlog_sync: batch (tests), periodic (demo) or group."
    ),
    sync_period_ms: int = typer.Option(250, help="commitlog_sync_period for periodic mode."),
    compat: str = typer.Option(
        "CASSANDRA_4",
        help="storage_compatibility_mode: CASSANDRA_4 writes commit-log v7, NONE writes v8. "
        "Changing it wipes Cassandra's data.",
    ),
    auth: str = typer.Option("none", help="Cassandra authentication: none or password."),
    compression: str = typer.Option(
        "none",
        help="Commit-log compression: none, LZ4Compressor, SnappyCompressor, "
        "DeflateCompressor or ZstdCompressor.",
    ),
    segment_size_mib: int = typer.Option(1, help="commitlog_segment_size in MiB."),
    cdc_total_space_mib: int = typer.Option(1024, help="cdc_total_space in MiB."),
    heap_mib: int = typer.Option(1024, help="Cassandra JVM heap in MiB."),
    cassandra_port: int = typer.Option(9042, help="Cassandra native (CQL) port."),
    postgres_port: int = typer.Option(55432, help="PostgreSQL port."),
    timescaledb_port: int = typer.Option(55433, help="TimescaleDB (PGlite) port."),
) -> None:
    """Start the stack (idempotent: running services with the same settings are kept).

    Examples:

        casscade stack up

        casscade stack up --commitlog-sync periodic --sync-period-ms 200

        casscade stack up --only cassandra --compat NONE --auth password
    """
    settings = build_settings(
        root,
        only=only,
        cassandra=CassandraSettings.model_validate(
            {
                "commitlog_sync": commitlog_sync,
                "commitlog_sync_period_ms": sync_period_ms,
                "storage_compatibility_mode": compat,
                "auth": auth,
                "commitlog_compression": compression,
                "commitlog_segment_size_mib": segment_size_mib,
                "cdc_total_space_mib": cdc_total_space_mib,
                "heap_mib": heap_mib,
                "native_port": cassandra_port,
            }
        ),
        postgres=PostgresSettings(port=postgres_port),
        timescaledb=TimescaleSettings(port=timescaledb_port),
    )
    Stack(settings).up(progress=lambda message: console.print(message, markup=False))
    _print_status(Stack(settings))


@app.command()
def down(
    root: Path = DirOption,
    purge: bool = typer.Option(False, help="Also delete every service's data."),
) -> None:
    """Stop the stack's services (Cassandra with SIGTERM, so its last segment is COMPLETED).

    Examples:

        casscade stack down

        casscade stack down --purge
    """
    stack = Stack.load(root.resolve())
    if stack is None:
        console.print(f"no stack in {root}")
        return
    stopped = stack.down()
    console.print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    if purge:
        stack.purge()
        console.print(f"deleted {root}")


@app.command()
def status(
    root: Path = DirOption,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show each service, whether it answers, and where. Exit 1 if one is not ready.

    Examples:

        casscade stack status

        casscade stack status --json
    """
    stack = Stack.load(root.resolve())
    if stack is None:
        console.print(f"no stack in {root}; start one with: casscade stack up")
        raise typer.Exit(1)
    statuses = _print_status(stack, as_json=as_json)
    if not all(item.ready for item in statuses):
        raise typer.Exit(1)


def _print_status(stack: Stack, *, as_json: bool = False) -> list[ServiceStatus]:
    statuses = stack.status()
    if as_json:
        print(json.dumps([dataclasses.asdict(item) for item in statuses], indent=2))
        return statuses
    table = Table(title=f"casscade stack in {stack.settings.root}")
    for column in ("service", "ready", "endpoint", "detail"):
        table.add_column(column)
    for item in statuses:
        table.add_row(item.service, "yes" if item.ready else "NO", item.endpoint, item.detail)
    console.print(table)
    return statuses
