"""ADD and DROP COLUMN mid-stream, in every destination, without a restart (the oracle).

A table changes shape four times while rows are written: a column added, another added, one
dropped, one dropped and added again. One set of destinations (PostgreSQL, TimescaleDB,
ClickHouse) follows live, the agent polling after every step; another set starts only at the
end and catches up over all the changes with the newest schema. Every destination must equal
Cassandra's `SELECT *`, and the dropped column's old values must not come back when a column
of that name is added again.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from casscade.config.load import load_config
from casscade.engine.agent import Agent
from casscade.engine.verify import verify_destination
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_evolution"


def _config(stack: Stack, tmp_path: Path, table: str, tag: str) -> Path:
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    path = tmp_path / f"{tag}.yaml"
    path.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
  schema_refresh_s: 0
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{tag}-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: {tag}_}}
  - {{type: timescaledb, name: ts-{tag}-{table}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false,
      schema_prefix: {tag}_}}
  - {{type: clickhouse, name: ch-{tag}-{table}, dsn: "chdb://{tmp_path}/ch",
      database_prefix: {tag}_}}
dead_letters: {{directory: {tmp_path}/dlq-{tag}}}
""",
        encoding="utf-8",
    )
    return path


def _schema_changes(agent: Agent) -> float:
    value = agent.telemetry.metrics.registry.get_sample_value(
        "casscade_source_schema_changes_total"
    )
    return 0.0 if value is None else value


def _poll_all(agent: Agent) -> None:
    """Poll until a pass applies nothing new."""
    for _ in range(30):
        stats = agent.poll()
        assert not stats.unavailable, stats.unavailable
        if stats.mutations == 0:
            return


def _steps(table: str) -> list[tuple[str | None, list[str]]]:
    """(ALTER TABLE or None, inserts after it): four shape changes between writes."""
    t = f"{KEYSPACE}.{table}"
    return [
        (None, [f"INSERT INTO {t} (pk, ck, a, b) VALUES ({k % 3}, {k}, 'a{k}', {k})"
                for k in range(20)]),
        (f"ALTER TABLE {t} ADD c text", [f"UPDATE {t} SET c = 'c{k}' WHERE pk = {k % 3} "
                                         f"AND ck = {k}" for k in range(10, 30)]),
        (f"ALTER TABLE {t} ADD d double", [f"INSERT INTO {t} (pk, ck, d, b) VALUES "
                                           f"({k % 3}, {k}, {k}.5, {k * 2})"
                                           for k in range(25, 40)]),
        (f"ALTER TABLE {t} DROP b", [f"INSERT INTO {t} (pk, ck, a) VALUES ({k % 3}, {k}, "
                                     f"'later{k}')" for k in range(35, 45)]),
        (f"ALTER TABLE {t} DROP c", []),
        (f"ALTER TABLE {t} ADD c text", [f"UPDATE {t} SET c = 'new{k}' WHERE pk = {k % 3} "
                                         f"AND ck = {k}" for k in range(0, 45, 4)]),
    ]  # fmt: skip


def test_add_and_drop_column_mid_stream_in_every_destination(stack: Stack, tmp_path: Path) -> None:
    """Live and catching-up destinations equal Cassandra after four shape changes."""
    table = f"e_{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password)
    live_config = load_config(_config(stack, tmp_path, table, "live"), environ=env)
    late_config = load_config(_config(stack, tmp_path, table, "late"), environ=env)
    with stack.cassandra.cluster() as cluster:
        session: Any = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, a text, b int, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        live = Agent(live_config, SchemaRegistry(lambda: read_schema_rows(session)))
        for alter, writes in _steps(table):
            if alter is not None:
                session.execute(alter)
            for cql in writes:
                session.execute(cql)
            _poll_all(live)
        live.close()
        late = Agent(late_config, SchemaRegistry(lambda: read_schema_rows(session)))
        _poll_all(late)
        late.close()
        assert live.failed == {}
        assert late.failed == {}
        # Every change was seen live by each destination; the late agent saw none (it read
        # the final schema once): refreshes without a change are not counted.
        assert _schema_changes(live) >= 3 * 4
        assert _schema_changes(late) == 0
        schema = SchemaRegistry(lambda: read_schema_rows(session)).snapshot.by_name(KEYSPACE, table)
        assert schema is not None
        assert sorted(schema.columns) == ["a", "c", "ck", "d", "pk"]
        reports = [
            report
            for config in (live_config, late_config)
            for destination in config.destinations
            for report in verify_destination(session, destination, [schema])
        ]
        old_c = list(session.execute(f"SELECT c FROM {KEYSPACE}.{table} WHERE pk = 1 AND ck = 10"))
    assert len(reports) == 6
    for report in reports:
        assert report.equal, report
        # Rows 21-23 only ever had `c`: dropping it left them without a live cell.
        assert report.source_rows == 42
    assert old_c[0].c is None  # 'c10' was dropped with the column; the new c never wrote 10
