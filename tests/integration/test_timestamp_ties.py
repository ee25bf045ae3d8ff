"""Writes with equal timestamps resolve as Cassandra resolves them, in every destination.

Cassandra (Cells.resolveRegular, 4.0 and 5.0) breaks a tie between two cells of one column
with equal write timestamps thus: a tombstone wins; else an expiring (TTL) cell wins over a
non-expiring one; else, between two expiring cells, the later expiry wins; else the greater
value wins, comparing the serialized values as unsigned bytes. So a negative number beats a
positive one (its sign bit makes its first byte the greater), -2.5 beats -1.5, and a
timestamp before 1970 beats one after. Each pair below is written at one timestamp, in both
orders on two rows; the agent replicates into PostgreSQL, TimescaleDB and ClickHouse, and
every destination must equal Cassandra's `SELECT *`.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from casscade.config.load import load_config
from casscade.stack.manager import Stack
from tests.integration.workloads import create_keyspace, replicate_and_verify

KEYSPACE = "it_ties"
# column -> (assignment a, assignment b, TTL of b): a then b on row 1, b then a on row 2, each
# pair at one timestamp of its own.
PAIRS = {
    "i": ("i = 5", "i = -5", 0),
    "b": ("b = 7", "b = -7", 0),
    "d": ("d = -1.5", "d = -2.5", 0),
    "ts": ("ts = '2020-01-01T00:00:00Z'", "ts = '1960-01-01T00:00:00Z'", 0),
    "t": ("t = 'a'", "t = 'b'", 0),
    "v": ("v = 128", "v = 127", 0),  # varint 127 is 0x7F, 128 is 0x0080: 127 wins
    "e": ("e = 'x'", "e = 'a'", 86_400),  # the expiring cell wins although 'x' > 'a'
    "m": ("m['k'] = 5", "m['k'] = -5", 0),  # one map element
    "s": ("s = 3", "s = -3", 0),  # a static column
}


def _config(stack: Stack, tmp_path: Path, table: str, batch: int, extra: str = "") -> Path:
    """An agent's config over `KEYSPACE.table` into all three destinations, batches of
    `batch` events, and `extra` YAML (a masking section) at the end."""
    pg, ts = stack.settings.postgres, stack.settings.timescaledb
    path = tmp_path / "casscade.yaml"
    path.write_text(
        f"""
source:
  node_id: ties-node
  cdc_raw_dir: {stack.cassandra.layout.cdc_raw_dir}
  cassandra: {{host: 127.0.0.1, port: {stack.settings.cassandra.native_port}}}
  cleanup: keep
tables: [{KEYSPACE}.{table}]
destinations:
  - {{type: postgres, name: pg-{table}, host: {pg.host}, port: {pg.port},
      database: {pg.database}, user: {pg.user}, password_env: TEST_PG_PASSWORD,
      schema_prefix: t_}}
  - {{type: timescaledb, name: ts-{table}, host: {ts.host}, port: {ts.port},
      database: {ts.database}, user: {ts.user}, prepared_statements: false, schema_prefix: t_}}
  - {{type: clickhouse, name: ch-{table}, dsn: "chdb://{tmp_path}/ch", database_prefix: t_}}
dead_letters: {{directory: {tmp_path}/dlq}}
batch: {{max_events: {batch}}}
{extra}""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("batch", [1, 2000], ids=["event-by-event", "one-batch"])
def test_equal_timestamps_resolve_as_cassandra_does(
    stack: Stack, tmp_path: Path, batch: int
) -> None:
    """Ties between live values, between expiring and non-expiring values, of a map element
    and of a static column end with Cassandra's winner in every destination, whichever write
    arrives first, whether both writes meet in one batch (the agent's fold) or in two (the
    destination's merge)."""
    table = f"t_{uuid.uuid4().hex[:10]}"
    env = dict(os.environ, TEST_PG_PASSWORD=stack.settings.postgres.password)
    config = load_config(_config(stack, tmp_path, table, batch), environ=env)
    with stack.cassandra.cluster() as cluster:
        session = cluster.connect()
        create_keyspace(session, KEYSPACE)
        session.execute(
            f"CREATE TABLE {KEYSPACE}.{table} (k int, c int, i int, b bigint, d double, "
            "ts timestamp, t text, v varint, e text, m map<text, int>, s int static, "
            "PRIMARY KEY (k, c)) WITH cdc = true"
        )
        stamp = 1_700_000_000_000_000
        for column, (a, b, ttl) in PAIRS.items():
            stamp += 10
            where = "k = {k}" if column == "s" else "k = {k} AND c = 0"
            for k, (first, second) in ((1, (a, b)), (2, (b, a))):
                for assignment in (first, second):
                    using = f"TTL {ttl} AND TIMESTAMP {stamp}" if assignment == b and ttl else (
                        f"TIMESTAMP {stamp}")  # fmt: skip
                    session.execute(f"UPDATE {KEYSPACE}.{table} USING {using} "
                                    f"SET {assignment} WHERE {where.format(k=k)}")  # fmt: skip
        agent, reports = replicate_and_verify(config, session, KEYSPACE, table)
        rows = {r.k: r for r in session.execute(f"SELECT * FROM {KEYSPACE}.{table}")}
    # The second and third destination took decoded entries and events of the first (not
    # necessarily all: a schema read in between makes them decode again).
    assert agent.registry.shared_hits > 0
    assert agent.shared_mappings > 0
    # What Cassandra chose (the unsigned comparison of serialized values, TTL first).
    one, two = rows[1], rows[2]
    assert (one.i, one.b, one.d, one.t, one.v, one.e, one.m, one.s) == (
        -5, -7, -2.5, "b", 127, "a", {"k": -5}, -3)  # fmt: skip
    assert one.ts.year == 1960
    assert one[1:] == two[1:]  # the order of the writes does not matter
    assert len(reports) == 3
    for report in reports:
        assert report.equal, report
