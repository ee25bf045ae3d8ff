"""Replication throughput per destination, from the local stack's real Cassandra.

    .venv/bin/python benchmarks/pipeline.py [--rows 20000]

Starts (or reuses) the local stack, writes `--rows` changes into a 10-column CDC table
(prepared statements, 64 in flight), then lets the agent catch up once per destination,
alone, from an empty destination: PostgreSQL, TimescaleDB (the stack's PGlite, WebAssembly)
and ClickHouse (chDB). Each destination starts where cdc_raw ended before the writes
(`durable_end`, `start_at`), so what earlier runs and tests left in the stack's cdc_raw is
not read and runs compare. Prints and writes to benchmarks/results/pipeline.json: changes per
second per destination (read cdc_raw, decode, map, apply, commit), the Cassandra write rate,
and peak memory. Not a test: nothing fails on timing. What masking adds to these catch-ups
(five of the ten columns masked) is benchmarks/masking.py's, over the same functions.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import resource
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from casscade._native import is_compiled
from casscade.cli.stack import build_settings
from casscade.commitlog.position import Position
from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent, sink_for
from casscade.engine.runtime import tune_collector
from casscade.sinks.clickhouse.client import open_client
from casscade.source.cdc_raw import scan_cdc_raw
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack

HERE = Path(__file__).resolve().parent
KEYSPACE = "bench_pipeline"


def write_rows(session: Any, table: str, rows: int) -> float:  # noqa: ANN401 - driver session
    from cassandra.concurrent import execute_concurrent_with_args  # noqa: PLC0415

    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(
        f"CREATE TABLE {KEYSPACE}.{table} (id int, seq int, a text, b bigint, c double, "
        "d boolean, e uuid, f timestamp, g int, h text, PRIMARY KEY (id, seq)) WITH cdc = true"
    )
    insert = session.prepare(  # the table name is ours
        f"INSERT INTO {KEYSPACE}.{table} (id, seq, a, b, c, d, e, f, g, h) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    params = [
        (n % 500, n, f"name-{n}", n * 7, n / 3, n % 2 == 0, uuid.UUID(int=n + 1),
         base + datetime.timedelta(seconds=n), n % 97, "x" * 20)
        for n in range(rows)
    ]  # fmt: skip
    began = time.perf_counter()
    execute_concurrent_with_args(session, insert, params, concurrency=64)
    return rows / (time.perf_counter() - began)


def write_results(name: str, figures: dict[str, Any]) -> None:
    """Print the figures and write them to benchmarks/results/<name>.json."""
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"{name}.json").write_text(json.dumps(figures, indent=2), "utf-8")
    print(json.dumps(figures, indent=2))


def durable_end(cdc_raw: Path) -> Position | None:
    """Where cdc_raw's durable data ends now (the newest segment with an index)."""
    ends = [
        Position(s.segment_id, s.index.durable_offset)
        for s in scan_cdc_raw(cdc_raw)
        if s.index is not None
    ]
    return ends[-1] if ends else None


def start_at(config: AgentConfig, position: Position | None) -> None:
    """Record `position` as every destination's own, so that a catch-up reads only what was
    written after it (nothing when None)."""
    if position is None:
        return
    for destination in config.destinations:
        sink = sink_for(destination)
        try:
            sink.apply([], node_id=config.source.node_id, position=position)
        finally:
            sink.close()


def drop_run(
    session: Any,  # noqa: ANN401 - a cassandra-driver session (untyped)
    table: str,
    destinations: list[dict[str, object]],
    node_id: str = "bench",
    keyspace: str = KEYSPACE,
) -> None:
    """Drop what a run made: its Cassandra table, its destinations' schemas or databases
    (named with the run's prefix) and their positions.

    Runs left behind pile up: a chDB holding 800 tables of earlier runs spent 10% of a core
    on them idle, and 20% during a catch-up, in the agent's own process (ClickHouse's
    background scheduling, per table), which took a quarter off `together.py`'s figures.
    """
    session.execute(f"DROP TABLE IF EXISTS {keyspace}.{table}")
    for destination in destinations:
        name = str(destination["name"])
        if destination["type"] == "clickhouse":
            client = open_client(str(destination["dsn"]))
            try:
                prefix = {"prefix": destination["database_prefix"]}
                for (database,) in client.query(
                    "SELECT name FROM system.databases WHERE startsWith(name, {prefix:String})",
                    parameters=prefix,
                ).result_rows:
                    client.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
                client.command(
                    "DELETE FROM casscade.positions WHERE destination = {d:String} "
                    "AND node_id = {n:String}",
                    parameters={"d": name, "n": node_id},
                )
            finally:
                client.close()
            continue
        password = destination.get("password")
        with psycopg.connect(
            host=str(destination["host"]), port=int(str(destination["port"])),
            dbname=str(destination["database"]), user=str(destination["user"]),
            password=None if password is None else str(password), autocommit=True,
            prepare_threshold=None,
        ) as conn:  # fmt: skip
            schemas = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                (destination["schema_prefix"],),
            ).fetchall()
            for (schema,) in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            conn.execute(
                "DELETE FROM casscade.positions WHERE destination = %s AND node_id = %s",
                (name, node_id),
            )


