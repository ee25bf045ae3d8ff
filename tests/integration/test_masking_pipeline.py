"""The masking acceptance scenario: classified columns never reach a destination raw.

A table with an email, an SSN, a phone number, a medical record number (the key) and name,
city and age is replicated by the real agent into PostgreSQL, TimescaleDB and ClickHouse
with rules for the four classified columns. In every destination the classified columns are
masked (the same input gives the same output everywhere), the others are readable, `casscade
verify` (which masks Cassandra's side the same way) finds the tables equal, `casscade audit`
passes and `casscade detokenize` gives an SSN back. Logs at debug level, /metrics, /status and
dead letters hold no raw value and no key. With the phone column left unclassified, `casscade
audit` fails and names it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import structlog
from prometheus_client import generate_latest

from casscade.config.load import load_config
from casscade.engine.agent import Agent
from casscade.engine.masking import Masking, masking_for
from casscade.observability import configure_logging, to_json
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, run_casscade

KEYSPACE = "it_masking"
HASH_KEY = base64.b64encode(b"h" * 24 + uuid.uuid4().bytes[:8]).decode()
VAULT_KEY = base64.b64encode(b"v" * 24 + uuid.uuid4().bytes[:8]).decode()
PEOPLE = [
    # mrn, email, ssn, phone, name, city, age
    ("MRN-000101", "alice@example.com", "123-45-6789", "+1 415 555 0101", "Alice", "Paris", 34),
    ("MRN-000102", "bob@example.org", "234-56-7890", "+1 415 555 0102", "Bob", "Lyon", 51),
    ("MRN-000103", "carol@example.com", "345-67-8901", "+1 415 555 0101", "Carol", "Nice", 29),
    ("MRN-000104", "dan@example.net", "456-78-9012", "+1 415 555 0104", "Dan", "Paris", 42),
]
RAW = [v for person in PEOPLE for v in person[:4]]


def _config(stack: Stack, tmp_path: Path, table: str, tag: str, *, phone_rule: bool) -> Path:
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    phone = "        phone: {class: pii, strategy: hash}\n" if phone_rule else ""
    path = tmp_path / f"{tag}.yaml"
    path.write_text(
        f"""
source:
  node_id: node1
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{tag}, host: {pg.host}, port: {pg.port}, database: {pg.database},
      user: {pg.user}, password_env: TEST_PG_PASSWORD, schema_prefix: {tag}_}}
  - {{type: timescaledb, name: ts-{tag}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false,
      schema_prefix: {tag}_}}
  - {{type: clickhouse, name: ch-{tag}, dsn: "chdb://{tmp_path}/ch", database_prefix: {tag}_}}
