"""Catch-up into several destinations at once, each in its own thread (as `casscade run`).

    .venv/bin/python benchmarks/together.py [--rows 20000] [--with-timescaledb]
        [--only postgres|clickhouse] [--max-events N]

Writes `--rows` changes into a 10-column CDC table of the local stack's Cassandra, then runs
the agent's threaded loop with PostgreSQL and ClickHouse (and TimescaleDB if asked) from empty
destinations until every one has applied every change, timed from when every destination was
reached (connections, tables and positions take `connect_seconds` before). Prints and writes to
benchmarks/results/together.json the time until each destination had everything and its
changes per second, and the CPU the agent's process (chDB's engine included), PostgreSQL and
Cassandra used meanwhile; issue #4's goal is 20,000 changes/s into PostgreSQL and ClickHouse
at once (benchmarks/processes.py runs each in a process of its own). `--only` runs one of the
two, `--max-events` sets `batch.max_events` (the configuration's default otherwise). What the
run made is dropped at the end. Not a test: nothing fails on timing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import threading
import time
import uuid
from pathlib import Path

# The same table, rows and start (where cdc_raw ended before the writes) as pipeline.py.
from pipeline import (
    KEYSPACE,
    drop_run,
    durable_end,
    stack_destinations,
    start_at,
    write_results,
    write_rows,
)

from casscade._native import is_compiled
from casscade.cli.stack import build_settings
from casscade.config.models import AgentConfig, BatchConfig
from casscade.engine.agent import Agent
from casscade.engine.runtime import tune_collector
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack

HERE = Path(__file__).resolve().parent
# Server processes whose CPU the catch-up is charged with: PostgreSQL, Cassandra (JVM).
_SERVERS = ("postgres", "java")


def _applied(agent: Agent) -> dict[str, float]:
    """Events applied so far per destination, from the status board (what /status shows):
    a tenth of a millisecond, where rendering every metric as Prometheus text took 2.7 ms of
    the interpreter lock the agent's threads compete for, 20 times a second."""
    return {d.name: d.applied_events for d in agent.telemetry.board.snapshot().destinations}


def _cpu_seconds_of(names: tuple[str, ...]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the processes of each command name."""
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys(names, 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name in out:
            fields = text[text.rindex(")") + 2 :].split()
            out[name] += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return out


def _destinations(stack: Stack, run: str, args: argparse.Namespace) -> list[dict[str, object]]:
    kinds = [args.only] if args.only else ["postgres", "clickhouse"]
    if args.with_timescaledb:
        kinds.append("timescaledb")
    return stack_destinations(stack, run, "t", kinds, by_kind=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--with-timescaledb", action="store_true")
    parser.add_argument(
        "--max-events", type=int, default=BatchConfig().max_events, help="batch.max_events"
    )
    parser.add_argument(
        "--only", choices=("postgres", "clickhouse"), help="one of the two, for comparison"
    )
    args = parser.parse_args()
    tune_collector()  # as `casscade run` does
    stack = Stack(build_settings(Path(".stack")))
    stack.up()
    run = uuid.uuid4().hex[:6]
    table = f"t_{run}"
    destinations = _destinations(stack, run, args)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        try:
            start = durable_end(stack.cassandra.layout.cdc_raw_dir)
            write_rows(session, table, args.rows)
            config = AgentConfig.model_validate(
                {"source": {"node_id": "bench", "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                            "cleanup": "keep", "poll_interval_ms": 20},
                 "tables": [f"{KEYSPACE}.{table}"], "destinations": destinations,
                 "batch": {"max_events": args.max_events}, "http": {"enabled": False}}
            )  # fmt: skip
            start_at(config, start)
            agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)))
            reaching = time.perf_counter()
            agent.reach()  # connections, tables, positions: timed apart
            connect_seconds = time.perf_counter() - reaching
            stop = threading.Event()
            arguments = {"should_stop": stop.is_set, "sleep": stop.wait}
            loop = threading.Thread(target=agent.run, kwargs=arguments)
            began = time.perf_counter()
            cpu_before = time.process_time(), _cpu_seconds_of(_SERVERS)
            done: dict[str, float] = {}
            loop.start()
            try:
                while len(done) < len(destinations) and time.perf_counter() - began < 600:
                    for name, count in _applied(agent).items():
                        if count >= args.rows and name not in done:
                            done[name] = time.perf_counter() - began
                    time.sleep(0.05)
            finally:
                wall = time.perf_counter() - began
                cpu_after = time.process_time(), _cpu_seconds_of(_SERVERS)
                stop.set()
                loop.join()
                agent.close()
        finally:
            drop_run(session, table, destinations)
    # Where the CPU went while catching up (the agent's process includes chDB's engine):
    # the machine's cores bound what all of it together can reach.
    cpu = {"agent": round(cpu_after[0] - cpu_before[0], 2)} | {
        name: round(cpu_after[1][name] - cpu_before[1][name], 2) for name in _SERVERS
    }
    figures = {
        "benchmark": "together",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "compiled": is_compiled(),  # casscade._native: the hot path built with mypyc
        "rows": args.rows,
        "connect_seconds": round(connect_seconds, 2),
        # How often a destination took what another had decoded, or mapped, already.
        "shared_decodes": agent.registry.shared_hits,
        "shared_mappings": agent.shared_mappings,
        "destinations": {
            name: {"seconds": round(s, 2), "events_per_s": round(args.rows / s)}
            for name, s in done.items()
        },
        "wall_seconds": round(wall, 2),
        "cpu_seconds": cpu,
        "cores": os.cpu_count(),
    }
    write_results("together", figures)


if __name__ == "__main__":
    main()
