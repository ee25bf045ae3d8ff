"""Masking rules reloaded on SIGHUP: new rules apply to changes from then on, no restart.

`casscade run` replicates a table whose email column is masked; then the configuration gains
a rule for the phone column and the agent gets SIGHUP. Rows written before keep their phone
as it was (no retroactive rewrite); rows written after have it hashed; the log names both
rule set versions. SIGTERM then stops the agent cleanly.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from casscade.config.load import load_config
from casscade.engine.agent import Agent, PollStats
from casscade.engine.masking import Masking, masking_for
from casscade.masking import Masker, load_keys
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.workloads import catch_up, create_keyspace, verify_everywhere

KEYSPACE = "it_reload"
KEY = base64.b64encode(uuid.uuid4().bytes * 2).decode()
DEADLINE_S = 60.0


def _write_config(
    path: Path, stack: Stack, table: str, *, phone: bool, clickhouse: Path | None = None
) -> None:
    """PostgreSQL (and ClickHouse in chDB at `clickhouse`); email masked, and phone if asked."""
    pg = stack.settings.postgres
    rule = "        phone: {class: pii, strategy: hash}\n" if phone else ""
    chdb = ""
    if clickhouse is not None:
        chdb = (
            f'  - {{type: clickhouse, name: ch-{table}, dsn: "chdb://{clickhouse}", '
            f"database_prefix: r_}}\ndead_letters: {{directory: {clickhouse}-dlq}}\n"
        )
    path.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
  poll_interval_ms: 100
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: r_}}
{chdb}http: {{port: 0}}
masking:
  keys: [{{id: k1, secret_env: TEST_MASK_KEY}}]
  active_key: k1
  tables:
    {KEYSPACE}.{table}:
      columns:
        email: {{class: pii, strategy: email}}
{rule}""",
        encoding="utf-8",
    )


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {DEADLINE_S} s: {what}")


def test_sighup_applies_new_masking_rules_to_later_changes(stack: Stack, tmp_path: Path) -> None:
    """Phones before the reload stay as written, phones after it are hashed."""
    table = f"r_{uuid.uuid4().hex[:10]}"
    config = tmp_path / "casscade.yaml"
    _write_config(config, stack, table, phone=False)
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password,
               TEST_MASK_KEY=KEY)  # fmt: skip
    view = f'"r_{KEYSPACE}"."{table}"'
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        _create_table(session, table)
        agent = subprocess.Popen(
            [sys.executable, "-c", "from casscade.cli.main import main; main()",
             "run", "--config", str(config)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(iter(agent.stdout.readline, "")),  # type: ignore[union-attr]
                                  daemon=True)  # fmt: skip
        reader.start()

        def rows() -> list[tuple[object, ...]]:
            try:
                with psycopg.connect(stack.settings.postgres.dsn()) as conn:
                    return conn.execute(
                        f"SELECT id, email, phone FROM {view} ORDER BY id"
                    ).fetchall()
            except psycopg.errors.UndefinedTable:
                return []

        try:
            _insert(session, table, range(5))
            _until(lambda: len(rows()) == 5, "the first five rows arrive")
            _write_config(config, stack, table, phone=True)
            agent.send_signal(signal.SIGHUP)
            _until(lambda: any("masking_rules_reloaded" in line for line in lines),
                   "the agent logs the reload")  # fmt: skip
            _insert(session, table, range(5, 10))
            _until(lambda: len(rows()) == 10, "the next five rows arrive")
        finally:
            agent.send_signal(signal.SIGTERM)
            code = agent.wait(timeout=60)
            reader.join(timeout=10)
            if agent.stdout is not None:
                agent.stdout.close()
    assert code == 0, "".join(lines[-30:])
    got = rows()
    assert [r[2] for r in got[:5]] == [f"+1 555 010{k}" for k in range(5)]
    assert all(str(r[2]).startswith("k1:") for r in got[5:])
    assert all(str(r[1]).startswith("***@example.com") for r in got)
    reload_line = json.loads(next(line for line in lines if "masking_rules_reloaded" in line))
    assert reload_line["old_rules_version"] != reload_line["rules_version"]


def test_a_reload_masks_what_was_read_and_not_applied_with_the_new_rules(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL reads five rows under the old rules (phone in the clear) and is stopped
    before applying them; ClickHouse has not read them yet. After the reload (phone hashed)
    both apply them: every phone is hashed in both. PostgreSQL read them again with the new
    rules, and ClickHouse did not take the events PostgreSQL had mapped under the old ones."""
    table = f"r_{uuid.uuid4().hex[:10]}"
    path = tmp_path / "casscade.yaml"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password, TEST_MASK_KEY=KEY)
    _write_config(path, stack, table, phone=False, clickhouse=tmp_path / "ch")
    old = load_config(path, environ=env)
    _write_config(path, stack, table, phone=True, clickhouse=tmp_path / "ch")
    new_rules = load_config(path, environ=env).masking
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        _create_table(session, table)
        _insert(session, table, range(5))
        agent = Agent(old, SchemaRegistry(lambda: read_schema_rows(session)),
                      masking=Masking(masking_for(old, env).masker))  # fmt: skip
        try:
            postgres = next(d for d in agent._destinations if d.config.type == "postgres")
            with monkeypatch.context() as patch:  # reads, never applies
                patch.setattr(agent, "_flush", lambda destination, stats: None)
                _until(lambda: _read_into(agent, postgres) == 5, "PostgreSQL reads the rows")
            agent.reload_masking(Masker(new_rules, load_keys(new_rules, environ=env)), None)
            # ClickHouse first: the shared events of these entries are PostgreSQL's, masked
            # under the old rules.
            clickhouse = next(d for d in agent._destinations if d.config.type == "clickhouse")
            agent._poll_one(clickhouse, PollStats())
            catch_up(agent)
            assert agent.failed == {}
        finally:
            agent.close()
        reports = verify_everywhere(agent, session, KEYSPACE, table)
    assert len(reports) == 2
    for report in reports:  # equal to Cassandra's rows masked with the new rules
        assert report.equal, report
        assert report.destination_rows == 5


def _create_table(session: Any, table: str) -> None:
    create_keyspace(session, KEYSPACE)
    session.execute(
        f"CREATE TABLE {KEYSPACE}.{table} (id int PRIMARY KEY, email text, phone text) "
        "WITH cdc = true"
    )


def _insert(session: Any, table: str, keys: range) -> None:
    insert = f"INSERT INTO {KEYSPACE}.{table} (id, email, phone) VALUES (%s, %s, %s)"
    for k in keys:
        session.execute(insert, (k, f"user{k}@example.com", f"+1 555 010{k}"))


def _read_into(agent: Agent, destination: Any) -> int:
    agent._poll_one(destination, PollStats())
    return len(destination.pending)
