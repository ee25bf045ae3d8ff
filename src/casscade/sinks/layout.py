"""What every mirror destination derives from a Cassandra table: key and value columns.

Pure. Each destination adds its own naming (quoting, schema or database) and type mapping.
"""

from __future__ import annotations

from collections.abc import Callable

from casscade.commitlog.schema import ColumnKind, ColumnSchema, TableSchema


class UnsupportedColumnError(ValueError):
    """A column this version of a destination cannot mirror exactly."""


def key_columns(table: TableSchema) -> tuple[ColumnSchema, ...]:
    """The primary key columns: partition key, then clustering, in order."""
    return table.partition_key + table.clustering


def regular_columns(table: TableSchema) -> tuple[ColumnSchema, ...]:
    """The regular (non-key, non-static) columns, by name."""
    return tuple(
        sorted(
            (c for c in table.columns.values() if c.kind is ColumnKind.REGULAR),
            key=lambda c: c.name,
        )
    )


def check_supported(table: TableSchema, type_of: Callable[[ColumnSchema], str]) -> None:
    """Raise UnsupportedColumnError for static columns or a column `type_of` cannot map."""
    statics = [c.name for c in table.columns.values() if c.kind is ColumnKind.STATIC]
    if statics:
        raise UnsupportedColumnError(f"static columns {', '.join(statics)}")
    for column in key_columns(table) + regular_columns(table):
        type_of(column)
