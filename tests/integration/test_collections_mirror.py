"""Collections, UDTs, tuples, vectors, time and duration replicate exactly (the oracle).

A seeded workload of element-level collection operations (appends, prepends, adds, removes,
puts, element and whole-column deletions, overwrites, TTL elements, row deletions) runs
against a real Cassandra; its change events are applied to PostgreSQL and TimescaleDB in log
order and shuffled with every event twice, and to ClickHouse likewise. Each
must equal Cassandra's `SELECT *` as `casscade verify` compares it.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.schema import TableSchema
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.tailer import CdcTailer
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, mirrored_everywhere

KEYSPACE = "it_collections"
FROZEN_COLUMNS = (
    "fl frozen<list<text>>, fs frozen<set<int>>, fm frozen<map<text, bigint>>, "
    "tu tuple<int, text, timestamp>, fa frozen<address>, tm time, du duration, "
    "vf vector<float, 3>, vt vector<text, 2>"
)


def _frozen_values(rng: random.Random, k: int) -> dict[str, str]:
    """CQL literals for every frozen-table column."""
    return {
        "fl": f"['a{k}', 'b', '{'x' * rng.randint(0, 3)}']",
        "fs": "{" + ", ".join(str(rng.randint(-5, 5)) for _ in range(rng.randint(1, 4))) + "}",
        "fm": f"{{'one': {k}, 'two': {-k * 1000}}}",
        "tu": f"({k}, 'text {k}', '2026-01-0{1 + k % 9}T10:00:00.123Z')",
        "fa": f"{{street: 'street {k}', zip: {10000 + k}}}",
        "tm": f"'{k % 24:02d}:{k % 60:02d}:07.123456789'",
        "du": f"{k}mo{k % 28}d{k * 1000 + 7}ns",
        "vf": f"[{k}.5, -1.25, 3.0]",
        "vt": f"['v{k}', 'w']",
    }


def _collection_ops(rng: random.Random, table: str, k: int) -> list[str]:
    """Element-level operations on row (k % 5, k % 7) of the multi-cell table."""
    where = f"WHERE pk = {k % 5} AND ck = {k % 7}"
    t = f"{KEYSPACE}.{table}"
    choices = [
        f"UPDATE {t} SET l = l + [{k}] {where}",
        f"UPDATE {t} SET l = [{k}, {k + 1}] + l {where}",
        f"UPDATE {t} SET l = [{k}] {where}",
        f"UPDATE {t} SET s = s + {{'e{k % 6}'}} {where}",
        f"UPDATE {t} SET s = s - {{'e{k % 6}'}} {where}",
        f"UPDATE {t} SET m = m + {{'k{k % 4}': {k}}} {where}",
        f"DELETE m['k{k % 4}'] FROM {t} {where}",
        f"UPDATE {t} SET mi[{k % 3}] = 'v{k}' {where}",
        f"UPDATE {t} SET a.street = 'st {k}' {where}",
        f"UPDATE {t} SET a = {{street: 'whole {k}', zip: {k}}} {where}",
        f"DELETE s FROM {t} {where}",
        f"UPDATE {t} USING TTL 3600 SET l = l + [{-k}] {where}",
        f"INSERT INTO {t} (pk, ck, l, s, m) VALUES ({k % 5}, {k % 7}, [1], {{'i'}}, {{'x': 1}})",
    ]
    ops = [rng.choice(choices)]
    if k % 37 == 0:
        ops.append(f"DELETE FROM {t} {where}")
    return ops


def _events(stack: Stack, session: Any, tables: set[str]) -> list[ChangeEvent]:
    registry = SchemaRegistry(lambda: read_schema_rows(session))
    events: list[ChangeEvent] = []
    for record in CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry).poll():
        if isinstance(record, Mutation):
            events.extend(e for e in mutation_to_events(record) if e.table in tables)
    return events


def _schema(session: Any, table: str) -> TableSchema:
    schema = SchemaRegistry(lambda: read_schema_rows(session)).snapshot.by_name(KEYSPACE, table)
    assert schema is not None
    return schema


def test_collections_and_composite_types_equal_cassandra(stack: Stack, tmp_path: Path) -> None:
    """PostgreSQL, TimescaleDB and ClickHouse hold both tables exactly; in log
    order and shuffled with duplicates."""
    suffix = uuid.uuid4().hex[:8]
    multi, frozen = f"c_{suffix}", f"f_{suffix}"
    rng = random.Random(11)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(f"CREATE TYPE IF NOT EXISTS {KEYSPACE}.address (street text, zip int)")
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{multi} (pk int, ck int, l list<int>, s set<text>, "
            "m map<text, int>, mi map<int, text>, a address, n text, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{frozen} (pk int, ck int, {FROZEN_COLUMNS}, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        for k in range(300):
            for cql in _collection_ops(rng, multi, k):
                session.execute(cql)
            values = _frozen_values(rng, k)
            names = rng.sample(sorted(values), rng.randint(1, len(values)))
            session.execute(
                f"INSERT INTO {KEYSPACE}.{frozen} (pk, ck, {', '.join(names)}) "
                f"VALUES ({k % 4}, {k % 9}, {', '.join(values[n] for n in names)})"
            )
        shapes = list(session.execute(f"SELECT l, s, m, mi, a FROM {KEYSPACE}.{multi}"))
        assert any(len(r.l or ()) >= 2 for r in shapes)  # the oracle has something to compare
        assert all(any(getattr(r, c) for r in shapes) for c in ("s", "m", "mi", "a"))
        events = _events(stack, session, {multi, frozen})
        schemas = [_schema(session, multi), _schema(session, frozen)]
        reports = mirrored_everywhere(
            stack, session, tmp_path, schemas, events, tag=f"c{suffix[:6]}"
        )
    assert len(reports) == 12
    for report in reports:
        assert report.equal, report
        assert report.source_rows > 10, report
