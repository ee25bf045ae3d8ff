"""`changelog` mode: every change appended once in PostgreSQL, TimescaleDB and ClickHouse.

The events of a real workload are applied three times over (in log order, then shuffled
with every event twice, then again), as replicas and replays would deliver them: each
destination must hold each distinct event exactly once, with its content. TimescaleDB keeps
the changelog as a hypertable on the write time with compression and retention policies.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path

import clickhouse_connect
import psycopg
from pydantic import SecretStr

from casscade.commitlog.position import Position
from casscade.config.models import (
    ClickHouseDestination,
    Destination,
    PostgresDestination,
    TimescaleDestination,
)
from casscade.engine.agent import sink_for
from casscade.events.model import Op
from casscade.events.serde import event_id
from casscade.stack.manager import Stack
from tests.integration.workloads import KEYSPACE, recorded_events


def test_each_event_is_stored_once_whatever_is_replayed(stack: Stack, tmp_path: Path) -> None:
    """Three deliveries of the same events leave exactly the distinct events, with content."""
    table = f"l_{uuid.uuid4().hex[:10]}"
    with stack.cassandra.cluster() as cluster:
        schema, events = recorded_events(stack, cluster.connect(), table, 300)
    distinct = {event_id(e): e for e in events}
    shuffled = events * 2
    random.Random(9).shuffle(shuffled)
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    prefix = f"cl{uuid.uuid4().hex[:6]}_"
    configs: list[Destination] = [
        PostgresDestination(type="postgres", name=f"pg-{table}", host=pg.host, port=pg.port,
                            database=pg.database, user=pg.user, password=SecretStr(pg.password),
                            schema_prefix=prefix, mode="changelog"),
        TimescaleDestination(type="timescaledb", name=f"ts-{table}", host=ts.host, port=ts.port,
                             database=ts.database, user=ts.user, schema_prefix=prefix,
                             prepared_statements=False, mode="changelog",
                             compress_after="7 days", drop_after="90 days"),
        ClickHouseDestination(type="clickhouse", name=f"ch-{table}", dsn=f"chdb://{tmp_path}/ch",
                              database_prefix=prefix, mode="changelog"),
    ]  # fmt: skip
    for config in configs:
        sink = sink_for(config)
        sink.ensure_table(schema)
        for number, batch in enumerate((events, shuffled, events), 1):
            sink.apply(batch, node_id="n1", position=Position(1, number))
        assert sink.position("n1") == Position(1, 3)
        sink.close()

    qualified = f'"{prefix}{KEYSPACE}"."{table}__changelog"'
    for dsn in (pg.dsn(), ts.dsn()):
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(f"SELECT event_id, op, pk, ck, cells FROM {qualified}").fetchall()
        assert sorted(r[0] for r in rows) == sorted(distinct)
        for ident, op, pk, ck, cells in rows:
            event = distinct[ident]
            assert op == event.op.value
            assert pk == event.partition_key[0]
            assert ck == (event.clustering[0] if event.clustering else None)
            assert [c["column"] for c in cells] == [c.column for c in event.cells]
    with psycopg.connect(ts.dsn()) as conn:
        hypertable = conn.execute(
            "SELECT count(*) FROM timescaledb_information.dimensions WHERE hypertable_schema = %s "
            "AND hypertable_name = %s AND column_name = 'written_at'",
            (prefix + KEYSPACE, f"{table}__changelog"),
        ).fetchone()
        jobs = conn.execute(
            "SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_schema = %s "
            "AND hypertable_name = %s ORDER BY proc_name",
            (prefix + KEYSPACE, f"{table}__changelog"),
        ).fetchall()
    assert hypertable == (1,)
    assert [j[0] for j in jobs] == ["policy_compression", "policy_retention"]

    client = clickhouse_connect.get_client(dsn=f"chdb://{tmp_path}/ch")
    try:
        result = client.query(
            f"SELECT event_id, op, cells FROM `{prefix}{KEYSPACE}`.`{table}__changelog` FINAL"
        ).result_rows
    finally:
        client.close()
    assert sorted(r[0] for r in result) == sorted(distinct)
    deletes = [r for r in result if r[1] != Op.UPSERT.value]
    assert deletes  # the workload deletes rows, ranges and partitions
    assert all(isinstance(json.loads(r[2]), list) for r in result)
