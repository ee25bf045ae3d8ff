"""A seeded random workload over four table shapes ends equal in every destination.

3,600 operations (tests/integration/shapes.py: inserts with and without TTL, explicit nulls,
partial updates, out-of-order write timestamps, cell, row, range and partition deletions,
collection element and UDT field operations, static-only writes) over four tables (a simple
key with most native types; a composite partition key with a DESC clustering column; frozen
collections, tuple, UDT, time, duration, non-frozen list/set/map/UDT and a static column;
nested frozen values) run in two halves against the real Cassandra. After each half the real
agent, in this process, polls until a pass reads nothing new, replicating into PostgreSQL,
TimescaleDB and ClickHouse. Then `casscade verify` must exit 0 with every table of every
destination equal.
"""

from __future__ import annotations

import collections
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from casscade.config.load import load_config
from casscade.engine.agent import Agent
from casscade.engine.verify import TableReport, verify_destination
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration import shapes
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_random"
OPERATIONS = 3600
SEED = 4_2026
CATCH_UP_DEADLINE_S = 120.0


def _config(
    stack: Stack, tmp_path: Path, names: dict[str, str], run: str, batch: int = 500
) -> Path:
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    tables = ", ".join(f"{KEYSPACE}.{name}" for name in names.values())
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: random-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
tables: [{tables}]
destinations:
  - {{type: postgres, name: pg-{run}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: r{run}_}}
  - {{type: timescaledb, name: ts-{run}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false,
      schema_prefix: r{run}_}}
  - {{type: clickhouse, name: ch-{run}, dsn: "chdb://{tmp_path}/ch", database_prefix: r{run}_}}
