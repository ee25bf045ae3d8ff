"""Crash safety: the agent killed with SIGKILL at random moments, 20 times, loses nothing.

A writer keeps changing a table while `casscade run` is started and killed -9 over and over,
replicating into PostgreSQL, TimescaleDB and ClickHouse (mirror mode), and into a PostgreSQL
and a ClickHouse changelog. Most kills land while batches are being applied (a random moment
after the run's first batch), some during startup. After the last restart catches up:
`casscade verify` finds every mirror equal to Cassandra's `SELECT *`, no mirror shows a key
twice, and each changelog holds every change event of the table exactly once although
restarts replayed whatever the killed runs had not committed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import clickhouse_connect
import psycopg

from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_crash"
KILLS = 20
# How long a run may take to apply its first batch (the agent imports chDB at startup).
FIRST_BATCH_S = 60.0
DESTINATIONS = ("pg", "ts", "ch", "pgl", "chl")  # crash-<kind>-<table>


def _config(stack: Stack, tmp_path: Path, table: str) -> Path:
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    pg_auth = (f"host: {pg.host}, port: {pg.port}, database: {pg.database}, user: {pg.user}, "
               "password_env: TEST_PG_PASSWORD")  # fmt: skip
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: crash-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
  poll_interval_ms: 50
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: crash-pg-{table}, {pg_auth}, schema_prefix: c_}}
  - {{type: timescaledb, name: crash-ts-{table}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false, schema_prefix: c_}}
  - {{type: clickhouse, name: crash-ch-{table}, dsn: "chdb://{tmp_path}/ch",
      database_prefix: c_}}
  - {{type: postgres, name: crash-pgl-{table}, {pg_auth}, schema_prefix: cl_,
      mode: changelog}}
  - {{type: clickhouse, name: crash-chl-{table}, dsn: "chdb://{tmp_path}/ch",
      database_prefix: cl_, mode: changelog}}
batch: {{max_events: 50}}
http: {{port: 0}}
dead_letters: {{directory: {tmp_path}/dlq}}
""",
        encoding="utf-8",
    )
    return path


def _agent(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """Start the agent with its output appended to agent.log beside the config."""
    with (config.parent / "agent.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from casscade.cli.main import main; main()",
             "run", "--config", str(config), *args],
            stdout=log, stderr=log, env=env,
        )  # fmt: skip


def _wait_for_batch(
    agent: subprocess.Popen[bytes], log: Path, since: int, destination: str
) -> None:
    """Wait until the run logs a batch applied to `destination` after byte `since` of the log."""
    deadline = time.monotonic() + FIRST_BATCH_S
    while destination not in _batches_before(log, None, since):
        assert agent.poll() is None, log.read_text(errors="replace")[-2000:]
        assert time.monotonic() < deadline, f"no batch for {destination} in {FIRST_BATCH_S} s"
        time.sleep(0.05)


def _kill_repeatedly(config: Path, env: dict[str, str], rng: random.Random) -> int:
    """Start and SIGKILL the agent KILLS times; return how many kills hit a working run."""
    log = config.parent / "agent.log"
    working = 0
    for _ in range(KILLS):
        since = log.stat().st_size if log.exists() else 0
        agent = _agent(config, env)
        if rng.random() < 0.2:  # during startup, schema reads and table creation
            time.sleep(rng.uniform(0.0, 1.5))
        else:  # while one destination (any of them) is applying batches
            _wait_for_batch(agent, log, since, rng.choice(DESTINATIONS))
            time.sleep(rng.uniform(0.0, 1.0))
            working += 1
        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=30)
        assert agent.returncode == -signal.SIGKILL
    return working


