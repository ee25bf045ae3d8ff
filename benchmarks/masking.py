"""What masking costs: catch-ups with and without five masked columns per row, per destination.

    .venv/bin/python benchmarks/masking.py [--rows 20000] [--rounds 10]
        [--destinations postgres,timescaledb,clickhouse]

Writes `--rows` rows into a 10-column CDC table of the local stack's Cassandra, then, as
pipeline.py does, lets the agent catch up into each destination alone from an empty
destination, without masking and with five of the ten columns masked (three keyed hashes, one
partial, one email), `--rounds` times each, each starting where cdc_raw ended before the
writes. A destination's runs follow each other, plain then masked, then masked then plain, and
so on, so that neither kind always comes right after a run into the same server nor always
after a pause. Prints and writes to benchmarks/results/masking.json the changes per second of
each run and, per destination, the best and the median of each kind, masking's overhead by
both, and the median of the rounds' own overheads (a round: one plain and one masked catch-up
in a row). Not a test: nothing fails on timing (issue #5's goal: no more than 10%).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import platform
import statistics
import uuid
from pathlib import Path
from typing import Any

from pipeline import (  # where a catch-up starts, as in pipeline.py
    KINDS,
    drop_run,
    durable_end,
    stack_destinations,
    start_at,
    timed_catch_up,
    write_results,
)

from casscade._native import is_compiled
from casscade.cli.stack import build_settings
from casscade.commitlog.position import Position
from casscade.config.models import AgentConfig
from casscade.engine.agent import Agent
from casscade.engine.masking import Masking
from casscade.engine.runtime import tune_collector
from casscade.masking import KeyRing, Masker
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack

HERE = Path(__file__).resolve().parent
KEYSPACE = "bench_masking"
KEY = base64.b64encode(b"benchmark-masking-key-32-bytes!!").decode()


def _write(session: Any, table: str, rows: int) -> None:  # noqa: ANN401 - driver session
    from cassandra.concurrent import execute_concurrent_with_args  # noqa: PLC0415

    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(
        f"CREATE TABLE {KEYSPACE}.{table} (id int, seq int, email text, phone text, ssn text, "
        "card text, name text, city text, age int, note text, PRIMARY KEY (id, seq)) "
        "WITH cdc = true"
    )
    insert = session.prepare(  # the table name is ours
        f"INSERT INTO {KEYSPACE}.{table} (id, seq, email, phone, ssn, card, name, city, age, "  # noqa: S608
        "note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    params = [
        (n % 500, n, f"user{n}@example.com", f"+1 415 555 {n % 10000:04d}",
         f"{n % 900:03d}-{n % 90:02d}-{n % 9000:04d}", f"4111111111{n % 1000000:06d}",
         f"name {n}", f"city {n % 50}", n % 90, "x" * 20)
        for n in range(rows)
    ]  # fmt: skip
    execute_concurrent_with_args(session, insert, params, concurrency=64)


def _config(
    stack: Stack, table: str, destination: dict[str, object], *, masked: bool
) -> AgentConfig:
    data: dict[str, Any] = {
        "source": {"node_id": "bench", "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                   "cleanup": "keep"},
        "tables": [f"{KEYSPACE}.{table}"],
        "destinations": [destination],
        "batch": {"max_events": 2000},
    }  # fmt: skip
    if masked:
        data["masking"] = {
            "keys": [{"id": "k1", "secret_env": "UNUSED"}],
            "active_key": "k1",
            "tables": {f"{KEYSPACE}.{table}": {"columns": {
                "email": {"class": "pii", "strategy": "email"},
                "phone": {"class": "pii", "strategy": "hash"},
                "ssn": {"class": "pii", "strategy": "hash"},
                "card": {"class": "pii", "strategy": "partial", "keep_last": 4},
                "name": {"class": "pii", "strategy": "hash"},
            }}},
        }  # fmt: skip
    return AgentConfig.model_validate(data)


def _catch_up(session: Any, config: AgentConfig, start: Position | None) -> dict[str, float]:  # noqa: ANN401
    start_at(config, start)
    masker = None
    if config.masking.tables:
        keys = KeyRing.from_material({"k1": base64.b64decode(KEY)}, active_key="k1")
        masker = Masker(config.masking, keys)
    return timed_catch_up(
        Agent(config, SchemaRegistry(lambda: read_schema_rows(session)), masking=Masking(masker))
    )


def _overhead(plain: float, masked: float) -> float:
    return round(100 * (1 - masked / plain), 1)


def _summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, object]:
    """Best and median changes per second of each kind, and masking's overhead by both and
    by round: the median of each round's, whose two catch-ups ran one after the other (what
    drifts over a series, the stack's state, then weighs on both alike)."""
    rates = {kind: [r["events_per_s"] for r in results] for kind, results in runs.items()}
    best = {kind: max(values) for kind, values in rates.items()}
    median = {kind: round(statistics.median(values)) for kind, values in rates.items()}
    per_round = [
        100 * (1 - masked / plain)
        for plain, masked in zip(rates["plain"], rates["masked"], strict=True)
    ]
    return {
        "runs": runs,
        "best_events_per_s": best,
        "median_events_per_s": median,
        "overhead_percent_best": _overhead(best["plain"], best["masked"]),
        "overhead_percent_median": _overhead(median["plain"], median["masked"]),
        "overhead_percent_per_round_median": round(statistics.median(per_round), 1),
    }


