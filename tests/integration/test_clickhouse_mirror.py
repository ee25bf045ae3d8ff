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

from casscade.commitlog.mutation import Mutation
from casscade.commitlog.position import Position
from casscade.engine.verify import compare_table
from casscade.events.mapping import mutation_to_events
from casscade.events.model import ChangeEvent
from casscade.sinks.clickhouse.ddl import ClickHouseLayout, quote
from casscade.sinks.clickhouse.sink import ClickHouseSink
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.tailer import CdcTailer
from casscade.stack.manager import Stack
from tests.integration.workloads import KEYSPACE, TABLE_COLUMNS, create_keyspace, workload


def test_clickhouse_mirror_equals_cassandra_in_log_and_shuffled_order(
    stack: Stack, tmp_path: Path
) -> None:
    """Both ClickHouse databases hold exactly Cassandra's rows and values."""
    table = f"ch_{uuid.uuid4().hex[:10]}"
    dsn = f"chdb://{tmp_path / 'chdb'}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(f"CREATE TABLE {KEYSPACE}.{table} ({TABLE_COLUMNS}) WITH cdc = true")
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        workload(session, table, 600)
        events: list[ChangeEvent] = []
        for record in CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry).poll():
            if isinstance(record, Mutation):
                events.extend(e for e in mutation_to_events(record) if e.table == table)
        schema = registry.snapshot.by_name(KEYSPACE, table)
        assert schema is not None
        assert len(events) == 600
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
