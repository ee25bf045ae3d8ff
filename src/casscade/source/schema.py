"""Reading `system_schema` from a live Cassandra into SchemaRows for the pure decoder.

The only I/O of schema handling: four CQL queries through a cassandra-driver session. The
snapshot itself is built by casscade.commitlog.schema.build_snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from casscade.commitlog.schema import SchemaRows

_QUERIES = {
    "tables": "SELECT keyspace_name, table_name, id, cdc FROM system_schema.tables",
    "columns": (
        "SELECT keyspace_name, table_name, column_name, kind, position, clustering_order, type "
        "FROM system_schema.columns"
    ),
    "types": "SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types",
    "dropped_columns": (
        # toUnixTimestamp: system tables hold dropped times the driver cannot turn into a
        # datetime ("date value out of range"); milliseconds as bigint always decode.
        "SELECT keyspace_name, table_name, column_name, kind, type, "
        "toUnixTimestamp(dropped_time) AS dropped_time_ms "
        "FROM system_schema.dropped_columns"
    ),
}


class _ResultSet(Protocol):
    column_names: list[str]

    def __iter__(self) -> Iterator[object]: ...


class _Session(Protocol):
    def execute(self, query: str) -> _ResultSet: ...


def read_schema_rows(session: _Session) -> SchemaRows:
    """Query `system_schema` with a cassandra-driver session (any row factory)."""
    fetched: dict[str, tuple[Mapping[str, Any], ...]] = {}
    for name, cql in _QUERIES.items():
        result = session.execute(cql)
        fetched[name] = tuple(_as_dict(row, result.column_names) for row in result)
    dropped = tuple(
        {**row, "dropped_time_us": int(row.pop("dropped_time_ms")) * 1000}
        for row in (dict(r) for r in fetched["dropped_columns"])
    )
    return SchemaRows(
        tables=fetched["tables"],
        columns=fetched["columns"],
        types=fetched["types"],
        dropped_columns=dropped,
    )


def _as_dict(row: object, names: list[str]) -> dict[str, Any]:
    if isinstance(row, Mapping):
        return dict(row)
    if not isinstance(row, tuple):
        raise TypeError(f"unexpected row type {type(row).__name__}")
    return dict(zip(names, row, strict=True))