KINDS = ("postgres", "timescaledb", "clickhouse")


def stack_destinations(
    stack: Stack, run: str, tag: str, kinds: Sequence[str] = KINDS, *, by_kind: bool = False
) -> list[dict[str, object]]:
    """The local stack's destinations of these kinds (in the order of KINDS), each named
    `<tag>-<kind>-<run>` (with `by_kind`: just `<kind>`, what together.py and processes.py
    report by), its schemas or databases named `<tag><run>_...` (what `drop_run` drops)."""
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    prefix = f"{tag}{run}_"
    every: list[dict[str, object]] = [
        {"type": "postgres", "host": pg.host, "port": pg.port, "database": pg.database,
         "user": pg.user, "password": pg.password, "schema_prefix": prefix},
        {"type": "timescaledb", "host": ts.host, "port": ts.port, "database": ts.database,
         "user": ts.user, "schema_prefix": prefix, "prepared_statements": False},
        {"type": "clickhouse", "dsn": stack.settings.clickhouse_dsn(), "database_prefix": prefix},
    ]  # fmt: skip
    return [{**d, "name": d["type"] if by_kind else f"{tag}-{d['type']}-{run}"}
            for d in every if d["type"] in kinds]  # fmt: skip


def _catch_up(
    stack: Stack,
    session: Any,  # noqa: ANN401 - a cassandra-driver session (untyped)
    table: str,
    destination: dict[str, object],
    start: Position | None,
) -> dict[str, float]:
    config = AgentConfig.model_validate(
        {"source": {"node_id": "bench", "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                    "cleanup": "keep"},
         "tables": [f"{KEYSPACE}.{table}"], "destinations": [destination],
         "batch": {"max_events": 2000}}
    )  # fmt: skip
    start_at(config, start)
    return timed_catch_up(Agent(config, SchemaRegistry(lambda: read_schema_rows(session))))


def timed_catch_up(agent: Agent) -> dict[str, float]:
    """Reach the destinations (connections, tables, positions: `connect_seconds`), then poll
    until a pass reads nothing (closing the agent after): the events applied, the seconds
    that took and their rate; exits the benchmark when a destination fails."""
    began = time.perf_counter()
    agent.reach()
    connected = time.perf_counter()
    applied = 0
    try:
        while True:
            stats = agent.poll()
            applied += sum(stats.applied.values())
            if stats.unavailable or agent.failed:
                raise SystemExit(f"{stats.unavailable or agent.failed}")
            if stats.mutations == 0:
                break
    finally:
        agent.close()
    seconds = time.perf_counter() - connected
    return {
        "events": applied,
        "connect_seconds": round(connected - began, 2),
        "seconds": round(seconds, 2),
        "events_per_s": round(applied / seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    args = parser.parse_args()
    tune_collector()  # as `casscade run` does
    stack = Stack(build_settings(Path(".stack")))
    stack.up()
    run = uuid.uuid4().hex[:6]
    table = f"t_{run}"
    figures: dict[str, Any] = {
        "benchmark": "pipeline",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "compiled": is_compiled(),  # casscade._native: the hot path built with mypyc
        "rows": args.rows,
    }
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        start = durable_end(stack.cassandra.layout.cdc_raw_dir)
        destinations = stack_destinations(stack, run, "b")
        try:
            figures["cassandra_writes_per_s"] = round(write_rows(session, table, args.rows))
            for destination in destinations:
                result = _catch_up(stack, session, table, destination, start)
                figures[str(destination["type"])] = result
                print(f"{destination['type']:>12}: {result}", flush=True)
        finally:
            drop_run(session, table, destinations)
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    write_results("pipeline", figures)


if __name__ == "__main__":
    main()
