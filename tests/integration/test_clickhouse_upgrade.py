"""A ClickHouse table made by an earlier casscade: what its changed layout does on upgrade.

Collection elements gained a tie key (the 8th field of `__elements`). Dropping and re-adding
that column, as schema evolution does with a column whose type changed, would lose every
collection's history; the sink stops instead, with one line that says what to do. Runs on
the embedded ClickHouse engine (chDB); the schema is built here, no Cassandra is needed.
"""

from __future__ import annotations

from pathlib import Path

import clickhouse_connect
import pytest

from casscade.errors import PermanentSinkError
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.clickhouse.sink import ClickHouseSink
from tests.unit.masking.tables import table

OLD_ELEMENTS = (
    "Array(Tuple(column String, path String, sort String, value Nullable(String), ts Int64, "
    "exp Nullable(Int64), tomb UInt8))"
)


def test_elements_of_an_older_form_stop_the_destination_with_what_to_do(tmp_path: Path) -> None:
    """A new table gets tie keys; one whose elements have the older form is not dropped but
    refused, naming the table and `casscade offsets reset`, and keeps its rows."""
    schema = table({"k": ("partition_key", 0, "int"), "tags": ("regular", -1, "set<int>")})
    dsn = f"chdb://{tmp_path / 'ch'}"
    sink = ClickHouseSink(dsn, name="ch-upgrade", database_prefix="up_")
    sink.ensure_table(schema)
    sink.close()
    changes = ClickHouseLayout(schema, "up_ks").qualified("__changes")
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        elements = client.query(
            "SELECT type FROM system.columns WHERE database = 'up_ks' AND table = 't__changes' "
            "AND name = '__elements'"
        ).result_rows
        assert elements
        assert "tie String" in str(elements[0][0])
        # What an earlier casscade made, holding one change row.
        client.command(f"ALTER TABLE {changes} DROP COLUMN `__elements`")
        client.command(f"ALTER TABLE {changes} ADD COLUMN `__elements` {OLD_ELEMENTS}")
        client.command(f"INSERT INTO {changes} (k, `__elements`) VALUES (1, [('tags', '1', '', "
                       "NULL, 5, NULL, 0)])")  # fmt: skip
    finally:
        client.close()
    upgraded = ClickHouseSink(dsn, name="ch-upgrade", database_prefix="up_")
    try:
        with pytest.raises(PermanentSinkError) as raised:
            upgraded.ensure_table(schema)
    finally:
        upgraded.close()
    message = str(raised.value)
    assert "t__changes" in message
    assert "older form" in message
    assert "casscade offsets reset" in message
    assert "\n" not in message
    client = clickhouse_connect.get_client(dsn=dsn)
    try:
        assert client.query(f"SELECT count() FROM {changes}").result_rows[0][0] == 1
    finally:
        client.close()