batch: {{max_events: {batch}}}
dead_letters: {{directory: {tmp_path}/dlq}}
""",
        encoding="utf-8",
    )
    return path


def _execute(session: Any, operations: list[shapes.Operation]) -> None:
    prepared: dict[str, Any] = {}
    for op in operations:
        if op.cql not in prepared:
            prepared[op.cql] = session.prepare(op.cql)
        session.execute(prepared[op.cql], op.values)


def _catch_up(agent: Agent, applied: collections.Counter[str]) -> None:
    """Poll until a pass reads no mutation; count what each destination applied."""
    deadline = time.monotonic() + CATCH_UP_DEADLINE_S
    while True:
        stats = agent.poll()
        assert not stats.unavailable, stats.unavailable
        assert not stats.dead_letters, stats.dead_letters
        assert agent.failed == {}
        applied.update(stats.applied)
        if stats.mutations == 0:
            return
        assert time.monotonic() < deadline, f"not caught up within {CATCH_UP_DEADLINE_S} s"


def _verify_rows(stdout: str) -> dict[tuple[str, str], tuple[int, str]]:
    """(destination, table) -> (Cassandra's rows, result) from `casscade verify`'s table."""
    out = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 8 and cells[2].isdigit():
            out[(cells[0], cells[1])] = (int(cells[2]), cells[7])
    return out


def test_random_workload_of_four_shapes_verifies_equal_everywhere(
    stack: Stack, tmp_path: Path
) -> None:
    """Thousands of seeded random operations leave all three destinations equal to Cassandra."""
    run = uuid.uuid4().hex[:8]
    names = {shape: f"{shape}_{run}" for shape in shapes.SHAPES}
    config_path = _config(stack, tmp_path, names, run)
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password, COLUMNS="240")
    config = load_config(config_path, environ=env)
    rng = random.Random(SEED)
    # Write timestamps start near the present so that the workload reads like live traffic.
    stamps = shapes.Stamps(rng, int(time.time() * 1_000_000))
    tables = list(shapes.tables(KEYSPACE, names).values())
    operations = list(shapes.operations(rng, tables, OPERATIONS, stamps))
    kinds = collections.Counter(op.kind for op in operations)
    applied: collections.Counter[str] = collections.Counter()
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        shapes.create_tables(session, KEYSPACE, names)
        agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)))
        try:
            for half in (operations[: OPERATIONS // 2], operations[OPERATIONS // 2 :]):
                _execute(session, half)
                _catch_up(agent, applied)
        finally:
            agent.close()
        verify = subprocess.run(
            [sys.executable, "-c", "from casscade.cli.main import main; main()",
             "verify", "--config", str(config_path)],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
    assert len(operations) >= 3000
    assert set(kinds) == {"insert", "update", "delete_cells", "delete_row", "delete_range",
                          "delete_partition", "collection"}, kinds  # fmt: skip
    # Every destination received every event of the four tables.
    assert len(applied) == 3, applied
    assert len(set(applied.values())) == 1, applied
    assert min(applied.values()) >= OPERATIONS * 0.95, applied
    assert verify.returncode == 0, verify.stdout[-4000:] + verify.stderr[-2000:]
    reports = _verify_rows(verify.stdout)
    assert len(reports) == 12, verify.stdout
    for (destination, table), (source_rows, result) in reports.items():
        assert result == "equal", (destination, table, result)
        assert source_rows >= 10, (destination, table, source_rows)


SMALL_OPERATIONS = 1200
SHORT_TTL_S = 4


def _ttl_of(op: shapes.Operation) -> int:
    """The TTL an operation binds (0: none); see shapes.py for where each kind binds it."""
    if "USING TTL ?" not in op.cql:  # deletions, of elements too
        return 0
    return int(str(op.values[-2] if op.kind == "insert" else op.values[0]))


def _small_workload(
    stack: Stack,
    tmp_path: Path,
    make: Callable[[list[shapes.Table]], list[shapes.Operation]],
    *,
    wait_s: float = 0.0,
) -> tuple[collections.Counter[str], list[TableReport]]:
    """Run the operations `make` gives for fresh tables of the four shapes, let the agent
    apply them in batches of 50 (so that writes meet in the destinations' merges and views,
    not only in the agent's fold), wait until `wait_s` after the writes, and compare every
    table of every destination with Cassandra. Returns what each destination applied and
    the reports."""
    run = uuid.uuid4().hex[:8]
    names = {shape: f"{shape}_{run}" for shape in shapes.SHAPES}
    config = load_config(
        _config(stack, tmp_path, names, run, batch=50),
        environ=dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password),
    )
    operations = make(list(shapes.tables(KEYSPACE, names).values()))
    applied: collections.Counter[str] = collections.Counter()
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        shapes.create_tables(session, KEYSPACE, names)
        agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)))
        try:
            _execute(session, operations)
            written = time.monotonic()
            _catch_up(agent, applied)
        finally:
            agent.close()
        time.sleep(max(0.0, wait_s - (time.monotonic() - written)))
        snapshot = agent.registry.snapshot
        schemas = [snapshot.by_name(KEYSPACE, name) for name in names.values()]
        reports = [
            report
            for destination in config.destinations
            for report in verify_destination(session, destination, schemas)  # type: ignore[arg-type]
        ]
    return applied, reports


def test_random_workload_expiring_as_it_runs_verifies_equal_everywhere(
    stack: Stack, tmp_path: Path
) -> None:
    """The same kinds of operations with TTLs of 2-4 s, in batches of 50: once every TTL has
    passed, every destination equals Cassandra, expired values, rows and elements included."""
    rng = random.Random(SEED + 1)
    stamps = shapes.Stamps(rng, int(time.time() * 1_000_000))
    operations: list[shapes.Operation] = []

    def make(tables: list[shapes.Table]) -> list[shapes.Operation]:
        operations.extend(
            shapes.operations(rng, tables, SMALL_OPERATIONS, stamps, ttl_s=SHORT_TTL_S)
        )
        return operations

    applied, reports = _small_workload(stack, tmp_path, make, wait_s=SHORT_TTL_S + 1.5)
    assert sum(1 for op in operations if _ttl_of(op)) >= 100
    assert len(applied) == 3, applied
    assert len(reports) == 12
    for report in reports:
        assert report.equal, report


def test_random_workload_of_equal_timestamps_verifies_equal_everywhere(
    stack: Stack, tmp_path: Path
) -> None:
    """The same kinds of operations with most timestamps shared by several writes and
    deletions (Stamps(ties=True)), in batches of 50: every destination ends with Cassandra's
    winners."""
    rng = random.Random(SEED + 2)
    stamps = shapes.Stamps(rng, int(time.time() * 1_000_000), ties=True)
    applied, reports = _small_workload(
        stack,
        tmp_path,
        lambda tables: list(shapes.operations(rng, tables, SMALL_OPERATIONS, stamps)),
    )
    shared = collections.Counter(stamps.drawn)
    assert sum(n for n in shared.values() if n > 1) >= SMALL_OPERATIONS // 2, shared
    assert len(applied) == 3, applied
    assert len(reports) == 12
    for report in reports:
        assert report.equal, report
