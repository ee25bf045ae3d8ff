"""TimescaleDB as a destination beside PostgreSQL: hypertable on the time key, same oracle."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg

from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, run_casscade

KEYSPACE = "it_tsdb"


def test_timescale_and_postgres_destinations_both_equal_cassandra(
    stack: Stack, tmp_path: Path
) -> None:
    """One run feeds both destinations; TimescaleDB keeps the table as a hypertable on its
    time key; verify finds both equal to Cassandra."""
    table = f"r_{uuid.uuid4().hex[:10]}"
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    config = tmp_path / "casscade.yaml"
    config.write_text(
        f"""
source:
  node_id: tsdb-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD}}
  - type: timescaledb
    name: tsdb-{table}
    host: {ts.host}
    port: {ts.port}
    database: {ts.database}
    user: {ts.user}
    hypertables: {{{KEYSPACE}.{table}: ts}}
    prepared_statements: false   # the stack's TimescaleDB is one shared PGlite session
""",
        encoding="utf-8",
    )
    env = dict(os.environ, TEST_PG_PASSWORD=pg.password)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (sensor int, ts timestamp, value double, "
            "unit text, PRIMARY KEY (sensor, ts)) WITH cdc = true"
        )
        insert = session.prepare(
            f"INSERT INTO {KEYSPACE}.{table} (sensor, ts, value, unit) VALUES (?, ?, ?, ?)"
        )
        for n in range(300):
            session.execute(insert, (n % 4, 1_700_000_000_000 + n * 60_000, n / 2, "celsius"))
        session.execute(f"UPDATE {KEYSPACE}.{table} SET value = -1 WHERE sensor = 1 "
                        "AND ts = 1700000060000")  # fmt: skip
        session.execute(f"DELETE FROM {KEYSPACE}.{table} WHERE sensor = 2 AND ts = 1700000120000")
        session.execute(f"DELETE FROM {KEYSPACE}.{table} WHERE sensor = 3")
        run = run_casscade("run", "--config", str(config), "--once", env=env)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        verify = run_casscade("verify", "--config", str(config), env=env)
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    assert verify.stdout.count("equal") == 2
    with psycopg.connect(ts.dsn(), prepare_threshold=None) as conn:
        found = conn.execute(
            "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = %s",
            (f"{table}__state",),
        ).fetchone()
    assert found == (1,)
