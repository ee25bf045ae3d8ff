"""End-to-end latency at a steady write rate: source write acknowledged -> row visible.

    .venv/bin/python benchmarks/latency.py [--rate 2000] [--seconds 30] [--runs 3]
    .venv/bin/python benchmarks/latency.py --own-node --sync periodic --sync-period-ms 1000

By default uses the local stack (its Cassandra with the stack's commit-log sync, its
PostgreSQL, TimescaleDB in PGlite, and chDB); with --own-node it starts a Cassandra node of its
own (ports 9542/7600/7799, benchmarks/data/latency-node) with the given commit-log sync, and
stops it at the end. Each run:

* creates a 10-column CDC table and three empty destinations (PostgreSQL, TimescaleDB,
  ClickHouse), lets the agent read what cdc_raw already holds, then runs the agent
  continuously in this process (`Agent.run` in a thread, which gives every destination its
  own thread, polling at `--poll-interval-ms` when idle); with `--processes`, each
  destination's agent runs in a process of its own instead, as `casscade run --destination`
  runs it (docs/operations.md, "One process per destination");
* a writer in another process (so that it does not compete with the agent for this
  process's interpreter lock) inserts one new row per write at a steady `--rate`, paced in
  2 ms ticks, asynchronously (at most 512 in flight), and notes when each write was sent and
  when Cassandra acknowledged it (CLOCK_MONOTONIC, shared by both processes);
* a row is visible in a destination once the destination has acknowledged the commit of the
  batch holding it: the agent's sinks are wrapped so that each `apply` notes when it returned
  (a reader querying from then on sees the row). Measured this way rather than by polling
  the destinations, which would load the two cores the measurement shares.

Latency = visible - acknowledged, per row and destination, after `--warmup-s` seconds of
writes; p50/p95/p99/max (and the median of each 5 s of writes, to show whether the agent keeps
up) are printed and written with the commit-log sync settings to
benchmarks/results/latency.json (-<sync>, -<rate> and -<destinations> are added to the name
when not the defaults). Not a test: nothing fails on timing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import statistics
import threading
import time
import uuid
from collections.abc import Sequence
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any, cast

from pipeline import drop_run, stack_destinations

import casscade.engine.agent as agent_module
from casscade._native import is_compiled
from casscade.cli.stack import build_settings
from casscade.commitlog.position import Position
from casscade.config.models import AgentConfig, BatchConfig, Destination
from casscade.engine.agent import Agent
from casscade.engine.runtime import tune_collector
from casscade.events.model import ChangeEvent
from casscade.sinks.base import Sink
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.cassandra import CassandraNode
from casscade.stack.config import CassandraSettings
from casscade.stack.manager import Stack

HERE = Path(__file__).resolve().parent
KEYSPACE = "bench_latency"
MAX_IN_FLIGHT = 512
# How long the destinations may take to show the last write after the writer stops.
DRAIN_S = 300.0
PERCENTILES = (50, 95, 99)
DEFAULT_RATE = 2000
ALL_DESTINATIONS = "postgres,timescaledb,clickhouse"


def _create_table(session: Any, table: str) -> None:  # noqa: ANN401 - driver session
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(
        f"CREATE TABLE {KEYSPACE}.{table} (id int, seq int, a text, b bigint, c double, "
        "d boolean, e uuid, f timestamp, g int, h text, PRIMARY KEY (id, seq)) WITH cdc = true"
    )


def _write(node: CassandraNode, table: str, rate: int, seconds: float, out: Path) -> None:
    """The writer process: `rate` inserts a second for `seconds`; send and ack times to `out`."""
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    total = int(rate * seconds)
    sent = [0.0] * total
    acked = [0.0] * total
    errors: list[str] = []
    slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
    finished = threading.Event()
    remaining = [total]
    lock = threading.Lock()

    def settle(seq: int, error: object = None) -> None:
        acked[seq] = time.monotonic()
        if error is not None:
            errors.append(str(error)[:200])
        slots.release()
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                finished.set()

    with node.cluster() as cluster:
        session = cluster.connect()
        insert = session.prepare(  # the table name is ours
            f"INSERT INTO {KEYSPACE}.{table} (id, seq, a, b, c, d, e, f, g, h) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        began = time.monotonic()
        late = 0.0
        for seq in range(total):
            due = began + seq / rate
            now = time.monotonic()
            if due > now:
                time.sleep(min(due - now, 0.002))
                while time.monotonic() < due:
                    time.sleep(0.0005)
            else:
                late = max(late, now - due)
            slots.acquire()
            sent[seq] = time.monotonic()
            future = session.execute_async(insert, (
                seq % 500, seq, f"name-{seq}", seq * 7, seq / 3, seq % 2 == 0,
                uuid.UUID(int=seq + 1), base + datetime.timedelta(seconds=seq), seq % 97,
                "x" * 20,
            ))  # fmt: skip
            future.add_callbacks(
                lambda _rows, seq=seq: settle(seq),
                lambda exc, seq=seq: settle(seq, exc),
            )
        finished.wait(timeout=120)
    out.write_text(
        json.dumps({"sent": sent, "acked": acked, "errors": errors, "behind_s": late}),
        encoding="utf-8",
    )


class _TimedSink:
    """A sink that notes, per written `seq`, when the batch holding it was committed."""

    def __init__(self, sink: Sink, table: str, seen: dict[int, float]) -> None:
        self._sink = sink
        self._table = table
        self._seen = seen

    def apply(
        self, events: Sequence[ChangeEvent], *, node_id: str, position: Position | None
    ) -> None:
        self._sink.apply(events, node_id=node_id, position=position)
        now = time.monotonic()
        seen = self._seen
        for event in events:
            if event.table == self._table and event.clustering:
                seen.setdefault(cast("int", event.clustering[0]), now)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - everything else is the sink's
        return getattr(self._sink, name)


def _summary(values: list[float]) -> dict[str, float]:
    """Percentiles and extremes of latencies in seconds, as milliseconds."""
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    out = {f"p{p}_ms": round(cuts[p - 1] * 1000, 1) for p in PERCENTILES}
    out["max_ms"] = round(ordered[-1] * 1000, 1)
    out["mean_ms"] = round(statistics.fmean(ordered) * 1000, 1)
    return out


def _wait_until_visible(seen: dict[str, dict[int, float]], total: int, agent: Agent) -> None:
    deadline = time.monotonic() + DRAIN_S
    while any(len(rows) < total for rows in seen.values()):
        if agent.failed:
            raise SystemExit(f"a destination failed: {agent.failed}")
        if time.monotonic() > deadline:
            counts = {name: len(rows) for name, rows in seen.items()}
            raise SystemExit(f"not every row visible after {DRAIN_S} s: {counts} of {total}")
        time.sleep(0.2)


def _one_run(
    stack: Stack,
    node: CassandraNode,
    session: Any,  # noqa: ANN401 - driver session
    args: argparse.Namespace,
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    table = f"t_{run}"
    _create_table(session, table)
    destinations = stack_destinations(stack, run, "l", args.destinations.split(","))
    try:
        return _measured_run(node, session, args, table, destinations)
    finally:
        drop_run(session, table, destinations, node_id="bench-latency", keyspace=KEYSPACE)


def _config(
    node: CassandraNode, args: argparse.Namespace, table: str, destinations: list[dict[str, object]]
) -> AgentConfig:
    return AgentConfig.model_validate(
        {"source": {"node_id": "bench-latency", "cdc_raw_dir": node.layout.cdc_raw_dir,
                    "cleanup": "keep", "poll_interval_ms": args.poll_interval_ms,
                    # the destinations' locks with --processes (keep shares no progress)
                    "state_dir": HERE / "results" / ".state"},
         "tables": [f"{KEYSPACE}.{table}"], "destinations": destinations,
         "batch": {"max_events": args.max_events}, "http": {"enabled": False}}
    )  # fmt: skip


def _timed_agent(
    config: AgentConfig,
    session: Any,  # noqa: ANN401 - driver session
    table: str,
    seen: dict[str, dict[int, float]],
    only: list[str] | None = None,
) -> Agent:
    """An agent whose sinks note in `seen` when each row's batch was committed."""
    real_sink_for = agent_module.sink_for

    def timed_sink_for(destination: Destination) -> Sink:
        rows = seen.setdefault(destination.type, {})
        return cast("Sink", _TimedSink(real_sink_for(destination), table, rows))

    agent_module.sink_for = timed_sink_for  # type: ignore[assignment]
    try:
        return Agent(config, SchemaRegistry(lambda: read_schema_rows(session)), only=only)
    finally:
        agent_module.sink_for = real_sink_for


