"""Writes with and without TTL over one another, in every destination (the oracle).

Cassandra keeps the newest cell and the newest row liveness; a newer write without TTL
therefore outlives an older one with TTL, and at equal timestamps an expiring write beats one
without TTL (Cells.resolveRegular for cells, LivenessInfo.supersedes for an INSERT's row
liveness). Each case is written into Cassandra, replicated into PostgreSQL, TimescaleDB and
ClickHouse, and compared after the TTL has passed.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from casscade.config.load import load_config
from casscade.stack.manager import Stack
from tests.integration.test_timestamp_ties import KEYSPACE
from tests.integration.test_timestamp_ties import _config as ties_config
from tests.integration.workloads import create_keyspace, replicate_and_verify

TTL_S = 3


@pytest.mark.parametrize("batch", [1, 2000], ids=["event-by-event", "one-batch"])
def test_ttl_and_no_ttl_writes_end_as_in_cassandra(
    stack: Stack, tmp_path: Path, batch: int
) -> None:
    """Rows 1 and 2: a TTL write, then a newer one without TTL (an INSERT, an UPDATE): both
    stay. Rows 3 and 4: an INSERT with TTL and one without at one timestamp, in both orders:
    both rows expire. Every destination equals Cassandra once the TTL has passed, whether the
    writes meet in one batch (the agent's fold) or not (the destination's merge or view)."""
    table = f"t_{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password)
    config = load_config(ties_config(stack, tmp_path, table, batch), environ=env)
    name = f"{KEYSPACE}.{table}"
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(f"CREATE TABLE {name} (k int PRIMARY KEY, v int) WITH cdc = true")
        session.execute(f"INSERT INTO {name} (k, v) VALUES (1, 1) USING TTL {TTL_S}")
        session.execute(f"INSERT INTO {name} (k, v) VALUES (1, 2)")
        session.execute(f"UPDATE {name} USING TTL {TTL_S} SET v = 1 WHERE k = 2")
        session.execute(f"UPDATE {name} SET v = 2 WHERE k = 2")
        stamp = int(time.time() * 1_000_000)
        with_ttl = f"USING TIMESTAMP {stamp} AND TTL {TTL_S}"
        without = f"USING TIMESTAMP {stamp}"
        for k, order in ((3, (with_ttl, without)), (4, (without, with_ttl))):
            for using in order:
                session.execute(f"INSERT INTO {name} (k, v) VALUES ({k}, 5) {using}")
        began = time.monotonic()
        replicate_and_verify(config, session, KEYSPACE, table)  # applied before the TTL passes
        time.sleep(max(0.0, TTL_S + 1.5 - (time.monotonic() - began)))
        _, reports = replicate_and_verify(config, session, KEYSPACE, table)
        rows = {r.k: r.v for r in session.execute(f"SELECT k, v FROM {name}")}
    assert rows == {1: 2, 2: 2}  # Cassandra's answer: rows 3 and 4 expired
    assert len(reports) == 3
    for report in reports:
        assert report.equal, report
