"""Counter tables replicate exactly into PostgreSQL, TimescaleDB and ClickHouse (the oracle).

Each counter is kept as its nodes' shards (a node's running count, the newest one winning),
and the destination shows their sum, as Cassandra does. A seeded workload of increments,
decrements, counter and row deletions, applied in log order and shuffled with every event
twice, must equal Cassandra's `SELECT *`.
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


def test_counters_equal_cassandra_in_log_and_shuffled_order(stack: Stack, tmp_path: Path) -> None:
    """The sums of live shards equal Cassandra's counters; deleted ones are gone."""
    table = f"k_{uuid.uuid4().hex[:10]}"
    rng = random.Random(17)
    with stack.cassandra.cluster() as cluster:
        session: Any = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (pk int, ck int, hits counter, bytes counter, "
            "PRIMARY KEY (pk, ck)) WITH cdc = true"
        )
        t = f"{KEYSPACE}.{table}"
        for k in range(300):
            pk, ck = rng.randint(0, 5), rng.randint(0, 4)
            choice = rng.random()
            if choice < 0.8:
                session.execute(f"UPDATE {t} SET hits = hits + {rng.randint(-3, 9)}, "
                                f"bytes = bytes + {k} WHERE pk = {pk} AND ck = {ck}")  # fmt: skip
            elif choice < 0.9:
                session.execute(f"UPDATE {t} SET hits = hits + 1 WHERE pk = {pk} AND ck = {ck}")
            else:
                session.execute(f"DELETE FROM {t} WHERE pk = {pk} AND ck = {ck}")
        events = _events(stack, session, {table})
        reports = mirrored_everywhere(stack, session, tmp_path, [_schema(session, table)], events,
                                      tag=f"k{table[2:8]}")  # fmt: skip
        totals = list(session.execute(f"SELECT hits FROM {t}"))
    assert any(r.hits not in (None, 0) for r in totals)
    assert len(reports) == 6
    for report in reports:
        assert report.equal, report
        assert report.source_rows > 5
