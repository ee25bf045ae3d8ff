"""The oracle on ClickHouse (chDB): replicated tables equal Cassandra's `SELECT *`, any order.

The same seeded workload as the PostgreSQL mirror test, applied to an embedded ClickHouse in
log order and shuffled with every event twice; both equal Cassandra, blobs, decimals, inet
addresses and timestamps included. A folder of its own: chDB opens one folder per process.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import clickhouse_connect

from casscade.commitlog.position import Position
from casscade.engine.verify import compare_table
from casscade.sinks.clickhouse.ddl import ClickHouseLayout, quote
from casscade.sinks.clickhouse.sink import ClickHouseSink
from casscade.stack.manager import Stack
from tests.integration.workloads import (
    KEYSPACE,
    recorded_events,
)


def test_clickhouse_mirror_equals_cassandra_in_log_and_shuffled_order(
    stack: Stack, tmp_path: Path
) -> None:
    """Both ClickHouse databases hold exactly Cassandra's rows and values."""
    table = f"ch_{uuid.uuid4().hex[:10]}"
    dsn = f"chdb://{tmp_path / 'chdb'}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        schema, events = recorded_events(stack, session, table, 600)
        shuffled = events * 2
        random.Random(5).shuffle(shuffled)
        reports = []
        for prefix, batch in (("a_", events), ("b_", shuffled)):
            sink = ClickHouseSink(dsn, name=f"ch-{prefix}{table}", database_prefix=prefix)
            sink.ensure_table(schema)
            sink.apply(batch, node_id="node1", position=Position(1, 100))
            assert sink.position("node1") == Position(1, 100)
            sink.close()
            client = clickhouse_connect.get_client(dsn=dsn)
            layout = ClickHouseLayout(schema, prefix + KEYSPACE)

            def fetch(columns: list[str], layout: ClickHouseLayout = layout,
                      client: object = client) -> Iterable[Sequence[object]]:  # fmt: skip
                sql = f"SELECT {', '.join(quote(c) for c in columns)} FROM {layout.qualified()}"
                return client.query(sql, column_formats={"i": "bytes"}).result_rows  # type: ignore[attr-defined, no-any-return]

            reports.append(compare_table(session, schema, fetch, prefix))
            client.close()
    for report in reports:
        assert report.source_rows > 10
        assert report.equal, report
