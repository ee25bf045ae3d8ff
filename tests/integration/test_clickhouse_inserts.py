"""The ClickHouse sink reuses an insert context per table and renews it when it must.

Without a context, clickhouse-connect asks for the table's column types (DESCRIBE TABLE)
before every insert. The sink keeps one per table and column list, drops them all when a
table evolves, and drops one whose insert failed. Runs on the embedded ClickHouse engine
(chDB), no Cassandra needed; the client's `create_insert_context` is wrapped to count calls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from casscade.commitlog.position import Position
from casscade.commitlog.schema import TableSchema
from casscade.events.model import CellChange, ChangeEvent, Op
from casscade.sinks.clickhouse.ddl import ClickHouseLayout
from casscade.sinks.clickhouse.sink import ClickHouseSink
from tests.unit.masking.tables import table

COLUMNS = {"k": ("partition_key", 0, "int"), "v": ("regular", -1, "text")}
CHANGES = "ins_ks.t__changes"
POSITIONS = "casscade.positions"


def _upsert(k: int, ts: int, **values: object) -> ChangeEvent:
    cells = tuple(CellChange(name, value, ts) for name, value in values.items())
    return ChangeEvent("ks", "t", Op.UPSERT, (k,), timestamp_us=ts, cells=cells)


def _count_contexts(sink: ClickHouseSink) -> list[str]:
    """The tables the sink makes insert contexts for, in order, from now on."""
    client = sink._connection()
    made: list[str] = []
    original: Callable[..., Any] = client.create_insert_context

    def counting(table: str, *args: Any, **kwargs: Any) -> Any:
        made.append(table)
        return original(table, *args, **kwargs)

    client.create_insert_context = counting  # type: ignore[method-assign]
    return made


def _rows(sink: ClickHouseSink, schema: TableSchema, columns: str) -> list[tuple[object, ...]]:
    view = ClickHouseLayout(schema, "ins_ks").qualified()
    result = sink._connection().query(f"SELECT {columns} FROM {view} ORDER BY k")
    return [tuple(row) for row in result.result_rows]


def test_contexts_are_reused_across_batches_and_renewed_when_the_table_evolves(
    tmp_path: Path,
) -> None:
    schema = table(COLUMNS)
    sink = ClickHouseSink(f"chdb://{tmp_path / 'ch'}", name="ch-ins", database_prefix="ins_")
    try:
        sink.ensure_table(schema)
        made = _count_contexts(sink)
        sink.apply([_upsert(1, 10, v="a")], node_id="n", position=Position(1, 1))
        sink.apply([_upsert(2, 20, v="b"), _upsert(1, 30, v="c")], node_id="n",
                   position=Position(1, 2))  # fmt: skip
        assert made == [CHANGES, POSITIONS]  # once each for two batches
        evolved = table({**COLUMNS, "w": ("regular", -1, "int")})
        sink.ensure_table(evolved)
        sink.apply([_upsert(3, 40, v="d", w=7)], node_id="n", position=Position(1, 3))
        assert made == [CHANGES, POSITIONS, CHANGES, POSITIONS]
        assert _rows(sink, evolved, "k, v, w") == [(1, "c", None), (2, "b", None), (3, "d", 7)]
    finally:
        sink.close()


def test_a_failed_insert_drops_its_context_and_the_next_batch_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An insert that fails (here the client raises once, as a dropped connection would)
    may leave its rows in the context: the next batch makes a new one and lands whole."""
    schema = table(COLUMNS)
    sink = ClickHouseSink(f"chdb://{tmp_path / 'ch'}", name="ch-ins", database_prefix="ins_")
    try:
        sink.ensure_table(schema)
        sink.apply([_upsert(1, 10, v="a")], node_id="n", position=Position(1, 1))
        made = _count_contexts(sink)
        client = sink._connection()
        insert: Callable[..., Any] = client.insert
        failures = [RuntimeError("connection reset")]

        def failing_once(*args: Any, **kwargs: Any) -> Any:
            if failures:
                raise failures.pop()
            return insert(*args, **kwargs)

        monkeypatch.setattr(client, "insert", failing_once)
        with pytest.raises(Exception, match="connection reset"):
            sink.apply([_upsert(2, 20, v="b")], node_id="n", position=Position(1, 2))
        sink.apply([_upsert(2, 20, v="b")], node_id="n", position=Position(1, 2))
        assert made == [CHANGES]  # the failed one's context was made anew; positions' kept
        assert _rows(sink, schema, "k, v") == [(1, "a"), (2, "b")]
    finally:
        sink.close()
