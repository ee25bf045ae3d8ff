"""`casscade demo`: start the local stack, write a CDC workload, decode what reaches cdc_raw.

The demo shows the real data path as far as it is built: the node's segments and indexes in
`cdc_raw` while the workload runs, then every change of the workload decoded from those
segments by casscade's own decoder, turned into change events and checked against what was
written (one event per write). Replication into
the destinations comes with the engine (issue #4); the demo says so in its output.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import psycopg
import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from casscade.cli.stack import DirOption, build_settings
from casscade.commitlog.errors import DecodeError
from casscade.commitlog.mutation import Mutation
from casscade.commitlog.render import to_json_value
from casscade.commitlog.schema import SchemaSnapshot, build_snapshot
from casscade.config.models import AgentConfig, ClickHouseDestination
from casscade.demo.workload import KEYSPACE, SCHEMA, TABLES, generate
from casscade.engine.agent import Agent, sink_for
from casscade.engine.runtime import tune_collector
from casscade.engine.verify import verify_destination
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.source.cdc_raw import CdcSegment, read_descriptor, scan_cdc_raw
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.segments import read_segment, sources_in
from casscade.stack.config import CassandraSettings
from casscade.stack.manager import Stack

console = Console(highlight=False)
# How many decoded changes the demo prints at the end.
SHOWN_CHANGES = 8
DEMO_NODE = "demo-node"


def demo(
    root: Path = DirOption,
    events: int = typer.Option(3000, min=1, help="How many changes to write."),
    rate: int = typer.Option(500, min=1, help="Changes per second to aim for."),
) -> None:
    """Run the demo job: stack up, a stream of inserts/updates/deletes, decoded changes.

    Examples:

        casscade demo

        casscade demo --events 20000 --rate 2000
    """
    settings = build_settings(
        root,
        # Periodic sync with a short period: what a production node looks like, and the
        # _cdc.idx visibly advancing a few times a second.
        cassandra=CassandraSettings(commitlog_sync="periodic", commitlog_sync_period_ms=200),
    )
    stack = Stack(settings)
    console.rule("1. local stack")
    stack.up(progress=lambda message: console.print(f"  {message}", markup=False))
    console.print(f"  ClickHouse (chDB) engine {stack.clickhouse.server_version()}")
    console.print(f"  TimescaleDB extension {stack.timescaledb.extension_version()}")
    console.rule("2. CDC workload into Cassandra")
    base_ts = _now_us()
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        _start_clean(stack, session)
        for ddl in SCHEMA:
            session.execute(ddl)
        _write(session, stack.cassandra.layout.cdc_raw_dir, events, rate, base_ts)
        snapshot = build_snapshot(read_schema_rows(session))
        console.rule("3. change events decoded from cdc_raw by casscade")
        _show_decoded(stack.cassandra.layout.cdc_raw_dir, snapshot, (base_ts, base_ts + events))
        console.rule("4. replicated into PostgreSQL, TimescaleDB, ClickHouse; checked")
        equal = _replicate(stack, session)
    console.print(
        "  Next: collections and static columns in the destinations (issue #4), masking (#5).",
        markup=False,
    )
    console.print(f"  Stop the stack with: casscade stack down --dir {root}", markup=False)
    if not equal:
        raise typer.Exit(1)


def _demo_config(stack: Stack) -> AgentConfig:
    """The agent's configuration for the demo: the stack's three destinations."""
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    return AgentConfig.model_validate(
        {
            "source": {"node_id": DEMO_NODE, "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                       "cleanup": "delete"},
            "tables": [f"{KEYSPACE}.{name}" for name in TABLES],
            "destinations": [
                {"type": "postgres", "name": "demo-postgres", "host": pg.host, "port": pg.port,
                 "database": pg.database, "user": pg.user, "password": pg.password},
                {"type": "timescaledb", "name": "demo-timescaledb", "host": ts.host,
                 "port": ts.port, "database": ts.database, "user": ts.user,
                 "hypertables": {f"{KEYSPACE}.readings": "ts"},
                 "prepared_statements": False},
                {"type": "clickhouse", "name": "demo-clickhouse",
                 "dsn": stack.settings.clickhouse_dsn()},
            ],
        }
    )  # fmt: skip


def _start_clean(stack: Stack, session: _Session) -> None:
    """Drop what an earlier demo left, so that every row comes through CDC in this run."""
    session.execute(f"DROP KEYSPACE IF EXISTS {KEYSPACE}")
    for destination in _demo_config(stack).destinations:
        if isinstance(destination, ClickHouseDestination):
            import clickhouse_connect  # noqa: PLC0415 - loads the embedded engine

            client = clickhouse_connect.get_client(dsn=destination.dsn)
            client.command(f"DROP DATABASE IF EXISTS {KEYSPACE}")
            client.close()
        else:
            prepare = 5 if destination.prepared_statements else None
            with psycopg.connect(destination.conninfo(), prepare_threshold=prepare) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {KEYSPACE} CASCADE")
        sink = sink_for(destination)
        try:
            sink.forget_position(DEMO_NODE)
        finally:
            sink.close()


def _replicate(stack: Stack, session: Any) -> bool:  # noqa: ANN401 - a driver Session, untyped
    """Run the agent once over cdc_raw into every destination, then verify every table."""
    config = _demo_config(stack)
    registry = SchemaRegistry(lambda: read_schema_rows(session))
    agent = Agent(config, registry)
    tune_collector()
    began = time.monotonic()
    try:
        stats = agent.poll()
    finally:
        agent.close()
    console.print(
        f"  applied in {time.monotonic() - began:.2f} s: "
        + ", ".join(f"{count} change events to {name}" for name, count in stats.applied.items())
        + f"; removed {stats.segments_removed} finished segments from cdc_raw",
        markup=False,
    )
    table = Table(title="casscade verify: each destination against Cassandra's SELECT *")
    for column in ("destination", "table", "cassandra rows", "rows", "result"):
        table.add_column(column)
    schemas = [s for s in (registry.snapshot.by_name(KEYSPACE, n) for n in TABLES) if s]
    equal = True
    for destination in config.destinations:
        for report in verify_destination(session, destination, schemas):
            equal = equal and report.equal
            result = "equal" if report.equal else "DIFFERS " + ", ".join(report.first_keys)
            table.add_row(destination.name, report.table.split(".")[1], str(report.source_rows),
                          str(report.destination_rows), result)  # fmt: skip
    console.print(table)
    return equal


class _Session(Protocol):
    def execute(self, query: str, parameters: tuple[object, ...] = ...) -> object: ...


def _write(session: _Session, cdc_raw: Path, events: int, rate: int, base_ts: int) -> None:
    written: Counter[str] = Counter()
    interval = 1.0 / rate
    began = time.monotonic()
    with Live(_view(cdc_raw, written, 0.0), console=console, refresh_per_second=4) as live:
        for n, statement in enumerate(generate(events, base_timestamp_us=base_ts)):
            session.execute(statement.cql, statement.params)
            written[f"{statement.table} {statement.op.value}"] += 1
            _pace(began, n + 1, interval)
            if n % 50 == 0:
                live.update(_view(cdc_raw, written, time.monotonic() - began))
        time.sleep(0.6)  # a few periodic syncs, so the idx covers the last writes
        live.update(_view(cdc_raw, written, time.monotonic() - began))


def _show_decoded(cdc_raw: Path, snapshot: SchemaSnapshot, window: tuple[int, int]) -> None:
    """Decode every segment into change events; keep the workload's (by write time)."""
    kinds: Counter[str] = Counter()
    recent: list[tuple[str, str, str]] = []
    began = time.monotonic()
    for source in sources_in(cdc_raw):
        for record in read_segment(source, snapshot):
            if not isinstance(record, Mutation) or record.keyspace != KEYSPACE:
                continue
            for event in mutation_to_events(record):
                if not window[0] <= event.timestamp_us < window[1]:
                    continue
                kinds[f"{event.table} {event.op.value}"] += 1
                recent.append((str(event.position), f"{event.table} {event.op.value}",
                               _summary(event)))  # fmt: skip
    seconds = time.monotonic() - began
    total = sum(kinds.values())
    console.print(
        f"  decoded {total} change events for the {window[1] - window[0]} writes in "
        f"{seconds:.2f} s: " + ", ".join(f"{key} {value}" for key, value in sorted(kinds.items())),
        markup=False,
    )
    table = Table(title=f"the last {SHOWN_CHANGES} change events")
    for column in ("position", "event", "key, columns, write time (µs)"):
        table.add_column(column)
    for row in recent[-SHOWN_CHANGES:]:
        table.add_row(*row)
    console.print(table)
    if total != window[1] - window[0]:
        console.print(f"  MISMATCH: {window[1] - window[0] - total} writes have no event")
        raise typer.Exit(1)


