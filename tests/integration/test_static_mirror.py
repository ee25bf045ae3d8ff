"""Static columns replicate exactly into PostgreSQL, TimescaleDB and ClickHouse (the oracle).

A seeded workload over a table with two static columns: rows with statics, static-only
updates and inserts (partitions with no rows), static cell deletions, row, range and
partition deletions, writes with older timestamps. Applied in log order and shuffled with
every event twice, each destination must equal Cassandra's `SELECT *`, including the
partitions that show one row of statics with null clustering and regular columns.
"""

from __future__ import annotations

import random
import uuid
from pathlib import Path
from typing import Any

from casscade.stack.manager import Stack
from tests.integration.test_collections_mirror import _events, _schema
from tests.integration.workloads import create_keyspace, mirrored_everywhere

KEYSPACE = "it_collections"


def _operations(rng: random.Random, table: str, count: int) -> list[str]:
    t = f"{KEYSPACE}.{table}"
    ops = []
    for k in range(count):
        pk, ck, stamp = rng.randint(0, 7), rng.randint(0, 5), 1_000_000 + k * 10
        older = stamp - rng.randint(1, 5_000)
        ops.append(rng.choice([
            f"INSERT INTO {t} (pk, ck, s, s2, v) VALUES ({pk}, {ck}, 's{k}', {k}, 'v{k}') "
            f"USING TIMESTAMP {stamp}",
            f"UPDATE {t} USING TIMESTAMP {stamp} SET s = 'only{k}' WHERE pk = {pk}",
            f"UPDATE {t} USING TIMESTAMP {older} SET s2 = {-k} WHERE pk = {pk}",
            f"INSERT INTO {t} (pk, s) VALUES ({pk}, 'lonely{k}') USING TIMESTAMP {stamp}",
            f"UPDATE {t} USING TIMESTAMP {stamp} SET v = 'u{k}' WHERE pk = {pk} AND ck = {ck}",
            f"DELETE s FROM {t} USING TIMESTAMP {stamp} WHERE pk = {pk}",
            f"DELETE FROM {t} USING TIMESTAMP {stamp} WHERE pk = {pk} AND ck = {ck}",
            f"DELETE FROM {t} USING TIMESTAMP {stamp} WHERE pk = {pk} AND ck > {ck}",
            f"DELETE FROM {t} USING TIMESTAMP {older} WHERE pk = {pk}",
        ]))  # fmt: skip
    # Partitions that end with statics and no live row: static-only inserts, and a partition
    # whose only row is deleted.
    ops += [f"INSERT INTO {t} (pk, s, s2) VALUES ({pk}, 'alone{pk}', {pk})" for pk in (100, 101)]
    ops += [f"INSERT INTO {t} (pk, ck, s, v) VALUES (102, 1, 'kept', 'gone')",
            f"DELETE FROM {t} WHERE pk = 102 AND ck = 1"]  # fmt: skip
    return ops


def test_static_columns_equal_cassandra_in_log_and_shuffled_order(
    stack: Stack, tmp_path: Path
) -> None:
    """Rows carry their partition's statics; static-only partitions show one row."""
    table = f"s_{uuid.uuid4().hex[:10]}"
    with stack.cassandra.cluster() as cluster:
        session: Any = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, s text static, s2 int static, "
            "v text, PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        for cql in _operations(random.Random(21), table, 400):
            session.execute(cql)
        events = _events(stack, session, {table})
        lonely = [r for r in session.execute(f"SELECT pk, ck, s FROM {KEYSPACE}.{table}")
                  if r.ck is None]  # fmt: skip
        assert lonely, "the workload should leave partitions with statics and no rows"
        reports = mirrored_everywhere(stack, session, tmp_path, [_schema(session, table)], events,
                                      tag=f"s{table[2:8]}")  # fmt: skip
    assert len(reports) == 6
    for report in reports:
        assert report.equal, report
        assert report.source_rows > 8
