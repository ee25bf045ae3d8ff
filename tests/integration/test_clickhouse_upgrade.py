"""A ClickHouse table made by an earlier casscade: its collection elements on upgrade.

Collection elements gained a tie key (the 8th field of `__elements`). The sink adds the field
in place (ClickHouse fills it with ''), where dropping and re-adding the column, as schema
evolution does with a column whose type changed, would lose every collection's history. An
element stored without a tie key keeps the rule of then: a stored tombstone still beats a new
live write of the same timestamp. Runs on the embedded ClickHouse engine (chDB); the schema
is built here, no Cassandra is needed.
"""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect

from casscade.commitlog.position import Position
from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.clickhouse.sink import ClickHouseSink
from tests.unit.masking.tables import table

OLD_ELEMENTS = (
    "Array(Tuple(column String, path String, sort String, value Nullable(String), ts Int64, "
    "exp Nullable(Int64), tomb UInt8))"
)


def _elements_type(dsn: str) -> str:
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        rows = client.query(
            "SELECT type FROM system.columns WHERE database = 'up_ks' AND table = 't__changes' "
            "AND name = '__elements'"
        ).result_rows
    finally:
        client.close()
    return str(rows[0][0])


def test_elements_of_an_older_form_are_upgraded_in_place(tmp_path: Path) -> None:
    """A table whose elements lack the tie key gets it without losing a row; its stored
    tombstone of element 2 still beats a new write of element 2 with the same timestamp."""
    schema = table({"k": ("partition_key", 0, "int"), "tags": ("regular", -1, "set<int>")})
    dsn = f"chdb://{tmp_path / 'ch'}"
    sink = ClickHouseSink(dsn, name="ch-upgrade", database_prefix="up_")
    sink.ensure_table(schema)
    sink.close()
    assert "tie String" in _elements_type(dsn)
    layout = ClickHouseLayout(schema, "up_ks")
    changes = layout.qualified("__changes")
    client = clickhouse_connect.get_client(dsn=dsn)
    try:  # what an earlier casscade made: element 1 live, element 2 deleted, both at ts 6
        client.command(f"ALTER TABLE {changes} DROP COLUMN `__elements`")
        client.command(f"ALTER TABLE {changes} ADD COLUMN `__elements` {OLD_ELEMENTS}")
        client.command(f"INSERT INTO {changes} (k, `__elements`, `__row_ts`) VALUES "
                       "(1, [('tags', '1', '', NULL, 6, NULL, 0), "
                       "('tags', '2', '', NULL, 6, NULL, 1)], 1)")  # fmt: skip
    finally:
        client.close()
    assert "tie String" not in _elements_type(dsn)
    upgraded = ClickHouseSink(dsn, name="ch-upgrade", database_prefix="up_")
    try:
        upgraded.ensure_table(schema)
        write = CellChange("tags", None, 6, path=2)
        upgraded.apply([ChangeEvent("ks", "t", Op.UPSERT, (1,), timestamp_us=6, cells=(write,))],
                       node_id="n", position=Position(1, 1))  # fmt: skip
    finally:
        upgraded.close()
    assert "tie String" in _elements_type(dsn)
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        stored = client.query(f"SELECT count() FROM {changes}").result_rows[0][0]
        shown = client.query(f"SELECT k, tags FROM {layout.qualified()}").result_rows
    finally:
        client.close()
    assert stored == 2  # the old change row kept, the new one added
    assert [tuple(r) for r in shown] == [(1, "[1]")]
