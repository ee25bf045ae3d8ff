"""The local Cassandra is real: it answers CQL, and CDC writes reach cdc_raw."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from cassandra.cluster import NoHostAvailable

from casscade.commitlog.descriptor import CommitLogVersion
from casscade.source.cdc_raw import CdcSegment, read_descriptor, scan_cdc_raw
from casscade.stack.cassandra import CassandraNode
from casscade.stack.config import CASSANDRA_VERSION, CassandraSettings
from casscade.stack.manager import Stack


def _indexed(cdc_raw: Path) -> dict[int, CdcSegment]:
    return {s.segment_id: s for s in scan_cdc_raw(cdc_raw) if s.index is not None}


def test_cassandra_answers_cql_with_pinned_release(stack: Stack) -> None:
    """The node runs the pinned 5.0 release and answers a CQL query."""
    assert stack.cassandra.release_version() == CASSANDRA_VERSION


def test_cdc_write_makes_segment_and_growing_index(stack: Stack) -> None:
    """Writes to a `cdc = true` table appear in cdc_raw as a v7 segment whose idx offset grows."""
    table = f"t_{uuid.uuid4().hex[:12]}"
    cdc_raw = stack.cassandra.layout.cdc_raw_dir
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        session.execute(
            "CREATE KEYSPACE IF NOT EXISTS it_stack WITH replication = "
            "{'class': 'SimpleStrategy', 'replication_factor': 1}"
        )
        session.execute(
            f"CREATE TABLE it_stack.{table} (k int PRIMARY KEY, v text) WITH cdc = true"
        )
        for k in range(20):
            session.execute(f"INSERT INTO it_stack.{table} (k, v) VALUES (%s, %s)", (k, "a" * 50))
        # commitlog_sync is batch in tests: an acknowledged write is already covered by the idx.
        before = _indexed(cdc_raw)
        assert before, "no _cdc.idx appeared in cdc_raw after CDC writes"
        newest = max(before)
        for k in range(20, 60):
            session.execute(f"INSERT INTO it_stack.{table} (k, v) VALUES (%s, %s)", (k, "b" * 50))
        after = _indexed(cdc_raw)
    grown = newest in after and after[newest].index is not None
    new_segment = max(after) > newest
    assert grown or new_segment
    if not new_segment:
        old_index, new_index = before[newest].index, after[newest].index
        assert old_index is not None
        assert new_index is not None
        assert new_index.durable_offset > old_index.durable_offset
    descriptor = read_descriptor(after[max(after)])
    assert descriptor.version is CommitLogVersion.VERSION_40
    assert descriptor.segment_id == max(after)
    assert descriptor.compression_class is None


@pytest.fixture(scope="module")
def second_node(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> CassandraNode:
    """A second node on other ports: storage_compatibility_mode NONE and PasswordAuthenticator."""
    settings = CassandraSettings(
        native_port=9142,
        storage_port=7100,
        jmx_port=7299,
        storage_compatibility_mode="NONE",
        auth="password",
        heap_mib=768,
    )
    return CassandraNode(settings, tmp_path_factory.mktemp("node-v8"), stack.settings.cache_dir)


def test_second_node_v8_password_auth_and_sigterm_completes_segment(
    second_node: CassandraNode,
) -> None:
    """Mode NONE writes commit-log v8, auth is enforced, and SIGTERM marks the idx COMPLETED."""
    assert second_node.up() is True
    try:
        with (
            pytest.raises(NoHostAvailable, match=r"Bad credentials|Provided username"),
            second_node.cluster(password="wrong") as cluster,  # noqa: S106
        ):
            cluster.connect()
        with second_node.cluster() as cluster:
            session = cluster.connect()
            assert session.execute("SELECT release_version FROM system.local").one()[0] == (
                CASSANDRA_VERSION
            )
            session.execute(
                "CREATE KEYSPACE ks8 WITH replication = "
                "{'class': 'SimpleStrategy', 'replication_factor': 1}"
            )
            session.execute("CREATE TABLE ks8.t (k int PRIMARY KEY, v text) WITH cdc = true")
            for k in range(10):
                session.execute("INSERT INTO ks8.t (k, v) VALUES (%s, 'x')", (k,))
    finally:
        began = time.monotonic()
        stopped = second_node.down()
        stop_seconds = time.monotonic() - began
    assert stopped, f"the node did not stop cleanly within {stop_seconds:.0f} s"
    segments = _indexed(second_node.layout.cdc_raw_dir)
    assert segments, "no _cdc.idx in the v8 node's cdc_raw"
    assert {s.version for s in segments.values()} == {8}
    newest = segments[max(segments)]
    assert newest.index is not None
    assert newest.index.completed
    assert read_descriptor(newest).version is CommitLogVersion.VERSION_50
