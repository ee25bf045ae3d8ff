"""Tests of the PostgreSQL layout of a mirrored table (pure SQL text)."""

from __future__ import annotations

import uuid

import pytest

from casscade.commitlog.schema import SchemaRows, TableSchema, build_snapshot
from casscade.sinks.postgres.ddl import (
    TableLayout,
    UnsupportedColumnError,
    create_statements,
    view_statement,
)


def _table(extra: dict[str, str]) -> TableSchema:
    columns = {"pk": ("partition_key", 0, "int"), "ck": ("clustering", 0, "text"),
               "v": ("regular", -1, "bigint"), "Odd Name": ("regular", -1, "text")}  # fmt: skip
    columns.update({k: ("regular", -1, t) for k, t in extra.items()})
    table_id = uuid.uuid4()
    snapshot = build_snapshot(
        SchemaRows(
            tables=({"keyspace_name": "ks", "table_name": "t", "id": table_id, "cdc": True},),
            columns=tuple(
                {"keyspace_name": "ks", "table_name": "t", "column_name": name, "kind": kind,
                 "position": pos, "clustering_order": "asc", "type": text}
                for name, (kind, pos, text) in columns.items()
            ),
        )
    )  # fmt: skip
    return snapshot.tables[table_id]


def test_create_statements_state_table_has_value_timestamp_and_expiry_columns() -> None:
    """Each regular column gets its value, write timestamp and expiry; keys form the PK."""
    state = create_statements(TableLayout(_table({}), "ks"))[1]
    assert 'CREATE TABLE IF NOT EXISTS "ks"."t__state"' in state
    fragments = ['"v" bigint', '"v__ts" bigint', '"v__exp" bigint', '"Odd Name" text',
                 '"__row_ts" bigint', '"__del_ts" bigint', 'PRIMARY KEY ("pk", "ck")']  # fmt: skip
    for fragment in fragments:
        assert fragment in state


def test_view_shows_values_newer_than_row_deletion_and_unexpired() -> None:
    """The view guards each value with its timestamp against the row deletion and expiry."""
    view = view_statement(TableLayout(_table({}), "ks"))
    assert view.startswith('CREATE OR REPLACE VIEW "ks"."t" AS SELECT "pk", "ck"')
    assert '"v__ts" > greatest("__del_ts", -9223372036854775808)' in view
    assert '"v__exp" IS NULL OR "v__exp" > extract(epoch from now())' in view


@pytest.mark.parametrize(
    ("cql_type", "fragment"),
    [("frozen<map<text, int>>", '"extra" jsonb'), ("time", '"extra" bigint'),
     ("duration", '"extra" jsonb'), ("frozen<tuple<int, text>>", '"extra" jsonb'),
     ("vector<float, 3>", '"extra" real[]'), ("vector<text, 2>", '"extra" jsonb')],
)  # fmt: skip
def test_single_cell_composite_and_temporal_types_map_to_exact_columns(
    cql_type: str, fragment: str
) -> None:
    """Frozen values and durations are JSON, time is nanoseconds, float vectors are arrays."""
    state = create_statements(TableLayout(_table({"extra": cql_type}), "ks"))[1]
    assert fragment in state


def test_non_frozen_collections_get_an_elements_table_and_a_deletion_column() -> None:
    """A list column: `__del` in the row, elements apart, the view aggregates live ones."""
    statements = create_statements(TableLayout(_table({"extra": "list<int>"}), "ks"))
    state, view = statements[1], statements[-1]
    assert '"extra__del" bigint' in state
    assert '"extra" ' not in state.split("(", 1)[1].split('"extra__del"')[0]
    elements = next(s for s in statements if '"t__elements"' in s and "CREATE TABLE" in s)
    assert 'PRIMARY KEY ("pk", "ck", "column", "path")' in elements
    assert "jsonb_agg(e.value ORDER BY e.sort, e.path)" in view
    assert "e.\"column\" = 'extra'" in view


@pytest.mark.parametrize("cql_type", ["'org.apache.cassandra.db.marshal.BytesType'"])
def test_create_statements_unsupported_type_raises(cql_type: str) -> None:
    """Types this version cannot mirror exactly are refused with the column named."""
    with pytest.raises(UnsupportedColumnError, match="extra"):
        create_statements(TableLayout(_table({"extra": cql_type}), "ks"))
