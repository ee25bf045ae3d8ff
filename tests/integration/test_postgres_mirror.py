"""The oracle on PostgreSQL: replicated tables equal Cassandra's `SELECT *`, in any order.

A seeded workload (inserts with and without TTL, partial updates, cell, row, partition and
range deletes, some writes with older timestamps than what they overwrite) is written to
Cassandra, decoded from cdc_raw into change events, and applied to two PostgreSQL
destinations: one in log order, one shuffled with every event twice. Both must hold exactly
the rows and values Cassandra returns.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.position import Position
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.sinks.postgres.sink import PostgresSink
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.tailer import CdcTailer
from casscade.stack.manager import Stack

KEYSPACE = "it_mirror"
COLUMNS = ("a", "b", "c", "d", "e", "f", "g", "h", "i")


def _value(rng: random.Random, column: str) -> object:
    makers: dict[str, Callable[[], object]] = {
        "a": lambda: f"text-{rng.randrange(1000)}",
        "b": lambda: rng.randrange(-(2**63), 2**63),
        "c": lambda: rng.randrange(-(10**6), 10**6) / 4,
        "d": lambda: rng.random() < 0.5,
        "e": lambda: uuid.UUID(int=rng.getrandbits(128), version=4),
        "f": lambda: (
            datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
            + datetime.timedelta(milliseconds=rng.randrange(10**11))
        ),
        "g": lambda: decimal.Decimal(rng.randrange(-(10**9), 10**9)).scaleb(-rng.randrange(5)),
        "h": lambda: f"192.168.{rng.randrange(256)}.{rng.randrange(256)}",
        "i": lambda: rng.randbytes(rng.randrange(0, 12)),
    }
    return makers[column]()


def _workload(session: Any, table: str, operations: int) -> None:
    rng = random.Random(7)
    prepared: dict[str, Any] = {}

    def run(cql: str, params: list[object]) -> None:
        if cql not in prepared:
            prepared[cql] = session.prepare(cql)
        session.execute(prepared[cql], params)

    ts = 1_700_000_000_000_000
    for _ in range(operations):
        ts += rng.randrange(1, 50)
        # One write in ten is older than recent ones: last-write-wins, not last-arrived.
        stamp = ts - rng.randrange(0, 2000) if rng.random() < 0.1 else ts
        pk, ck = rng.randrange(6), rng.randrange(10)
        roll = rng.random()
        if roll < 0.35:
            cols = rng.sample(COLUMNS, rng.randrange(1, len(COLUMNS) + 1))
            ttl = " AND TTL 86400" if rng.random() < 0.2 else ""
            run(f"INSERT INTO {KEYSPACE}.{table} (pk, ck, {', '.join(cols)}) VALUES "
                f"(?, ?, {', '.join('?' * len(cols))}) USING TIMESTAMP {stamp}{ttl}",
                [pk, ck, *(_value(rng, c) for c in cols)])  # fmt: skip
        elif roll < 0.7:
            cols = rng.sample(COLUMNS, rng.randrange(1, 4))
            run(f"UPDATE {KEYSPACE}.{table} USING TIMESTAMP {stamp} SET "
                + ", ".join(f"{c} = ?" for c in cols) + " WHERE pk = ? AND ck = ?",
                [*(_value(rng, c) for c in cols), pk, ck])  # fmt: skip
        elif roll < 0.82:
            run(f"DELETE {rng.choice(COLUMNS)} FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                "WHERE pk = ? AND ck = ?", [pk, ck])  # fmt: skip
        elif roll < 0.92:
            run(f"DELETE FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                "WHERE pk = ? AND ck = ?", [pk, ck])  # fmt: skip
        elif roll < 0.96:
            low = rng.randrange(10)
            run(f"DELETE FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} "
                "WHERE pk = ? AND ck >= ? AND ck < ?",
                [pk, low, low + rng.randrange(1, 4)])  # fmt: skip
        else:
            run(f"DELETE FROM {KEYSPACE}.{table} USING TIMESTAMP {stamp} WHERE pk = ?", [pk])


def _normal(value: object) -> object:
    """One form for values from both drivers (the driver gives naive UTC datetimes)."""
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return round(aware.timestamp() * 1000)
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return bytes(value) or None  # an empty blob reads back as null from Cassandra's view
    return value


def _rows(pairs: Any) -> dict[tuple[object, object], tuple[object, ...]]:
    return {(r[0], r[1]): tuple(_normal(v) for v in r[2:]) for r in pairs}


def test_postgres_mirror_equals_cassandra_in_log_and_shuffled_order(stack: Stack) -> None:
    """Both destinations hold exactly Cassandra's rows and values."""
    table = f"m_{uuid.uuid4().hex[:10]}"
    select = f"SELECT pk, ck, {', '.join(COLUMNS)} FROM {KEYSPACE}.{table}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, a text, b bigint, c double, "
            "d boolean, e uuid, f timestamp, g decimal, h inet, i blob, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        _workload(session, table, 600)
        expected = _rows(session.execute(select))
        tailer = CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry)
        events: list[ChangeEvent] = []
        for record in tailer.poll():
            if isinstance(record, Mutation):
                events.extend(e for e in mutation_to_events(record) if e.table == table)
    schema = registry.snapshot.by_name(KEYSPACE, table)
    assert schema is not None
    assert len(events) == 600
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
            got = _rows(conn.execute(select.replace(KEYSPACE, prefix + KEYSPACE)).fetchall())
        assert got.keys() == expected.keys(), prefix
        assert got == expected, prefix
    assert len(expected) > 10


def test_postgres_mirror_ttl_rows_vanish_when_cassandra_expires_them(stack: Stack) -> None:
    """Rows and values written with a TTL disappear from the view when they expire."""
    table = f"ttl_{uuid.uuid4().hex[:10]}"
    select = f"SELECT pk, ck, a, b FROM {KEYSPACE}.{table}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        session.execute(
            f"CREATE KEYSPACE IF NOT EXISTS {KEYSPACE} WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, a text, b bigint, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        tailer = CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry)
        list(tailer.poll())
        session.execute(
            f"INSERT INTO {KEYSPACE}.{table} (pk, ck, a, b) VALUES (1, 1, 'x', 1) USING TTL 2"
        )
        session.execute(f"INSERT INTO {KEYSPACE}.{table} (pk, ck, a, b) VALUES (1, 2, 'y', 2)")
        session.execute(
            f"UPDATE {KEYSPACE}.{table} USING TTL 2 SET a = 'z' WHERE pk = 1 AND ck = 2"
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
            before = _rows(conn.execute(pg_select).fetchall())
        assert before == _rows(session.execute(select)) == {(1, 1): ("x", 1), (1, 2): ("z", 2)}
        time.sleep(3)
        with psycopg.connect(stack.settings.postgres.dsn()) as conn:
            after = _rows(conn.execute(pg_select).fetchall())
        assert after == _rows(session.execute(select)) == {(1, 2): (None, 2)}
