"""The oracle on PostgreSQL: replicated tables equal Cassandra's `SELECT *`, in any order.

A seeded workload (inserts with and without TTL, partial updates, cell, row, partition and
range deletes, some writes with older timestamps than what they overwrite) is written to
Cassandra, decoded from cdc_raw into change events, and applied to two PostgreSQL
destinations: one in log order, one shuffled with every event twice. Both must hold exactly
the rows and values Cassandra returns.
"""

from __future__ import annotations

import random
import time
import uuid

import psycopg

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.position import Position
from casscade.events.mapping import mutation_to_events
from casscade.sinks.postgres.sink import PostgresSink
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.tailer import CdcTailer
from casscade.stack.manager import Stack
from tests.integration.workloads import (
    COLUMNS,
    KEYSPACE,
    create_keyspace,
    recorded_events,
    rows,
)


def test_postgres_mirror_equals_cassandra_in_log_and_shuffled_order(stack: Stack) -> None:
    """Both destinations hold exactly Cassandra's rows and values."""
    table = f"m_{uuid.uuid4().hex[:10]}"
    select = f"SELECT pk, ck, {', '.join(COLUMNS)} FROM {KEYSPACE}.{table}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        schema, events = recorded_events(stack, session, table, 600)
        expected = rows(session.execute(select))
    shuffled = events * 2
    random.Random(3).shuffle(shuffled)
    dsn = stack.settings.postgres.dsn()
    for prefix, batch in (("a_", events), ("b_", shuffled)):
        sink = PostgresSink(dsn, name=f"test-{prefix}{table}", schema_prefix=prefix)
        sink.ensure_table(schema)
        sink.apply(batch, node_id="node1", position=Position(1, 100))
        assert sink.position("node1") == Position(1, 100)
        sink.close()
        with psycopg.connect(dsn) as conn:
            got = rows(conn.execute(select.replace(KEYSPACE, prefix + KEYSPACE)).fetchall())
        assert got.keys() == expected.keys(), prefix
        assert got == expected, prefix
    assert len(expected) > 10


def test_postgres_mirror_ttl_rows_vanish_when_cassandra_expires_them(stack: Stack) -> None:
    """Rows and values written with a TTL disappear from the view when they expire."""
    table = f"ttl_{uuid.uuid4().hex[:10]}"
    select = f"SELECT pk, ck, a, b FROM {KEYSPACE}.{table}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, a text, b bigint, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        tailer = CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry)
        list(tailer.poll())
        session.execute(
            f"INSERT INTO {KEYSPACE}.{table} (pk, ck, a, b) VALUES (1, 1, 'x', 1) USING TTL 6"
        )
        session.execute(f"INSERT INTO {KEYSPACE}.{table} (pk, ck, a, b) VALUES (1, 2, 'y', 2)")
        session.execute(
            f"UPDATE {KEYSPACE}.{table} USING TTL 6 SET a = 'z' WHERE pk = 1 AND ck = 2"
        )
        events = [e for r in tailer.poll() if isinstance(r, Mutation)
                  for e in mutation_to_events(r) if e.table == table]  # fmt: skip
        schema = registry.snapshot.by_name(KEYSPACE, table)
        assert schema is not None
        sink = PostgresSink(stack.settings.postgres.dsn(), name=f"ttl-{table}", schema_prefix="t_")
        sink.ensure_table(schema)
        sink.apply(events, node_id="node1", position=Position(1, 1))
        sink.close()
        pg_select = select.replace(KEYSPACE, "t_" + KEYSPACE)
        with psycopg.connect(stack.settings.postgres.dsn()) as conn:
            before = rows(conn.execute(pg_select).fetchall())
        assert before == rows(session.execute(select)) == {(1, 1): ("x", 1), (1, 2): ("z", 2)}
        time.sleep(7)  # past the TTL (6 s): generous, so a slow apply above cannot race it
        with psycopg.connect(stack.settings.postgres.dsn()) as conn:
            after = rows(conn.execute(pg_select).fetchall())
        assert after == rows(session.execute(select)) == {(1, 2): (None, 2)}
