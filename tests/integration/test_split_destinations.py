"""`casscade run --destination`: two processes of one node, each running one of the
configured destinations, replicate everything, and a COMPLETED segment leaves cdc_raw only
after both are done with it."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

from casscade.source.cdc_raw import CdcSegment, scan_cdc_raw
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, run_casscade

KEYSPACE = "it_split"


def _completed(cdc_raw: Path, since: int) -> list[CdcSegment]:
    return [
        s
        for s in scan_cdc_raw(cdc_raw)
        if s.segment_id >= since and s.index is not None and s.index.completed
    ]


def test_run_split_destinations_segment_removed_only_when_both_are_past_it(
    stack: Stack, tmp_path: Path
) -> None:
    """Two `--once` processes, one destination each, replicate all rows; the first removes
    nothing (the other has shared no progress), the second removes what both passed."""
    run = uuid.uuid4().hex[:8]
    table = f"s_{run}"
    pg = stack.settings.postgres
    cdc_raw = stack.cassandra.layout.cdc_raw_dir
    names = [f"pg-a-{run}", f"pg-b-{run}"]
    destinations = "".join(
        f"""
  - type: postgres
    name: {name}
    host: {pg.host}
    port: {pg.port}
    database: {pg.database}
    user: {pg.user}
    password_env: TEST_PG_PASSWORD
    schema_prefix: s{name[3]}_{run}_
"""
        for name in names
    )
    config = tmp_path / "casscade.yaml"
    config.write_text(
        f"""
source:
  node_id: split-{run}
  cdc_raw_dir: {cdc_raw}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: delete
  state_dir: {tmp_path / "state"}
tables: [{KEYSPACE}.{table}]
destinations:{destinations}
""",
        encoding="utf-8",
    )
    env = dict(os.environ, TEST_PG_PASSWORD=pg.password)
    since = max((s.segment_id for s in scan_cdc_raw(cdc_raw)), default=0)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (k int PRIMARY KEY, v text) WITH cdc = true"
        )
        insert = session.prepare(f"INSERT INTO {KEYSPACE}.{table} (k, v) VALUES (?, ?)")
        # The stack's segments are 1 MiB: 2.4 MB of writes complete at least one.
        for k in range(600):
            session.execute(insert, (k, f"{k:05d}" + "x" * 4000))
        deadline = time.monotonic() + 30
        while not _completed(cdc_raw, since):
            assert time.monotonic() < deadline, "no segment COMPLETED within 30 s"
            time.sleep(0.2)
        written = _completed(cdc_raw, since)

        first = run_casscade("run", "--config", str(config), "--once", "-d", names[0], env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        assert f"{names[0]} 600" in first.stdout, first.stdout
        # The other destination has not shared its progress: nothing is removed.
        left = {s.segment_id for s in scan_cdc_raw(cdc_raw)}
        assert {s.segment_id for s in written} <= left
        shared = json.loads((tmp_path / "state" / f"split-{run}" / f"{names[0]}.json").read_text())
        assert shared["position"][0] > max(s.segment_id for s in written)

        second = run_casscade("run", "--config", str(config), "--once", "-d", names[1], env=env)
        assert second.returncode == 0, second.stderr[-2000:]
        assert f"{names[1]} 600" in second.stdout, second.stdout
        assert "removed 0 finished" not in second.stdout, second.stdout
        left = {s.segment_id for s in scan_cdc_raw(cdc_raw)}
        assert not {s.segment_id for s in written} & left

        check = run_casscade("verify", "--config", str(config), env=env)
        assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
        assert check.stdout.count(" equal ") == len(names), check.stdout

    refused = run_casscade("run", "--config", str(config), "--once", "-d", "nope", env=env)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"error: --destination: no destination named nope (configured: {', '.join(names)})"
    ], refused.stderr