def _agent_process(  # noqa: PLR0917 - one process's inputs
    node: CassandraNode,
    args: argparse.Namespace,
    table: str,
    destinations: list[dict[str, object]],
    name: str,
    ready: Queue[str],
    total: Synchronized[int],
    results: Queue[dict[str, Any]],
) -> None:
    """`--processes`: one destination's agent (`only` it), as `casscade run --destination`
    runs it; reports when each row was visible once `total` (set after the writer) is."""
    tune_collector()
    seen: dict[str, dict[int, float]] = {}
    with node.cluster() as cluster:
        session = cluster.connect()
        agent = _timed_agent(_config(node, args, table, destinations), session, table, seen,
                             only=[name])  # fmt: skip
        agent.poll()  # tables created, what cdc_raw already holds read: not measured
        stop = threading.Event()
        loop = threading.Thread(
            target=agent.run, kwargs={"should_stop": stop.is_set, "sleep": stop.wait}
        )
        loop.start()
        cpu = time.process_time()
        ready.put(name)
        try:
            while total.value == 0:
                time.sleep(0.1)
            _wait_until_visible(seen, total.value, agent)
        finally:
            used = time.process_time() - cpu
            stop.set()
            loop.join(timeout=60)
            agent.close()
    results.put({"seen": seen, "cpu_s": used})


