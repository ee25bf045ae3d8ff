"""Crash safety: the agent killed with SIGKILL at random moments, 20 times, loses nothing.

A writer keeps changing a table while `casscade run` is started and killed -9 over and over;
after the last restart catches up, the destination equals Cassandra's `SELECT *`.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace

KEYSPACE = "it_crash"
KILLS = 20


def _config(stack: Stack, tmp_path: Path, table: str) -> Path:
    pg = stack.settings.postgres
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
  - {{type: postgres, name: crash-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: c_}}
batch: {{max_events: 50}}
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


def test_agent_killed_20_times_ends_equal_to_cassandra(stack: Stack, tmp_path: Path) -> None:
    """However often the agent dies mid-batch, the destination converges to Cassandra."""
    table = f"k_{uuid.uuid4().hex[:10]}"
    config = _config(stack, tmp_path, table)
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password)
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

        def write() -> None:
            n = 0
            while not done.is_set():
                n += 1
                if n % 9 == 0:
                    session.execute(delete, (n % 5, n % 40))
                else:
                    session.execute(upsert, (f"v{n}", n, n % 5, n % 40))

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for _ in range(KILLS):
                agent = _agent(config, env)
                time.sleep(rng.uniform(0.8, 2.5))
                agent.send_signal(signal.SIGKILL)
                agent.wait(timeout=30)
        finally:
            done.set()
            writer.join(timeout=30)
        final = _agent(config, env, "--once")
        final.wait(timeout=300)
        log = (tmp_path / "agent.log").read_text(encoding="utf-8", errors="replace")
        assert final.returncode == 0, log[-2000:]
        verify = subprocess.run(
            [sys.executable, "-c", "from casscade.cli.main import main; main()",
             "verify", "--config", str(config)],
            capture_output=True, text=True, env=env, timeout=300, check=False,
        )  # fmt: skip
    assert verify.returncode == 0, verify.stdout[-3000:] + verify.stderr[-2000:]
    assert "equal" in verify.stdout