def _summary(event: ChangeEvent) -> str:
    parts = [f"key={json.dumps(to_json_value(event.partition_key + event.clustering))}"]
    for cell in event.cells:
        parts.append(f"{cell.column}={json.dumps(to_json_value(cell.value))}")
    parts.append(f"@{event.timestamp_us}")
    return " ".join(parts)[:110]


def _now_us() -> int:
    return time.time_ns() // 1000


def _pace(began: float, done: int, interval: float) -> None:
    ahead = began + done * interval - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)


def _view(cdc_raw: Path, written: Counter[str], elapsed_s: float) -> Table:
    total = sum(written.values())
    rate = total / elapsed_s if elapsed_s > 0 else 0.0
    table = Table(
        title=f"cdc_raw: {cdc_raw}",
        caption=f"written {total} changes ({rate:.0f}/s): "
        + ", ".join(f"{key} {value}" for key, value in sorted(written.items())),
    )
    for column in ("segment id", "version", "compression", "durable offset", "state", "links"):
        table.add_column(column)
    for segment in scan_cdc_raw(cdc_raw):
        table.add_row(*_row(segment))
    return table


def _row(segment: CdcSegment) -> tuple[str, str, str, str, str, str]:
    try:
        descriptor = read_descriptor(segment)
        version, compression = str(int(descriptor.version)), descriptor.compression_class or "-"
    except DecodeError as exc:
        version, compression = "?", f"unreadable: {exc.problem}"
    if segment.index is None:
        offset, state = "-", "no CDC data synced yet"
    else:
        offset = f"{segment.index.durable_offset:,}"
        state = "COMPLETED" if segment.index.completed else "live"
    return (str(segment.segment_id), version, compression, offset, state, str(segment.link_count))
