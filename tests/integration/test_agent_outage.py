"""One destination down never stops the others; it catches up from its own position.

The agent runs with PostgreSQL and TimescaleDB while a writer changes a table. TimescaleDB is
stopped mid-workload: PostgreSQL keeps replicating. TimescaleDB comes back: it catches up, and
both equal Cassandra's `SELECT *`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_outage"


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _count(dsn: str, table: str, *, prepared: bool = True) -> int:
    try:
        with psycopg.connect(dsn, prepare_threshold=5 if prepared else None) as conn:
            row = conn.execute(f"SELECT count(*) FROM {KEYSPACE}.{table}").fetchone()
    except psycopg.Error:
        return -1
    return -1 if row is None else int(str(row[0]))


def test_destination_outage_others_continue_and_it_catches_up(stack: Stack, tmp_path: Path) -> None:
    """PostgreSQL advances while TimescaleDB is down; afterwards both equal Cassandra."""
    table = f"o_{uuid.uuid4().hex[:10]}"
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    config = tmp_path / "casscade.yaml"
    config.write_text(
        f"""
source:
  node_id: outage-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: delete
  poll_interval_ms: 50
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD}}
  - {{type: timescaledb, name: ts-{table}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false}}
""",
        encoding="utf-8",
    )
    env = dict(os.environ, TEST_PG_PASSWORD=pg.password)
    main = "from casscade.cli.main import main; main()"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(f"CREATE TABLE {KEYSPACE}.{table} (k int PRIMARY KEY, v text) "
                        "WITH cdc = true")  # fmt: skip
        insert = session.prepare(f"INSERT INTO {KEYSPACE}.{table} (k, v) VALUES (?, ?)")
        log = (tmp_path / "agent.log").open("wb")
        agent = subprocess.Popen([sys.executable, "-c", main, "run", "--config", str(config)],
                                 stdout=log, stderr=log, env=env)  # fmt: skip
        try:
            for k in range(100):
                session.execute(insert, (k, "before"))
            _wait_for(lambda: _count(pg.dsn(), table) == 100, 60, "PostgreSQL to get 100 rows")
            _wait_for(lambda: _count(ts.dsn(), table, prepared=False) == 100, 60,
                      "TimescaleDB to get 100 rows")  # fmt: skip
            stack.timescaledb.down()
            for k in range(100, 300):
                session.execute(insert, (k, "during"))
            # PostgreSQL keeps replicating while TimescaleDB is down.
            _wait_for(lambda: _count(pg.dsn(), table) == 300, 60, "PostgreSQL to get 300 rows")
            assert _count(ts.dsn(), table, prepared=False) == -1
            stack.timescaledb.up()
            _wait_for(lambda: _count(ts.dsn(), table, prepared=False) == 300, 120,
                      "TimescaleDB to catch up")  # fmt: skip
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=60)
            log.close()
            stack.timescaledb.up()
        verify = subprocess.run([sys.executable, "-c", main, "verify", "--config", str(config)],
                                capture_output=True, text=True, env=env, timeout=300,
                                check=False)  # fmt: skip
    text = (tmp_path / "agent.log").read_text(encoding="utf-8", errors="replace")
    assert agent.returncode == 0, text[-2000:]
    assert "destination_unavailable" in text
    assert verify.returncode == 0, verify.stdout[-3000:]
    assert verify.stdout.count("equal") == 2
