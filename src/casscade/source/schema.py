"""Reading `system_schema` from a live Cassandra into SchemaRows for the pure decoder.

The only I/O of schema handling: four CQL queries through a cassandra-driver session. The
snapshot itself is built by casscade.commitlog.schema.build_snapshot.
"""

from __future__ import annotations

import datetime
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
        "SELECT keyspace_name, table_name, column_name, dropped_time, kind, type "
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
        {**row, "dropped_time_us": _to_us(row.pop("dropped_time"))}
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


def _to_us(value: object) -> int:
    # The driver returns `timestamp` columns as naive UTC datetimes.
    if isinstance(value, datetime.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        delta = aware - datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if not isinstance(value, int):
        raise TypeError(f"unexpected dropped_time {value!r}")
    return value * 1000