def _batches_before(log: Path, end: int | None, start: int = 0) -> dict[str, int]:
    """How many batches each destination (pg, ts, ch, pgl, chl) applied between two byte
    offsets of the log."""
    counts: dict[str, int] = {}
    for line in log.read_bytes()[start:end].decode(errors="replace").splitlines():
        if '"batch_applied"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:  # a line cut short by SIGKILL
            continue
        kind = str(entry["destination"]).split("-")[1]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def _postgres_mirror(dsn: str, table: str) -> tuple[int, int]:
    """(rows, distinct keys) of a PostgreSQL or TimescaleDB mirror."""
    with psycopg.connect(dsn, prepare_threshold=None) as conn:
        row = conn.execute(
            f"SELECT count(*), count(DISTINCT (pk, ck)) FROM c_{KEYSPACE}.{table}"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _postgres_changelog(dsn: str, table: str) -> tuple[int, int]:
    """(rows, distinct event ids) of a PostgreSQL changelog."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT count(*), count(DISTINCT event_id) FROM cl_{KEYSPACE}.{table}__changelog"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _clickhouse_counts(dsn: str, table: str) -> tuple[int, int, int, int]:
    """The same for ClickHouse: the changelog read with FINAL (its copies collapsed)."""
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        mirror = client.query(
            f"SELECT count(), uniqExact(pk, ck) FROM c_{KEYSPACE}.{table}"
        ).result_rows[0]
        changelog = client.query(
            f"SELECT count(), uniqExact(event_id) FROM cl_{KEYSPACE}.{table}__changelog FINAL"
        ).result_rows[0]
    finally:
        client.close()
    return (int(mirror[0]), int(mirror[1]), int(changelog[0]), int(changelog[1]))


def test_agent_killed_20_times_ends_equal_to_cassandra(stack: Stack, tmp_path: Path) -> None:
    """However often the agent dies mid-batch, every destination converges to Cassandra with
    no key twice in a mirror and every event once in a changelog."""
    table = f"k_{uuid.uuid4().hex[:10]}"
    config = _config(stack, tmp_path, table)
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password, COLUMNS="240")
    rng = random.Random(11)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, v text, n bigint, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        upsert = session.prepare(
            f"UPDATE {KEYSPACE}.{table} SET v = ?, n = ? WHERE pk = ? AND ck = ?"
        )
        delete = session.prepare(f"DELETE FROM {KEYSPACE}.{table} WHERE pk = ? AND ck = ?")
        done = threading.Event()
        written = [0]

        def write() -> None:
            n = 0
            while not done.is_set():
                n += 1
                if n % 9 == 0:
                    session.execute(delete, (n % 5, n % 40))
                else:
                    session.execute(upsert, (f"v{n}", n, n % 5, n % 40))
                written[0] = n

        writer = threading.Thread(target=write)
        writer.start()
        try:
            working = _kill_repeatedly(config, env, rng)
        finally:
            done.set()
            writer.join(timeout=30)
        final_from = (tmp_path / "agent.log").stat().st_size
        final = _agent(config, env, "--once")
        final.wait(timeout=300)
        log = (tmp_path / "agent.log").read_text(encoding="utf-8", errors="replace")
        assert final.returncode == 0, log[-2000:]
        verify = subprocess.run(
            [sys.executable, "-c", "from casscade.cli.main import main; main()",
             "verify", "--config", str(config)],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
    assert working >= KILLS // 2, working
    assert written[0] > 1000, written  # the workload ran throughout
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    assert verify.stdout.count("│ equal") == 3, verify.stdout  # the three mirrors
    # Every write is one change event: the writer's count is what each changelog must hold.
    expected = written[0]
    batches = _batches_before(tmp_path / "agent.log", final_from)
    assert all(batches.get(d, 0) >= 3 for d in DESTINATIONS), batches
    for dsn in (stack.settings.postgres.dsn(), stack.settings.timescaledb.dsn()):
        rows, keys = _postgres_mirror(dsn, table)
        assert rows == keys > 0
    changes, ids = _postgres_changelog(stack.settings.postgres.dsn(), table)
    assert changes == ids == expected
    rows, keys, changes, ids = _clickhouse_counts(f"chdb://{tmp_path}/ch", table)
    assert rows == keys > 0
    assert changes == ids == expected