def _measured_in_processes(
    node: CassandraNode,
    args: argparse.Namespace,
    table: str,
    destinations: list[dict[str, object]],
) -> dict[str, Any]:
    spawn = multiprocessing.get_context("spawn")
    ready: Queue[str] = spawn.Queue()
    results: Queue[dict[str, Any]] = spawn.Queue()
    total = spawn.Value("i", 0)
    agents = [
        spawn.Process(target=_agent_process, args=(node, args, table, destinations,
                                                   str(d["name"]), ready, total, results))
        for d in destinations
    ]  # fmt: skip
    for agent in agents:
        agent.start()
    try:
        for _ in agents:
            ready.get(timeout=300)
        out = HERE / "results" / f".latency-writer-{table}.json"
        writer = spawn.Process(target=_write, args=(node, table, args.rate, args.seconds, out))
        began = time.monotonic()
        writer.start()
        writer.join()
        written = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        total.value = len(written["sent"])
        reports = [results.get(timeout=DRAIN_S + 60) for _ in agents]
        for agent in agents:
            agent.join(timeout=60)
    finally:
        for agent in agents:
            if agent.is_alive():
                agent.kill()
    seen: dict[str, dict[int, float]] = {}
    for report in reports:
        seen.update(report["seen"])
    usage = {"wall_s": round(time.monotonic() - began, 1),
             "agent_cpu_s": round(sum(r["cpu_s"] for r in reports), 1),
             "load_average_1m": os.getloadavg()[0], "processes": len(agents)}  # fmt: skip
    return {**_figures(written, seen, args), **usage}


def _measured_run(
    node: CassandraNode,
    session: Any,  # noqa: ANN401 - driver session
    args: argparse.Namespace,
    table: str,
    destinations: list[dict[str, object]],
) -> dict[str, Any]:
    if args.processes:
        return _measured_in_processes(node, args, table, destinations)
    run = table.removeprefix("t_")
    seen: dict[str, dict[int, float]] = {}
    agent = _timed_agent(_config(node, args, table, destinations), session, table, seen)
    agent.poll()  # tables created, what cdc_raw already holds read: not measured
    stop = threading.Event()
    loop = threading.Thread(
        target=agent.run, kwargs={"should_stop": stop.is_set, "sleep": stop.wait}, daemon=True
    )
    loop.start()
    out = HERE / "results" / f".latency-writer-{run}.json"
    writer = multiprocessing.get_context("spawn").Process(
        target=_write,
        args=(node, table, args.rate, args.seconds, out),
    )
    try:
        began, cpu = time.monotonic(), time.process_time()
        writer.start()
        writer.join()
        written = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
        total = len(written["sent"])
        _wait_until_visible(seen, total, agent)
        # This process is the agent (the writer is another): how much CPU it got.
        usage = {"wall_s": round(time.monotonic() - began, 1),
                 "agent_cpu_s": round(time.process_time() - cpu, 1),
                 "load_average_1m": os.getloadavg()[0]}  # fmt: skip
    finally:
        stop.set()
        loop.join(timeout=60)
        agent.close()
    return {**_figures(written, seen, args), **usage}


def _figures(
    written: dict[str, Any], seen: dict[str, dict[int, float]], args: argparse.Namespace
) -> dict[str, Any]:
    sent, acked = written["sent"], written["acked"]
    first = int(args.warmup_s * args.rate)  # rows written during the warm-up are left out
    result: dict[str, Any] = {
        "writes": len(sent),
        "write_errors": len(written["errors"]),
        "writer_behind_schedule_max_s": round(written["behind_s"], 3),
        "achieved_rate_per_s": round(len(sent) / (max(acked) - min(sent))),
        "ack_ms": _summary([acked[i] - sent[i] for i in range(first, len(sent))]),
    }
    window = 5 * args.rate  # rows per 5 seconds of writing
    for kind, rows in seen.items():
        result[kind] = _summary([rows[i] - acked[i] for i in range(first, len(sent))])
        # The median of each 5 s of writes: flat when the agent keeps up, rising when not.
        result[kind]["p50_by_5s_ms"] = [
            round(statistics.median(rows[i] - acked[i] for i in range(start, start + window))
                  * 1000, 1)
            for start in range(0, len(sent) - window + 1, window)
        ]  # fmt: skip
    return result


