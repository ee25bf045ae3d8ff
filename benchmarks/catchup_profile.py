"""Where a catch-up spends its time: cProfile of the agent catching up, per destination.

    .venv/bin/python benchmarks/catchup_profile.py [--rows 20000] [--no-mask]

Writes `--rows` changes into a 10-column CDC table of the local stack's Cassandra (64 in
flight), then, for each destination alone (PostgreSQL, TimescaleDB, ClickHouse), lets the
agent catch up from an empty destination twice: once plainly (the wall time) and once under
cProfile. Each destination starts at the position where cdc_raw ended before the writes, so
whatever earlier runs left in the stack's cdc_raw is not read. Three of the ten columns are
masked (a keyed hash, a partial mask, an email mask) unless --no-mask.

Each function's own time (cProfile's tottime) goes into a bucket by the code it belongs to:
decode (casscade.commitlog), source (casscade.source: tailing, segment reads, schema),
map (casscade.events), mask (casscade.masking), sink (casscade.sinks: folding, staging, SQL
and row formatting), driver (psycopg or clickhouse-connect, with the time spent waiting for
the server or, for chDB, running the query in-process), engine (casscade.engine,
casscade.observability, structlog, prometheus_client) and other. Time in C functions and in
the standard library (struct, hashlib, json, socket, select...) goes to the bucket of the
code that called them, split by what each caller spent there. cProfile slows Python code
down more than it slows waiting, so the shares overstate the Python side a little; the plain
run gives the real wall time. cProfile does not see functions compiled with mypyc
(`casscade._native`): with the compiled hot path their time goes to their interpreted
callers, so run it without the builds for the split by module (the script says how).

Prints and writes benchmarks/results/catchup_profile.json (buckets in seconds and percent,
the 15 functions with the most own time) and benchmarks/results/profile-<destination>.pstats
(`python -m pstats` opens them). Not a test: nothing fails on timing.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import datetime
import json
import platform
import pstats
import time
import uuid
from pathlib import Path
from typing import Any

from pipeline import drop_run, durable_end, start_at  # as in pipeline.py

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
KEYSPACE = "bench_profile"
KEY = base64.b64encode(b"benchmark-profile-key-32-bytes!!").decode()
# Path fragments -> bucket; the first match wins.
BUCKETS = (
    ("/casscade/commitlog/", "decode"),
    ("/casscade/source/", "source"),
    ("/casscade/events/", "map"),
    ("/casscade/masking/", "mask"),
    ("/casscade/sinks/", "sink"),
    ("/psycopg", "driver"),
    ("/clickhouse_connect/", "driver"),
    ("/chdb/", "driver"),
    ("/casscade/engine/", "engine"),
    ("/casscade/observability/", "engine"),
    ("/structlog/", "engine"),
    ("/prometheus_client/", "engine"),
    ("/casscade/", "other casscade"),
    ("/cassandra/", "schema reads (cassandra-driver)"),
)
# Callers followed upward, at most, to find who a C or standard-library function worked for.
MAX_DEPTH = 8

Func = tuple[str, int, str]


def _write(session: Any, table: str, rows: int) -> None:  # noqa: ANN401 - driver session
    from cassandra.concurrent import execute_concurrent_with_args  # noqa: PLC0415

    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
        "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    )
    session.execute(
        f"CREATE TABLE {KEYSPACE}.{table} (id int, seq int, email text, name text, card text, "
        "b bigint, c double, d boolean, e uuid, f timestamp, PRIMARY KEY (id, seq)) "
        "WITH cdc = true"
    )
    insert = session.prepare(  # the table name is ours
        f"INSERT INTO {KEYSPACE}.{table} (id, seq, email, name, card, b, c, d, e, f) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    params = [
        (n % 500, n, f"user{n}@example.com", f"name {n}", f"4111111111{n % 1000000:06d}",
         n * 7, n / 3, n % 2 == 0, uuid.UUID(int=n + 1), base + datetime.timedelta(seconds=n))
        for n in range(rows)
    ]  # fmt: skip
    execute_concurrent_with_args(session, insert, params, concurrency=64)


def _config(
    stack: Stack, table: str, kind: str, made: list[dict[str, object]], *, masked: bool
) -> AgentConfig:
    """The agent's configuration for one catch-up into a new destination (added to `made`)."""
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    run = uuid.uuid4().hex[:6]
    destinations: dict[str, dict[str, object]] = {
        "postgres": {"type": "postgres", "name": f"prof-pg-{run}", "host": pg.host,
                     "port": pg.port, "database": pg.database, "user": pg.user,
                     "password": pg.password, "schema_prefix": f"p{run}_"},
        "timescaledb": {"type": "timescaledb", "name": f"prof-ts-{run}", "host": ts.host,
                        "port": ts.port, "database": ts.database, "user": ts.user,
                        "schema_prefix": f"p{run}_", "prepared_statements": False},
        "clickhouse": {"type": "clickhouse", "name": f"prof-ch-{run}",
                       "dsn": stack.settings.clickhouse_dsn(), "database_prefix": f"p{run}_"},
    }  # fmt: skip
    made.append(destinations[kind])
    data: dict[str, Any] = {
        "source": {"node_id": "bench", "cdc_raw_dir": stack.cassandra.layout.cdc_raw_dir,
                   "cleanup": "keep"},
        "tables": [f"{KEYSPACE}.{table}"],
        "destinations": [destinations[kind]],
        "batch": {"max_events": 2000},
    }  # fmt: skip
    if masked:
        data["masking"] = {
            "keys": [{"id": "k1", "secret_env": "UNUSED"}],
            "active_key": "k1",
            "tables": {f"{KEYSPACE}.{table}": {"columns": {
                "email": {"class": "pii", "strategy": "email"},
                "name": {"class": "pii", "strategy": "hash"},
                "card": {"class": "pii", "strategy": "partial", "keep_last": 4},
            }}},
        }  # fmt: skip
    return AgentConfig.model_validate(data)


