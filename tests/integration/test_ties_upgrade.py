"""Cells stored before tie keys were kept meet new writes of the same timestamp.

A destination made by an earlier casscade holds cells without a tie key (`c__tie` NULL,
added by schema evolution). Against them the rule of then holds: a stored tombstone beats a
new live cell of the same timestamp, and a stored live cell gives way to any new one. Run
against the stack's PostgreSQL and chDB, with a schema built here (no Cassandra needed).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import clickhouse_connect
import psycopg

from casscade.commitlog.position import Position
from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.clickhouse.sink import ClickHouseSink
from casscade.sinks.postgres.ddl import TableLayout
from casscade.sinks.postgres.sink import PostgresSink
from casscade.stack.manager import Stack
from tests.unit.masking.tables import table

SCHEMA = table({"k": ("partition_key", 0, "int"), "v": ("regular", -1, "int")})
TS = 1_700_000_000_000_000


def _write(k: int, value: int | None, *, liveness: bool = False) -> ChangeEvent:
    """`v` of row `k` set to `value` (None: deleted) at TS."""
    raw = b"" if value is None else value.to_bytes(4, "big", signed=True)
    cell = CellChange("v", value, TS, expires_at_s=1_700_000_000 if value is None else None,
                      is_tombstone=value is None, raw=raw)  # fmt: skip
    return ChangeEvent("ks", "t", Op.UPSERT, (k,), timestamp_us=TS, cells=(cell,),
                       row_timestamp_us=TS - 10 if liveness else None)  # fmt: skip


def test_postgres_cells_without_tie_keys_keep_the_rule_of_before(stack: Stack) -> None:
    """Row 1: a stored tombstone without a tie key stays deleted; row 2: a stored -5 without
    one gives way to a new 5 (with tie keys -5 would win)."""
    prefix = f"up{uuid.uuid4().hex[:6]}_"
    dsn = stack.settings.postgres.dsn()
    sink = PostgresSink(dsn, name=f"pg-{prefix}", schema_prefix=prefix)
    layout = TableLayout(SCHEMA, prefix + "ks")
    try:
        sink.ensure_table(SCHEMA)
        sink.apply([_write(1, None, liveness=True), _write(2, -5, liveness=True)],
                   node_id="n", position=Position(1, 1))  # fmt: skip
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'UPDATE {layout.qualified("__state")} SET "v__tie" = NULL')
        sink.apply([_write(1, 7), _write(2, 5)], node_id="n", position=Position(1, 2))
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(f"SELECT k, v FROM {layout.qualified()} ORDER BY k").fetchall()
    finally:
        sink.close()
    assert rows == [(1, None), (2, 5)]


def test_clickhouse_change_rows_without_tie_keys_keep_the_rule_of_before(tmp_path: Path) -> None:
    """The same in ClickHouse, with change rows inserted as an earlier casscade wrote them."""
    dsn = f"chdb://{tmp_path / 'ch'}"
    sink = ClickHouseSink(dsn, name="ch-up", database_prefix="up_")
    layout = ClickHouseLayout(SCHEMA, "up_ks")
    try:
        sink.ensure_table(SCHEMA)
        sink.close()
        client = clickhouse_connect.get_client(dsn=dsn)
        try:
            client.command(
                f"INSERT INTO {layout.qualified('__changes')} (k, v, v__ts, v__tie, __row_ts) "
                f"VALUES (1, NULL, {TS}, NULL, {TS - 10}), (2, -5, {TS}, NULL, {TS - 10})"
            )
        finally:
            client.close()
        sink.apply([_write(1, 7), _write(2, 5)], node_id="n", position=Position(1, 2))
        sink.close()
        client = clickhouse_connect.get_client(dsn=dsn)
        try:
            rows = client.query(f"SELECT k, v FROM {layout.qualified()} ORDER BY k").result_rows
        finally:
            client.close()
    finally:
        sink.close()
    assert [tuple(r) for r in rows] == [(1, None), (2, 5)]