def _node(stack: Stack, args: argparse.Namespace) -> tuple[CassandraNode, bool]:
    """The Cassandra node to write to, and whether this script started it."""
    if not args.own_node:
        return stack.cassandra, False
    settings = CassandraSettings(
        native_port=9542,
        storage_port=7600,
        jmx_port=7799,
        commitlog_sync=args.sync,
        commitlog_sync_period_ms=args.sync_period_ms,
        commitlog_sync_group_window_ms=args.sync_group_window_ms,
    )
    node = CassandraNode(settings, HERE / "data" / "latency-node", stack.settings.cache_dir)
    return node, node.up()


def _sync_settings(node: CassandraNode) -> dict[str, object]:
    s = node.running_settings() or node.settings
    out: dict[str, object] = {
        "commitlog_sync": s.commitlog_sync,
        "commitlog_segment_size_mib": s.commitlog_segment_size_mib,
        "commitlog_compression": s.commitlog_compression,
        "commitlog_version": s.commitlog_version,
    }
    if s.commitlog_sync == "periodic":
        out["commitlog_sync_period_ms"] = s.commitlog_sync_period_ms
    if s.commitlog_sync == "group":
        out["commitlog_sync_group_window_ms"] = s.commitlog_sync_group_window_ms
    return out


def _across_runs(runs: list[dict[str, Any]], kinds: list[str]) -> dict[str, Any]:
    """Per destination and percentile: the best (lowest) and the median over the runs."""
    out: dict[str, Any] = {}
    for kind in kinds:
        keys = [f"p{p}_ms" for p in PERCENTILES] + ["max_ms"]
        values = {k: [r[kind][k] for r in runs] for k in keys}
        out[kind] = {
            "best": {k: min(v) for k, v in values.items()},
            "median": {k: statistics.median(v) for k, v in values.items()},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=DEFAULT_RATE, help="writes per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup-s", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll-interval-ms", type=int, default=200)
    parser.add_argument(
        "--max-events", type=int, default=BatchConfig().max_events, help="batch.max_events"
    )
    parser.add_argument("--destinations", default=ALL_DESTINATIONS,
                        help="comma-separated: postgres, timescaledb, clickhouse")  # fmt: skip
    parser.add_argument("--own-node", action="store_true", help="start a Cassandra node")
    parser.add_argument("--processes", action="store_true",
                        help="each destination's agent in a process of its own "
                        "(casscade run --destination)")  # fmt: skip
    parser.add_argument("--sync", choices=("batch", "periodic", "group"), default="periodic")
    parser.add_argument("--sync-period-ms", type=int, default=1000)
    parser.add_argument("--sync-group-window-ms", type=int, default=10)
    args = parser.parse_args()
    tune_collector()  # as `casscade run` does
    stack = Stack(build_settings(Path(".stack")))
    stack.up()
    node, started = _node(stack, args)
    (HERE / "results").mkdir(exist_ok=True)
    runs = []
    try:
        with node.cluster() as cluster:
            session = cluster.connect()
            for number in range(1, args.runs + 1):
                runs.append(_one_run(stack, node, session, args))
                print(f"run {number}: {json.dumps(runs[-1])}", flush=True)
        sync = _sync_settings(node)
    finally:
        if started:
            node.down()
    figures = {
        "benchmark": "latency",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "compiled": is_compiled(),  # casscade._native: the hot path built with mypyc
        "cassandra": sync,
        "rate_per_s": args.rate,
        "seconds": args.seconds,
        "warmup_s": args.warmup_s,
        "poll_interval_ms": args.poll_interval_ms,
        "batch_max_events": args.max_events,
        "runs": runs,
        "destinations": args.destinations,
        "processes": args.processes,
        "across_runs": _across_runs(runs, args.destinations.split(",")),
    }
    suffix = f"-{sync['commitlog_sync']}" if args.own_node else ""
    if args.rate != DEFAULT_RATE:
        suffix += f"-{args.rate}"
    if args.destinations != ALL_DESTINATIONS:
        suffix += "-" + args.destinations.replace(",", "-")
    if args.processes:
        suffix += "-processes"
    path = HERE / "results" / f"latency{suffix}.json"
    path.write_text(json.dumps(figures, indent=2), "utf-8")
    print(json.dumps(figures["across_runs"], indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
