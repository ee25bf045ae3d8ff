"""Tailing the live node's cdc_raw: only new durable entries per poll, then segment ends."""

from __future__ import annotations

import time
import uuid

from casscade.commitlog.mutation import Mutation
from casscade.source.registry import SchemaRegistry
from casscade.source.schema import read_schema_rows
from casscade.source.tailer import CdcTailer, SegmentFinished, TailRecord
from casscade.stack.manager import Stack


def _keys(records: list[TailRecord], table: str) -> list[int]:
    keys: list[int] = []
    for record in records:
        if isinstance(record, Mutation):
            keys.extend(
                int(str(u.partition_key[0])) for u in record.updates if u.table == table
            )  # fmt: skip
    return keys


def test_tailer_follows_growing_index_and_finishes_full_segments(stack: Stack) -> None:
    """Each poll yields exactly the writes made since the last one, in order; filling a
    segment makes it COMPLETED and the tailer reports it finished and moves on."""
    table = f"tail_{uuid.uuid4().hex[:10]}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS it_tail WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute(f"CREATE TABLE it_tail.{table} (k int PRIMARY KEY, v text) WITH cdc = true")
        registry = SchemaRegistry(lambda: read_schema_rows(session))
        tailer = CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry)
        list(tailer.poll())  # skip what earlier tests left in cdc_raw
        insert = session.prepare(f"INSERT INTO it_tail.{table} (k, v) VALUES (?, ?)")
        for k in range(0, 30):
            session.execute(insert, (k, "x" * 40))
        first = list(tailer.poll())
        for k in range(30, 50):
            session.execute(insert, (k, "y" * 40))
        second = list(tailer.poll())
        assert list(tailer.poll()) == []  # nothing new: nothing handed out twice
        # 1 MiB segments: ~2 MB of writes fill at least one, which Cassandra completes.
        for k in range(50, 550):
            session.execute(insert, (k, "z" * 4000))
        third = list(tailer.poll())
        # COMPLETED is written by the sync that closes the segment, which may trail the
        # acknowledgement of the write that filled it by a moment: poll a little longer.
        deadline = time.monotonic() + 20
        while not any(isinstance(r, SegmentFinished) for r in third):
            assert time.monotonic() < deadline, "no segment finished within 20 s"
            time.sleep(0.2)
            third.extend(tailer.poll())
    assert _keys(first, table) == list(range(30))
    assert _keys(second, table) == list(range(30, 50))
    assert _keys(third, table) == list(range(50, 550))
    finished = [r for r in third if isinstance(r, SegmentFinished)]
    assert finished, "no segment reported finished after filling one"
    assert all(not f.by_link_count for f in finished)


def test_tailer_decodes_table_created_after_it_started(stack: Stack) -> None:
    """A table created after the registry read the schema is decoded after one refresh."""
    table = f"late_{uuid.uuid4().hex[:10]}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS it_tail WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        registry = SchemaRegistry(lambda: read_schema_rows(session), min_refresh_interval_s=0)
        tailer = CdcTailer(stack.cassandra.layout.cdc_raw_dir, registry)
        list(tailer.poll())
        refreshes = registry.refreshes
        session.execute(f"CREATE TABLE it_tail.{table} (k int PRIMARY KEY, v text) WITH cdc = true")
        insert = session.prepare(f"INSERT INTO it_tail.{table} (k, v) VALUES (?, ?)")
        for k in range(5):
            session.execute(insert, (k, "late"))
        records = list(tailer.poll())
    assert _keys(records, table) == list(range(5))
    assert registry.refreshes > refreshes
