"""The catch-up of together.py with each destination in an agent process of its own.

    .venv/bin/python benchmarks/processes.py [--rows 20000] [--max-events 2000]

`casscade run` runs every destination in a thread of one process, where their Python work
takes turns on one interpreter lock; `casscade run --destination NAME` runs only some, so that
each process has its own (docs/operations.md, "One process per destination"). Here each
destination gets such an agent (the whole configuration, `only` its destination) in a spawned
process: decoding and mapping are then done once per process instead of shared. All read the
same `--rows` changes from the same start and are released at once after every one has
reached its destination. Prints and writes to benchmarks/results/processes.json the time
until each destination had everything, its changes per second, and the CPU each process and
the servers used meanwhile. Not a test: nothing fails on timing.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import platform
import threading
import time
import uuid
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from pipeline import (
    KEYSPACE,
    drop_run,
    durable_end,
    stack_destinations,
    start_at,
    write_results,
    write_rows,
)
from together import _SERVERS, _applied, _cpu_seconds_of

from casscade._native import is_compiled
from casscade.cli.stack import build_settings
from casscade.config.models import AgentConfig, BatchConfig
from casscade.engine.agent import Agent
from casscade.engine.runtime import tune_collector
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack

HERE = Path(__file__).resolve().parent


def _config(
    stack: Stack, table: str, destinations: list[dict[str, object]], max_events: int
) -> AgentConfig:
    return AgentConfig.model_validate(
        {"source": {"node_id": "bench", "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                    "cleanup": "keep", "poll_interval_ms": 20,
                    # the destinations' locks (cleanup: keep shares no progress)
                    "state_dir": HERE / "results" / ".state"},
         "tables": [f"{KEYSPACE}.{table}"], "destinations": destinations,
         "batch": {"max_events": max_events}, "http": {"enabled": False}}
    )  # fmt: skip


def _worker(  # noqa: PLR0917 - one process's inputs
    table: str,
    destinations: list[dict[str, object]],
    name: str,
    rows: int,
    max_events: int,
    ready: Queue[str],
    go: Event,
    results: Queue[dict[str, Any]],
    finish: Event,
) -> None:
    """One destination's agent: reach it, wait for `go`, catch up, report, wait for
    `finish` (the servers' CPU is read before its connections close)."""
    tune_collector()
    stack = Stack(build_settings(Path(".stack")))
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        config = _config(stack, table, destinations, max_events)
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        agent = Agent(config, registry, only=[name])
        agent.reach()
        ready.put(name)
        go.wait()
        began, cpu = time.perf_counter(), time.process_time()
        stop = threading.Event()
        loop = threading.Thread(
            target=agent.run, kwargs={"should_stop": stop.is_set, "sleep": stop.wait}
        )
        loop.start()
        seconds = None
        try:
            while time.perf_counter() - began < 600:
                if sum(_applied(agent).values()) >= rows:
                    seconds = time.perf_counter() - began
                    break
                time.sleep(0.05)
        finally:
            used = time.process_time() - cpu
            stop.set()
            loop.join()
            results.put({"name": name, "seconds": seconds, "cpu_seconds": used})
            finish.wait(timeout=60)
            agent.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument(
        "--max-events", type=int, default=BatchConfig().max_events, help="batch.max_events"
    )
    args = parser.parse_args()
    stack = Stack(build_settings(Path(".stack")))
    stack.up()
    run = uuid.uuid4().hex[:6]
    table = f"t_{run}"
    destinations = stack_destinations(stack, run, "p", ["postgres", "clickhouse"], by_kind=True)
    spawn = multiprocessing.get_context("spawn")
    ready: Queue[str] = spawn.Queue()
    results: Queue[dict[str, Any]] = spawn.Queue()
    go, finish = spawn.Event(), spawn.Event()
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        workers = []
        try:
            start = durable_end(stack.cassandra.layout.cdc_raw_dir)
            write_rows(session, table, args.rows)
            start_at(_config(stack, table, destinations, args.max_events), start)
            for destination in destinations:
                worker = spawn.Process(
                    target=_worker,
                    args=(table, destinations, destination["name"], args.rows,
                          args.max_events, ready, go, results, finish),
                )  # fmt: skip
                worker.start()
                workers.append(worker)
            for _ in destinations:
                ready.get(timeout=300)
            servers = _cpu_seconds_of(_SERVERS)
            began = time.perf_counter()
            go.set()
            done = [results.get(timeout=660) for _ in destinations]
            wall = time.perf_counter() - began
            servers_after = _cpu_seconds_of(_SERVERS)
            finish.set()
            for worker in workers:
                worker.join()
        finally:
            for worker in workers:
                if worker.is_alive():
                    worker.kill()
            drop_run(session, table, destinations)
    figures = {
        "benchmark": "processes",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "compiled": is_compiled(),
        "rows": args.rows,
        "destinations": {
            str(d["name"]): {
                "seconds": None if d["seconds"] is None else round(d["seconds"], 2),
                "events_per_s": None if d["seconds"] is None else round(args.rows / d["seconds"]),
                "cpu_seconds": round(d["cpu_seconds"], 2),
            }
            for d in done
        },
        "wall_seconds": round(wall, 2),
        "server_cpu_seconds": {
            name: round(servers_after[name] - servers[name], 2) for name in _SERVERS
        },
        "cores": os.cpu_count(),
    }
    write_results("processes", figures)


if __name__ == "__main__":
    main()
