"""What every mirror destination derives from a Cassandra table: key and value columns.

Pure. Each destination adds its own naming (quoting, schema or database) and type mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from casscade.commitlog.schema import ColumnKind, ColumnSchema, TableSchema
from casscade.commitlog.types import NativeName, NativeType


class UnsupportedColumnError(ValueError):
    """A column this version of a destination cannot mirror exactly."""


def key_columns(table: TableSchema) -> tuple[ColumnSchema, ...]:
    """The primary key columns: partition key, then clustering, in order."""
    return table.partition_key + table.clustering


def is_counter(column: ColumnSchema) -> bool:
    """Whether the column is a counter (kept as its nodes' shards, like elements)."""
    t = column.cql_type
    return isinstance(t, NativeType) and t.name is NativeName.COUNTER


def regular_columns(table: TableSchema) -> tuple[ColumnSchema, ...]:
    """The regular (non-key, non-static) single-cell columns but counters, by name."""
    return tuple(
        sorted(
            (c for c in table.columns.values()
             if c.kind is ColumnKind.REGULAR and not c.is_multi_cell and not is_counter(c)),
            key=lambda c: c.name,
        )
    )  # fmt: skip


def static_columns(table: TableSchema) -> tuple[ColumnSchema, ...]:
    """The static columns, by name."""
    return tuple(
        sorted((c for c in table.columns.values() if c.kind is ColumnKind.STATIC),
               key=lambda c: c.name)
    )  # fmt: skip


def collection_columns(table: TableSchema) -> tuple[ColumnSchema, ...]:
    """The regular columns kept element by element, by name: non-frozen collections and
    UDTs (an element or field each), and counters (a shard per node that counted)."""
    return tuple(
        sorted(
            (c for c in table.columns.values()
             if c.kind is ColumnKind.REGULAR and (c.is_multi_cell or is_counter(c))),
            key=lambda c: c.name,
        )
    )  # fmt: skip


# The row-level columns after the value columns: liveness timestamp and expiry, deletion.
ROW_COLUMNS = ("__row_ts", "__row_exp", "__del_ts")


def cell_columns(
    columns: tuple[ColumnSchema, ...],
    value_type: Callable[[ColumnSchema], str],
    number: str,
    binary: str,
) -> list[tuple[str, str]]:
    """(name, type) of each single-cell column's value, `__ts`, `__exp` and `__tie` columns
    (`casscade.sinks.staging.tie_key`); `number` is the destination's 64-bit integer type,
    `binary` its byte string type."""
    out = []
    for c in columns:
        out += [(c.name, value_type(c)), (c.name + "__ts", number), (c.name + "__exp", number),
                (c.name + "__tie", binary)]  # fmt: skip
    return out


def check_supported(table: TableSchema, type_of: Callable[[ColumnSchema], str]) -> None:
    """Raise UnsupportedColumnError for non-frozen static collections or a column `type_of`
    cannot map."""
    statics = [c for c in table.columns.values() if c.kind is ColumnKind.STATIC]
    multi_static = [f"{c.name} {c.type_text}" for c in statics if c.is_multi_cell]
    if multi_static:
        raise UnsupportedColumnError(f"non-frozen static collections ({', '.join(multi_static)})")
    for column in key_columns(table) + regular_columns(table) + static_columns(table):
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
        """Single-cell regular columns: value, `__ts`, `__exp` and `__tie` each."""
        return regular_columns(self.table)

    @property
    def statics(self) -> tuple[ColumnSchema, ...]:
        """Static columns: value, `__ts`, `__exp` and `__tie` each, in the partition's static
        table."""
        return static_columns(self.table)

    @property
    def collections(self) -> tuple[ColumnSchema, ...]:
        """Multi-cell regular columns: elements kept apart, `__del` in the row."""
        return collection_columns(self.table)

    def dropped_before(self, column: ColumnSchema) -> int:
        """For a column dropped and added again: when it was dropped (µs); its cells from
        before then are ignored, as Cassandra ignores them. The smallest 64-bit value else."""
        dropped = self.table.dropped.get(column.name)
        return dropped.dropped_time_us if dropped is not None else -(1 << 63)

    def qualified(self, suffix: str = "") -> str:
        """The quoted name of the table (or of one of its companions, by suffix)."""
        return f"{self.quote(self.namespace)}.{self.quote(self.table.name + suffix)}"

    def check_supported(self) -> None:
        """Raise UnsupportedColumnError for what this destination cannot mirror yet."""
        check_supported(self.table, self.column_type)
