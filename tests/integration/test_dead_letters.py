"""Poison events become dead letters; the rest replicates; `casscade dlq` lists and replays.

Three kinds of poison, from a real Cassandra: a text with a NUL character (PostgreSQL text
cannot hold it), a timestamp in year 10000 (beyond PostgreSQL's and the client's datetime
range), and a value a constraint the operator added to the destination refuses (fixed by
dropping the constraint, then replayed).
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import psycopg

from casscade.config.load import load_config
from casscade.engine.agent import Agent
from casscade.engine.deadletters import DeadLetter, DeadLetterStore
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, run_casscade

KEYSPACE = "it_dead_letters"
YEAR_10000_MS = 253_402_300_800_000 + 86_400_000  # 10000-01-02T00:00:00Z


def _config(stack: Stack, tmp_path: Path, table: str, prefix: str) -> Path:
    """An agent configuration: PostgreSQL and ClickHouse, dead letters under tmp_path."""
    pg = stack.settings.postgres
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: {prefix}}}
  - {{type: clickhouse, name: ch-{table}, dsn: "chdb://{tmp_path}/ch", database_prefix: {prefix}}}
dead_letters: {{directory: {tmp_path}/dlq}}
""",
        encoding="utf-8",
    )
    return path


def _id(letter: DeadLetter) -> int:
    """The row id (the partition key) of a dead letter's event."""
    return int(str(letter.event.partition_key[0]))


def _write(session: object, table: str) -> None:
    """60 good rows and three poison ones (ids 100-102) between them."""
    insert = f"INSERT INTO {KEYSPACE}.{table} (id, name, at) VALUES (%s, %s, %s)"
    execute = session.execute  # type: ignore[attr-defined]
    for k in range(40):
        execute(insert, (k, f"name {k}", None))
    execute(insert, (100, "nul \x00 inside", None))
    execute(f"INSERT INTO {KEYSPACE}.{table} (id, at) VALUES (101, {YEAR_10000_MS})")
    execute(insert, (102, "forbidden", None))
    for k in range(40, 60):
        execute(insert, (k, f"name {k}", None))


def _run(
    agent: Agent, destinations: tuple[str, ...], rows: int
) -> tuple[dict[str, int], dict[str, int]]:
    """Poll until every destination applied `rows` events: (applied, dead letters) per name."""
    applied: dict[str, int] = {}
    dead: dict[str, int] = {}
    for _ in range(50):
        stats = agent.poll()
        for name, count in stats.applied.items():
            applied[name] = applied.get(name, 0) + count
        for name, count in stats.dead_letters.items():
            dead[name] = dead.get(name, 0) + count
        if all(applied.get(n, 0) >= rows for n in destinations):
            break
    return applied, dead


def test_poison_events_become_dead_letters_and_replay_after_the_fix(
    stack: Stack, tmp_path: Path
) -> None:
    """Good rows arrive in both destinations, each poison event is kept once per destination
    that refused it, the position moves on, and a replay after the fix applies it."""
    table = f"d_{uuid.uuid4().hex[:10]}"
    prefix = f"dl{uuid.uuid4().hex[:6]}_"
    config_path = _config(stack, tmp_path, table, prefix)
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password)
    config = load_config(config_path, environ=env)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (id int PRIMARY KEY, name text, at timestamp) "
            "WITH cdc = true"
        )
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        agent = Agent(config, registry)
        agent.poll()  # creates the destination tables
        with psycopg.connect(stack.settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute(
                f'ALTER TABLE "{prefix}{KEYSPACE}"."{table}__state" '
                "ADD CONSTRAINT no_forbidden CHECK (name <> 'forbidden')"
            )
        _write(session, table)
        applied, dead = _run(agent, (f"pg-{table}", f"ch-{table}"), rows=63)
        agent.close()
        assert agent.failed == {}
        assert applied == {f"pg-{table}": 63, f"ch-{table}": 63}
        assert dead == {f"pg-{table}": 3, f"ch-{table}": 1}

        store = DeadLetterStore(tmp_path / "dlq")
        pg_letters = {_id(letter): letter for letter in store.list(f"pg-{table}")}
        ch_letters = {_id(letter): letter for letter in store.list(f"ch-{table}")}
        assert sorted(pg_letters) == [100, 101, 102]
        assert sorted(ch_letters) == [101]  # ClickHouse holds NUL characters
        assert "0x00" in pg_letters[100].error
        assert "no_forbidden" in pg_letters[102].error
        assert all(letter.attempts == 1 for letter in pg_letters.values())

        listed = run_casscade("dlq", "list", "--config", str(config_path), "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        lines = [json.loads(line) for line in listed.stdout.splitlines()]
        assert sorted(
            (d["destination"][:2], d["event"]["partition_key"]["v"][0]) for d in lines
        ) == [("ch", 101), ("pg", 100), ("pg", 101), ("pg", 102)]

        verified = run_casscade("verify", "--config", str(config_path), env=env)
        assert verified.returncode == 1  # the dead-lettered rows are missing
        assert "DIFFERS" in verified.stdout

        with psycopg.connect(stack.settings.postgres.dsn(), autocommit=True) as conn:
            conn.execute(
                f'ALTER TABLE "{prefix}{KEYSPACE}"."{table}__state" DROP CONSTRAINT no_forbidden'
            )
        replayed = run_casscade("dlq", "replay", "--config", str(config_path),
                             "--destination", f"pg-{table}", env=env)  # fmt: skip
        assert replayed.returncode == 1  # NUL and year 10000 still cannot go in
        assert "replayed 1 of 3" in replayed.stdout
        left = {_id(letter): letter for letter in store.list(f"pg-{table}")}
        assert sorted(left) == [100, 101]
        assert all(letter.attempts == 2 for letter in left.values())
        with psycopg.connect(stack.settings.postgres.dsn()) as conn:
            got = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE name = %s) "
                f'FROM "{prefix}{KEYSPACE}"."{table}"',
                ("forbidden",),
            ).fetchone()
        assert got == (61, 1)  # 60 good rows and the replayed one