dead_letters: {{directory: {tmp_path}/dlq-{tag}}}
masking:
  keys:
    - {{id: k1, secret_env: TEST_HASH_KEY}}
    - {{id: vault1, secret_env: TEST_VAULT_KEY}}
  active_key: k1
  vault_key: vault1
  vault: {{destination: pg-{tag}, schema: masking_{tag}}}
  tables:
    {KEYSPACE}.{table}:
      columns:
        mrn: {{class: phi, strategy: tokenize}}
        email: {{class: pii, strategy: email}}
        ssn: {{class: pii, strategy: tokenize}}
{phone}""",
        encoding="utf-8",
    )
    return path


def _pg_rows(dsn: str, view: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            f"SELECT mrn, email, ssn, phone, name, city, age FROM {view} ORDER BY name"
        ).fetchall()


def _replicate(stack: Stack, session: Any, path: Path, env: dict[str, str]) -> str:
    """Run the agent in-process until caught up; return its debug log, /metrics and /status."""
    config = load_config(path, environ=env)
    masker, vault = masking_for(config, env)
    stream = io.StringIO()
    saved_structlog = structlog.get_config()
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    configure_logging(json=True, level="debug", stream=stream)
    agent = Agent(config, SchemaRegistry(lambda: read_schema_rows(session)),
                  masking=Masking(masker, vault))  # fmt: skip
    try:
        for _ in range(20):
            stats = agent.poll()
            assert not stats.unavailable, stats.unavailable
            if stats.mutations == 0:
                break
        assert agent.failed == {}
    finally:
        agent.close()
        if vault is not None:
            vault.close()
        structlog.configure(**saved_structlog)
        root.handlers, root.level = saved_handlers, saved_level
    metrics = generate_latest(agent.telemetry.metrics.registry).decode()
    status = json.dumps(to_json(agent.telemetry.board.snapshot()))
    return stream.getvalue() + metrics + status


def test_classified_columns_are_masked_everywhere_and_audit_proves_it(
    stack: Stack, tmp_path: Path
) -> None:
    """Masked in all three destinations, verify equal, audit clean, nothing leaks."""
    table = f"p_{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password,
               TEST_HASH_KEY=HASH_KEY, TEST_VAULT_KEY=VAULT_KEY)  # fmt: skip
    masked_config = _config(stack, tmp_path, table, "m", phone_rule=True)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (mrn text PRIMARY KEY, email text, ssn text, "
            "phone text, name text, city text, age int) WITH cdc = true"
        )
        for person in PEOPLE:
            session.execute(
                f"INSERT INTO {KEYSPACE}.{table} (mrn, email, ssn, phone, name, city, age) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                person,
            )
        surface = _replicate(stack, session, masked_config, env)

        dsn = stack.settings.postgres.dsn()
        pg = _pg_rows(dsn, f'"m_{KEYSPACE}"."{table}"')
        ts = _pg_rows(stack.settings.timescaledb.dsn(), f'"m_{KEYSPACE}"."{table}"')
        assert [r[4:] for r in pg] == [p[4:] for p in sorted(PEOPLE, key=lambda p: p[4])]
        assert pg == ts  # same input, same output, in every destination
        for mrn, email, ssn, phone, *_ in pg:
            assert mrn.startswith("tok:k1:")
            assert ssn.startswith("tok:k1:")
            assert phone.startswith("k1:")
            assert email.startswith("***@example.")
        # Sorted by name: Alice, Bob, Carol, Dan; Alice and Carol share a phone number.
        assert pg[0][3] == pg[2][3]
        assert pg[0][3] != pg[1][3]
        assert not any(str(value) in json.dumps(pg) for value in RAW)

        verified = run_casscade("verify", "--config", str(masked_config), env=env)
        assert verified.returncode == 0, verified.stdout[-3000:] + verified.stderr[-2000:]
        assert verified.stdout.count("equal") == 3
        audited = run_casscade("audit", "--config", str(masked_config), env=env)
        assert audited.returncode == 0, audited.stdout[-3000:] + audited.stderr[-2000:]
        assert "no raw PII found" in audited.stdout
        alice_ssn = pg[0][2]
        back = run_casscade("detokenize", "--config", str(masked_config), "--actor", "auditor",
                         "--reason", "test", alice_ssn, env=env)  # fmt: skip
        assert back.returncode == 0, back.stderr
        assert back.stdout.strip() == "123-45-6789"
        with psycopg.connect(dsn) as conn:
            audit_rows = conn.execute(
                "SELECT count(*) FROM masking_m.detokenize_audit "
                "WHERE actor = 'auditor' AND token = %s",
                (alice_ssn,),
            ).fetchone()
        assert audit_rows == (1,)

        for secret in (*RAW, HASH_KEY, VAULT_KEY):
            assert secret not in surface, "a raw value or key in logs, /metrics or /status"
        for letters in (tmp_path / "dlq-m").glob("*"):
            text = letters.read_text()
            assert not any(secret in text for secret in (*RAW, HASH_KEY, VAULT_KEY))

        unmasked_config = _config(stack, tmp_path, table, "u", phone_rule=False)
        _replicate(stack, session, unmasked_config, env)
        leaked = run_casscade("audit", "--config", str(unmasked_config), env=env)
    assert leaked.returncode == 1
    assert "phone" in leaked.stdout
    assert "raw PII may have reached a destination" in leaked.stdout