def _catch_up(
    session: Any,  # noqa: ANN401 - a cassandra-driver session (untyped)
    config: AgentConfig,
    start: Position | None,
    profile: cProfile.Profile | None,
) -> float:
    """Seconds for one catch-up from an empty destination whose position is `start` (what
    cdc_raw held before the workload is not read), under `profile` when given."""
    start_at(config, start)
    masker = None
    if config.masking.tables:
        keys = KeyRing.from_material({"k1": base64.b64decode(KEY)}, active_key="k1")
        masker = Masker(config.masking, keys)
    registry = SchemaRegistry(lambda: read_schema_rows(session))
    agent = Agent(config, registry, masking=Masking(masker))
    began = time.perf_counter()
    if profile is not None:
        profile.enable()
    try:
        while True:
            stats = agent.poll()
            if stats.unavailable or agent.failed:
                raise SystemExit(f"{stats.unavailable or agent.failed}")
            if stats.mutations == 0:
                break
    finally:
        if profile is not None:
            profile.disable()
        agent.close()
    return time.perf_counter() - began


def _own_bucket(func: Func) -> str | None:
    """The bucket of a function by its file; None for C and standard-library functions."""
    filename = func[0]
    for fragment, bucket in BUCKETS:
        if fragment in filename:
            return bucket
    if "/site-packages/" in filename:
        return "other"
    return None


def _shares(
    raw: dict[Func, Any], func: Func, seconds: float, depth: int, out: dict[str, float]
) -> None:
    """Add `seconds` of `func`'s own time to its bucket, or its callers' buckets."""
    bucket = _own_bucket(func)
    if bucket is not None:
        out[bucket] = out.get(bucket, 0.0) + seconds
        return
    callers = raw[func][4]
    spent = sum(entry[2] for entry in callers.values())
    if depth >= MAX_DEPTH or not callers or spent <= 0:
        out["other"] = out.get("other", 0.0) + seconds
        return
    for caller, entry in callers.items():
        _shares(raw, caller, seconds * entry[2] / spent, depth + 1, out)


def _buckets(stats: pstats.Stats) -> dict[str, float]:
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    out: dict[str, float] = {}
    for func, (_cc, _nc, own, _cum, _callers) in raw.items():
        if own > 0:
            _shares(raw, func, own, 0, out)
    return out


def _top(stats: pstats.Stats, count: int) -> list[dict[str, object]]:
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:count]
    here = str(Path.cwd()) + "/"
    return [
        {"function": f"{func[0].replace(here, '')}:{func[1]}({func[2]})",
         "calls": entry[1], "own_s": round(entry[2], 3), "cumulative_s": round(entry[3], 3)}
        for func, entry in ranked
    ]  # fmt: skip


def _profile_one(  # noqa: PLR0917 - one benchmark step's inputs
    stack: Stack,
    session: Any,  # noqa: ANN401 - a cassandra-driver session (untyped)
    table: str,
    kind: str,
    start: Position | None,
    masked: bool,
    made: list[dict[str, object]],
) -> dict[str, Any]:
    plain_s = _catch_up(session, _config(stack, table, kind, made, masked=masked), start, None)
    profile = cProfile.Profile()
    profiled_s = _catch_up(
        session, _config(stack, table, kind, made, masked=masked), start, profile
    )
    (HERE / "results").mkdir(exist_ok=True)
    profile.dump_stats(str(HERE / "results" / f"profile-{kind}.pstats"))
    stats = pstats.Stats(profile)
    buckets = _buckets(stats)
    total = sum(buckets.values())
    return {
        "wall_s": round(plain_s, 2),
        "wall_s_under_profiler": round(profiled_s, 2),
        "buckets_s": {k: round(v, 3) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])},
        "buckets_percent": {
            k: round(100 * v / total, 1) for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])
        },
        "top_own_time": _top(stats, 15),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--no-mask", action="store_true", help="mask no column")
    args = parser.parse_args()
    tune_collector()  # as `casscade run` does
    if is_compiled():
        print("note: the hot path is compiled (casscade._native); cProfile cannot see compiled "
              "functions and counts their time to their interpreted callers, so decode, map, "
              "mask and staging show up as source, engine and sink. For the split by module, "
              "run it without the builds (`find src -name '*.so' -delete`; scripts/bootstrap "
              "builds them again) or use py-spy --native.", flush=True)  # fmt: skip
    stack = Stack(build_settings(Path(".stack")))
    stack.up()
    table = f"t_{uuid.uuid4().hex[:6]}"
    figures: dict[str, Any] = {
        "benchmark": "catchup_profile",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "compiled": is_compiled(),  # casscade._native: the hot path built with mypyc
        "rows": args.rows,
        "masked_columns": 0 if args.no_mask else 3,
    }
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        start = durable_end(stack.cassandra.layout.cdc_raw_dir)
        made: list[dict[str, object]] = []
        try:
            _write(session, table, args.rows)
            for kind in ("postgres", "timescaledb", "clickhouse"):
                result = _profile_one(
                    stack, session, table, kind, start, masked=not args.no_mask, made=made
                )
                figures[kind] = result
                print(f"{kind:>12}: wall {result['wall_s']} s, {result['buckets_percent']}",
                      flush=True)  # fmt: skip
        finally:
            drop_run(session, table, made, keyspace=KEYSPACE)
    (HERE / "results" / "catchup_profile.json").write_text(json.dumps(figures, indent=2), "utf-8")
    print(json.dumps({k: v for k, v in figures.items() if not isinstance(v, dict)}, indent=2))


if __name__ == "__main__":
    main()
