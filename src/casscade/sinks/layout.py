"""What every mirror destination derives from a Cassandra table: key and value columns.

Pure. Each destination adds its own naming (quoting, schema or database) and type mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class MirrorLayout:
    """Names and columns of one mirrored table; subclasses give quoting and type mapping.

    Attributes:
        table: the Cassandra table.
        namespace: the PostgreSQL schema or ClickHouse database that holds it.
    """

    table: TableSchema
    namespace: str

    @staticmethod
    def quote(identifier: str) -> str:
        raise NotImplementedError

    @staticmethod
    def column_type(column: ColumnSchema) -> str:
        raise NotImplementedError

    @property
    def keys(self) -> tuple[ColumnSchema, ...]:
        return key_columns(self.table)

    @property
    def regulars(self) -> tuple[ColumnSchema, ...]:
        return regular_columns(self.table)

    def qualified(self, suffix: str = "") -> str:
        """The quoted name of the table (or of one of its companions, by suffix)."""
        return f"{self.quote(self.namespace)}.{self.quote(self.table.name + suffix)}"

    def check_supported(self) -> None:
        """Raise UnsupportedColumnError for what this destination cannot mirror yet."""
        check_supported(self.table, self.column_type)
