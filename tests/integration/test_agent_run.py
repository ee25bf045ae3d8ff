"""`casscade run --once` and `casscade verify` end to end: replicate, resume, verify, clean up."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

from casscade.source.cdc_raw import scan_cdc_raw
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, run_casscade

KEYSPACE = "it_agent"


def _write(session: object, table: str, start: int, count: int) -> None:
    for k in range(start, start + count):
        session.execute(  # type: ignore[attr-defined]
            f"INSERT INTO {KEYSPACE}.{table} (pk, ck, v, n) VALUES (%s, %s, %s, %s)",
            (k % 7, k, f"value {k}", k * 3),
        )
        if k % 5 == 0:
            session.execute(  # type: ignore[attr-defined]
                f"UPDATE {KEYSPACE}.{table} SET v = %s WHERE pk = %s AND ck = %s",
                ("updated", k % 7, k),
            )
        if k % 11 == 0:
            session.execute(  # type: ignore[attr-defined]
                f"DELETE FROM {KEYSPACE}.{table} WHERE pk = %s AND ck = %s", (k % 7, k)
            )


def test_agent_run_once_resume_verify_and_cleanup(stack: Stack, tmp_path: Path) -> None:
    """Two runs apply exactly the new changes each time, verify finds both tables equal, and
    COMPLETED segments every destination has passed are deleted from cdc_raw."""
    table = f"a_{uuid.uuid4().hex[:10]}"
    prefix = f"v{uuid.uuid4().hex[:6]}_"
    pg = stack.settings.postgres
    config = tmp_path / "casscade.yaml"
    config.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: delete
tables: [{KEYSPACE}.{table}]
destinations:
  - type: postgres
    name: pg-{table}
    host: {pg.host}
    port: {pg.port}
    database: {pg.database}
    user: {pg.user}
    password_env: TEST_PG_PASSWORD
    schema_prefix: {prefix}
""",
        encoding="utf-8",
    )
    env = dict(os.environ, TEST_PG_PASSWORD=pg.password)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, v text, n bigint, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        _write(session, table, 0, 200)
        first = run_casscade("run", "--config", str(config), "--once", env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        ok = run_casscade("verify", "--config", str(config), env=env)
        assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
        assert "equal" in ok.stdout
        _write(session, table, 200, 100)
        # 100 inserts + 20 updates + 9 deletes since the first run.
        second = run_casscade("run", "--config", str(config), "--once", env=env)
        assert second.returncode == 0, second.stderr[-2000:]
        applied = re.search(rf"pg-{table} (\d+)", second.stdout)
        assert applied is not None, second.stdout
        assert int(applied.group(1)) == 129
        again = run_casscade("verify", "--config", str(config), env=env)
        assert again.returncode == 0, again.stdout[-2000:]
        # A change the agent has not seen makes verify fail and name the key.
        session.execute(f"INSERT INTO {KEYSPACE}.{table} (pk, ck, v, n) VALUES (1, 9999, 'new', 1)")
        stale = run_casscade("verify", "--config", str(config), env=env)
    assert stale.returncode == 1
    assert "DIFFERS" in stale.stdout
    assert "9999" in stale.stdout
    completed = [s for s in scan_cdc_raw(stack.cassandra.layout.cdc_raw_dir)
                 if s.index is not None and s.index.completed]  # fmt: skip
    assert completed == [], [s.path.name for s in completed]