Runs = dict[str, dict[str, list[dict[str, float]]]]  # destination -> plain|masked -> runs


def _measure(
    stack: Stack,
    session: Any,  # noqa: ANN401 - a cassandra-driver session (untyped)
    table: str,
    args: argparse.Namespace,
) -> Runs:
    """Every destination's rounds, one destination after the other (the module docstring)."""
    start = durable_end(stack.cassandra.layout.cdc_raw_dir)
    kinds = args.destinations.split(",")
    runs: Runs = {kind: {"plain": [], "masked": []} for kind in kinds}
    made: list[dict[str, object]] = []
    try:
        _write(session, table, args.rows)
        for where in kinds:
            for round_ in range(args.rounds):
                for kind in ("plain", "masked") if round_ % 2 == 0 else ("masked", "plain"):
                    made += stack_destinations(stack, uuid.uuid4().hex[:6], "bm", [where])
                    config = _config(stack, table, made[-1], masked=kind == "masked")
                    result = _catch_up(session, config, start)
                    runs[where][kind].append(result)
                    print(f"{where:>12} {kind:>6}: {result}", flush=True)
    finally:
        drop_run(session, table, made, keyspace=KEYSPACE)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--destinations", default=",".join(KINDS), help="comma-separated")
    args = parser.parse_args()
    if unknown := sorted(set(args.destinations.split(",")) - set(KINDS)):
        parser.error(f"unknown destinations: {', '.join(unknown)} (known: {', '.join(KINDS)})")
    tune_collector()  # as `casscade run` does
    stack = Stack(build_settings(Path(".stack")))
    stack.up()
    with stack.cassandra.cluster() as cluster:
        runs = _measure(stack, cluster.connect(), f"t_{uuid.uuid4().hex[:6]}", args)
    figures: dict[str, object] = {
        "benchmark": "masking",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "compiled": is_compiled(),  # casscade._native: the hot path built with mypyc
        "rows": args.rows,
        "masked_columns": 5,
    }
    for kind, kind_runs in runs.items():
        summary = figures[kind] = _summary(kind_runs)
        best, median = summary["overhead_percent_best"], summary["overhead_percent_median"]
        per_round = summary["overhead_percent_per_round_median"]
        print(f"{kind:>12}: masking costs {best}% best against best, {median}% median against "
              f"median, {per_round}% in the median round", flush=True)  # fmt: skip
    write_results("masking", figures)


if __name__ == "__main__":
    main()
