"""Ties of equal timestamps in a hashed column resolve alike in every destination.

Cassandra breaks a tie between two live cells with equal timestamps by the greater value
(tests/integration/test_timestamp_ties.py). A masked column cannot do that without carrying
the original value, so its tie bytes are the masked value's own; for a hashed value, the
first 8 bytes of its HMAC, which order as the hash's text (docs/sinks.md). Each pair below is
written at one timestamp, in both orders on two rows; the agent replicates into PostgreSQL,
TimescaleDB and ClickHouse with the phone column hashed. Every destination must keep, on both
rows, the greater of the two hashes, whichever write arrived first, whether both meet in one
batch or in two.
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from casscade.config.load import load_config
from casscade.config.models import ClickHouseDestination
from casscade.engine.agent import Agent
from casscade.engine.masking import masking_for
from casscade.masking.strategies import KeyedHasher
from casscade.sinks.clickhouse.client import open_client
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.postgres.ddl import TableLayout
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.stack.manager import Stack
from tests.integration.test_timestamp_ties import KEYSPACE
from tests.integration.test_timestamp_ties import _config as ties_config
from tests.integration.workloads import catch_up, create_keyspace

SECRET = b"masked-ties-key-of-32-bytes-long"
PAIRS = [(f"+1 415 555 {n:04d}", f"+1 415 555 {n + 5000:04d}") for n in range(12)]


def _masking(table: str) -> str:
    """The phone column hashed: YAML added to test_timestamp_ties's configuration."""
    return f"""masking:
  keys: [{{id: k1, secret_env: TEST_TIES_KEY}}]
  active_key: k1
  tables:
    {KEYSPACE}.{table}:
      columns:
        phone: {{class: pii, strategy: hash}}
"""


def _phones(agent: Agent, table: str) -> dict[str, dict[int, object]]:
    """Per destination: each row's phone (the key k: the row)."""
    schema = agent.registry.snapshot.by_name(KEYSPACE, table)
    assert schema is not None
    out: dict[str, dict[int, object]] = {}
    for destination in agent.config.destinations:
        if isinstance(destination, ClickHouseDestination):
            layout = ClickHouseLayout(schema, destination.database_prefix + KEYSPACE)
            client = open_client(destination.dsn, destination.client_options())
            try:
                rows: Any = client.query(f"SELECT k, phone FROM {layout.qualified()}").result_rows
            finally:
                client.close()
        else:
            view = TableLayout(schema, destination.schema_prefix + KEYSPACE).qualified()
            with psycopg.connect(destination.conninfo(), prepare_threshold=None) as conn:
                rows = conn.execute(f"SELECT k, phone FROM {view}").fetchall()
        out[destination.name] = dict(rows)
    return out


@pytest.mark.parametrize("batch", [1, 2000], ids=["event-by-event", "one-batch"])
def test_ties_in_a_hashed_column_keep_the_greater_hash_everywhere(
    stack: Stack, tmp_path: Path, batch: int
) -> None:
    """Of two values written to a hashed column at one timestamp, every destination keeps the
    greater hash on both rows (written in either order), also where Cassandra keeps the other
    value (the greater original)."""
    table = f"t_{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password,
               TEST_TIES_KEY=base64.b64encode(SECRET).decode())  # fmt: skip
    config = load_config(ties_config(stack, tmp_path, table, batch, _masking(table)), environ=env)
    masking = masking_for(config, env)
    assert masking.vault is None
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(f"CREATE TABLE {KEYSPACE}.{table} (k int, c int, phone text, "
                        "PRIMARY KEY (k, c)) WITH cdc = true")  # fmt: skip
        stamp = 1_700_000_000_000_000
        for n, (a, b) in enumerate(PAIRS):
            stamp += 10
            for k, order in ((2 * n, (a, b)), (2 * n + 1, (b, a))):
                for phone in order:
                    session.execute(
                        f"UPDATE {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                        "SET phone = %s WHERE k = %s AND c = 0",
                        (phone, k),
                    )
        cassandra = {
            r.k: r.phone for r in session.execute(f"SELECT k, phone FROM {KEYSPACE}.{table}")
        }
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        agent = Agent(config, registry, masking=masking)
        try:
            catch_up(agent)
        finally:
            agent.close()
    assert agent.failed == {}
    hasher = KeyedHasher("k1", SECRET)  # the hash key is the secret itself
    expected = {}
    for n, (a, b) in enumerate(PAIRS):
        expected[2 * n] = expected[2 * n + 1] = max(hasher.hash(a), hasher.hash(b))
    # Cassandra keeps the greater original on both rows; for some pairs the greater hash is
    # the other value's, so the destinations keep what Cassandra did not (as documented).
    assert cassandra == {k: max(PAIRS[k // 2]) for k in range(2 * len(PAIRS))}
    kept_by_cassandra = {k for k, v in cassandra.items() if hasher.hash(v) == expected[k]}
    assert 0 < len(kept_by_cassandra) < len(cassandra)
    phones = _phones(agent, table)
    assert sorted(phones) == sorted(d.name for d in config.destinations)
    for name, rows in phones.items():
        assert rows == expected, name
